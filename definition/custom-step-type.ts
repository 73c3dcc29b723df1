import type { z } from 'zod';
import { STEP_TYPES } from './step-types';

/**
 * A step type a deployment registers in its worker (SPEC §2 "Custom step types"), so that
 * definitions can use `{"type": "send-email", …}` like a built-in type.
 *
 * @example
 * ```ts
 * const sendEmail: CustomStepTypeSchema = {
 *   name: 'send-email',
 *   description: 'Sends one email',
 *   config: z.object({ to: z.email(), subject: z.string(), body: z.string().optional() }),
 * };
 * validateDefinition(spec, { stepTypes: [sendEmail] });
 * ```
 */
export interface CustomStepTypeSchema {
  /**
   * The `type` steps give: lowercase letters, digits and `-`, starting with a letter, at most 63
   * characters, with at least one `-` (see {@link CUSTOM_STEP_TYPE_PATTERN}).
   */
  name: string;
  /** What the step does, for people reading the registry. */
  description?: string;
  /**
   * The step's own fields, every field but {@link COMMON_STEP_FIELDS}. Checked as a strict object
   * (unknown fields are errors), except that a problem located at a string holding `{%` is not
   * reported: that value is an expression, resolved (and checked again by the activity) at run time.
   */
  config: z.ZodObject;
}

/**
 * Names of custom step types. The `-` it requires keeps them apart from the built-in types, today's
 * and any added later (none has a `-`), as HTML custom elements are; it is also what lets
 * TypeScript narrow `step.type === 'http'` to the built-in step (see {@link CustomStepTypeName}).
 */
export const CUSTOM_STEP_TYPE_PATTERN = /^(?=[a-z0-9-]{1,63}$)[a-z][a-z0-9]*-[a-z0-9-]*$/;

/** The type of a custom step's `type`: a template literal no built-in type name matches. */
export type CustomStepTypeName = `${string}-${string}`;

/** Fields every step may have whatever its type (SPEC §2); the rest of a custom step is its config. */
export const COMMON_STEP_FIELDS = [
  'type',
  'needs',
  'if',
  'join',
  'retry',
  'timeout',
  'output',
  'compensate',
  'onError',
  'description',
  'taskQueue',
] as const;
/** One of {@link COMMON_STEP_FIELDS}. */
export type CommonStepField = (typeof COMMON_STEP_FIELDS)[number];

const commonFields: ReadonlySet<string> = new Set(COMMON_STEP_FIELDS);

/**
 * Checks a list of registrations: names (pattern, not a built-in type, no duplicates) and
 * configs (a zod object that declares none of the common step fields). Registrations are code
 * written by the deployment, not user input, so a mistake throws instead of being reported.
 *
 * @throws {Error} naming the registration and what is wrong with it.
 */
export function checkCustomStepTypes(types: readonly CustomStepTypeSchema[]): void {
  const seen = new Set<string>();
  for (const type of types) {
    const name: unknown = type.name;
    if (typeof name !== 'string' || !CUSTOM_STEP_TYPE_PATTERN.test(name)) {
      throw new Error(
        `custom step type ${JSON.stringify(name)}: a name is lowercase letters, digits and "-", starting with a letter, ` +
          'with at least one "-" (like "send-email"), at most 63 characters',
      );
    }
    if ((STEP_TYPES as readonly string[]).includes(name)) throw new Error(`custom step type "${name}" is a built-in step type`);
    if (seen.has(name)) throw new Error(`custom step type "${name}" is registered twice`);
    seen.add(name);
    const config = type.config as Partial<z.ZodObject> | undefined;
    if (typeof config?.safeParse !== 'function' || typeof config.strict !== 'function' || typeof config.shape !== 'object') {
      throw new Error(`custom step type "${name}": config must be a zod object schema (z.object({...}))`);
    }
    const clash = Object.keys(config.shape).find((field) => commonFields.has(field));
    if (clash !== undefined) {
      throw new Error(`custom step type "${name}": config declares "${clash}", which is a field of every step; rename it`);
    }
  }
}

/** True when `field` is one of {@link COMMON_STEP_FIELDS}. */
export function isCommonStepField(field: string): field is CommonStepField {
  return commonFields.has(field);
}

/**
 * The config of a custom step: its fields other than {@link COMMON_STEP_FIELDS}, as written (the
 * activity resolves their expressions and checks them against the registered config).
 */
export function customStepConfig(step: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const config: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(step)) {
    if (commonFields.has(field)) continue;
    if (field === '__proto__') Object.defineProperty(config, field, { value, enumerable: true, writable: true, configurable: true });
    else config[field] = value;
  }
  return config;
}
