import type { Definition } from './definition-schema';
import { walkSteps } from './definition-walk';
import { pointerJoin } from './json-pointer';
import { STEP_TRAITS, templatedFieldsOf, traitsOf } from './step-traits';
import { STEP_TYPES, type StepType } from './step-types';

/**
 * Fields whose strings are templates, per built-in step type (and per action type, for `http`
 * and `workflow` compensations and map actions); everything else is taken literally. Derived
 * from {@link STEP_TRAITS}, where each type declares them. A step's `if` is one expression besides
 * these, and every config field of a custom step is a template.
 */
export const TEMPLATED_FIELDS: Readonly<Record<StepType, readonly string[]>> = templatedFieldsByType();

function templatedFieldsByType(): Record<StepType, readonly string[]> {
  const fields = {} as Record<StepType, readonly string[]>;
  for (const type of STEP_TYPES) fields[type] = STEP_TRAITS[type].templated;
  return fields;
}

/** A value of a definition whose strings may hold expressions, and where it is. */
export type TemplatedValue = { pointer: string; value: unknown };

/**
 * Every value of a parsed definition whose strings are templates, where the interpreter
 * evaluates them: the definition's `output`; each step's `if` and templated fields (a custom
 * step's config, a condition's `if`); compensations' and map actions' `if` and fields; inline
 * map graphs' steps and `output`. Descriptions, JSON Schemas, names and durations are not.
 */
export function templatedValues(definition: Definition): TemplatedValue[] {
  const found: TemplatedValue[] = [];
  const add = (value: unknown, pointer: string): void => {
    if (value !== undefined) found.push({ pointer, value });
  };
  const addAction = (action: Record<string, unknown>, pointer: string): void => {
    add(action.if, pointerJoin(pointer, 'if'));
    if (traitsOf(String(action.type)).action) for (const field of templatedFieldsOf(action)) add(action[field], pointerJoin(pointer, field));
  };
  add(definition.output, '/output');
  for (const { step, pointer } of walkSteps(definition.steps)) {
    const raw = step as Record<string, unknown>;
    add(raw.if, pointerJoin(pointer, 'if'));
    for (const field of templatedFieldsOf(raw)) add(raw[field], pointerJoin(pointer, field));
    if (step.compensate) addAction(step.compensate, pointerJoin(pointer, 'compensate'));
    if (step.type === 'map') {
      if ('type' in step.do) addAction(step.do, pointerJoin(pointer, 'do'));
      else add(step.do.output, pointerJoin(pointer, 'do', 'output'));
    }
  }
  return found;
}
