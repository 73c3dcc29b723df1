import { customStepConfig } from './custom-step-type';
import type { Definition } from './definition-schema';
import { walkSteps } from './definition-walk';
import { pointerJoin } from './json-pointer';

/**
 * Fields whose strings are templates, per built-in step type (and per action type, for `http`
 * and `workflow` compensations and map actions); everything else is taken literally. A step's
 * `if` is one expression besides these, and every config field of a custom step is a template.
 */
export const TEMPLATED_FIELDS: Readonly<Record<string, readonly string[]>> = {
  http: ['method', 'url', 'query', 'headers', 'body'],
  transform: ['value'],
  condition: [],
  delay: ['until'],
  workflow: ['input'],
  wait: [],
  map: ['items'],
  // JavaScript, not a template: `{%` in it is text.
  code: [],
};

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
    for (const field of TEMPLATED_FIELDS[String(action.type)] ?? []) add(action[field], pointerJoin(pointer, field));
  };
  add(definition.output, '/output');
  for (const { step, pointer } of walkSteps(definition.steps)) {
    const raw = step as Record<string, unknown>;
    add(raw.if, pointerJoin(pointer, 'if'));
    const fields = TEMPLATED_FIELDS[step.type];
    if (fields) for (const field of fields) add(raw[field], pointerJoin(pointer, field));
    else for (const [field, value] of Object.entries(customStepConfig(raw))) add(value, pointerJoin(pointer, field));
    if (step.compensate) addAction(step.compensate, pointerJoin(pointer, 'compensate'));
    if (step.type === 'map') {
      if ('type' in step.do) addAction(step.do, pointerJoin(pointer, 'do'));
      else add(step.do.output, pointerJoin(pointer, 'do', 'output'));
    }
  }
  return found;
}
