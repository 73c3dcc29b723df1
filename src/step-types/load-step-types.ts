import { checkCustomStepTypes } from '../../definition/custom-step-type';
import type { StepTypeDefinition } from './define-step-type';

/**
 * Checks a set of custom step types as the definition language does (names with a `-`, like
 * `send-email`, unique, a zod object config), and that each has an `execute` function.
 * @throws Error naming the offending type (a deployment mistake, reported at start-up)
 */
export function checkStepTypes(types: readonly StepTypeDefinition[]): readonly StepTypeDefinition[] {
  checkCustomStepTypes(types);
  for (const type of types) {
    if (typeof type.execute !== 'function') throw new Error(`custom step type "${type.name}" needs an "execute" function`);
  }
  return types;
}

/** Imports the modules of `TRELLIS_STEP_TYPES`; each default-exports a step type or an array of them. */
export async function loadStepTypes(modules: readonly string[]): Promise<StepTypeDefinition[]> {
  const types: StepTypeDefinition[] = [];
  for (const file of modules) {
    let loaded: { default?: unknown };
    try {
      loaded = (await import(file)) as { default?: unknown };
    } catch (err) {
      throw new Error(`cannot load custom step types from ${file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    const exported = loaded.default;
    const list = Array.isArray(exported) ? exported : exported === undefined ? [] : [exported];
    if (list.length === 0) throw new Error(`${file} has no default export of step types`);
    types.push(...(list as StepTypeDefinition[]));
  }
  return types;
}
