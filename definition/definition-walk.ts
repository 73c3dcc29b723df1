import type { Definition, Step } from './definition-schema';
import { pointerJoin } from './json-pointer';

/** A step found by {@link walkSteps}. */
export interface StepLocation {
  id: string;
  step: Step;
  /** JSON pointer of the step, e.g. `/steps/each/do/steps/inner`. */
  pointer: string;
  /** 1 for the definition's own steps, 2 inside a `map` step's inline graph, and so on. */
  depth: number;
}

/** Every step of a parsed definition, inline `map` graphs included, parents before children. */
export function* walkSteps(steps: Definition['steps'], pointer = '/steps', depth = 1): Generator<StepLocation> {
  for (const [id, step] of Object.entries(steps)) {
    const at = pointerJoin(pointer, id);
    yield { id, step, pointer: at, depth };
    if (step.type === 'map' && 'steps' in step.do) {
      yield* walkSteps(step.do.steps, pointerJoin(at, 'do', 'steps'), depth + 1);
    }
  }
}

/** A child workflow a definition may start. */
export interface ChildWorkflowReference {
  /** JSON pointer of the object naming it (a step, a compensation or a map action). */
  pointer: string;
  definition: string;
  version: number | 'latest';
}

/**
 * Every child workflow a parsed definition may start (workflow steps, compensations and `map`
 * actions), so the caller can check that they exist and do not recurse, and pin their versions.
 */
export function childWorkflows(definition: Definition): ChildWorkflowReference[] {
  const found: ChildWorkflowReference[] = [];
  const add = (action: { type: string; definition?: string; version?: number | 'latest' }, pointer: string): void => {
    if (action.type === 'workflow' && action.definition !== undefined) {
      found.push({ pointer, definition: action.definition, version: action.version ?? 'latest' });
    }
  };
  for (const { step, pointer } of walkSteps(definition.steps)) {
    add(step, pointer);
    if (step.compensate) add(step.compensate, pointerJoin(pointer, 'compensate'));
    if (step.type === 'map' && 'type' in step.do) add(step.do, pointerJoin(pointer, 'do'));
  }
  return found;
}

/**
 * Every JSON Schema embedded in a parsed definition (`/input` and each step's `output`), for a
 * caller with a JSON Schema compiler to check (this package stays free of ajv).
 */
export function embeddedJsonSchemas(definition: Definition): Array<{ pointer: string; schema: Record<string, unknown> }> {
  const found = definition.input ? [{ pointer: '/input', schema: definition.input }] : [];
  for (const { step, pointer } of walkSteps(definition.steps)) {
    if (step.output) found.push({ pointer: pointerJoin(pointer, 'output'), schema: step.output });
  }
  return found;
}
