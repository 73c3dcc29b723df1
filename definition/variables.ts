import type { Definition } from './definition-schema';
import { expressionReferences, findExpressions, parseExpression, SECRET_NAME_PATTERN } from './expression';
import { templatedValues } from './templated-fields';

/**
 * Names `$var('NAME')` accepts: the same as secrets', a letter or `_`, then letters, digits or
 * `_`, at most 128 characters. Case-sensitive.
 */
export const VARIABLE_NAME_PATTERN = SECRET_NAME_PATTERN;

/**
 * The tenant's variables a run reads, by name, with their values as they were when the run
 * started (plain JSON). A run never reads the variable store again: editing a variable never
 * changes a run in flight, and child runs read their parent's.
 */
export type PinnedVariables = Record<string, unknown>;

/**
 * Binding of the pinned variables' values in {@link variableBindings}: a name with spaces, which
 * an expression can never write as `$name`, so it stays out of expressions' reach. It is plain
 * JSON, so it travels with deferred templates to the activities that evaluate them.
 */
export const PINNED_VARIABLES_BINDING = 'trellis pinned variables';

/** One `$var('NAME')` a definition holds, at the first place it appears. */
export type VariableReference = { name: string; pointer: string };

/**
 * The bindings that give expressions `$var('NAME')`: a function answering the pinned value of
 * `NAME`, and the values themselves under {@link PINNED_VARIABLES_BINDING}. Empty when `values`
 * is undefined (a run started before variables existed, whose expressions never had `$var`).
 * The function throws for a name that was not pinned: the validator allows only literal names,
 * and a run pins every name its definition and its sub-workflows read, so this is a safeguard.
 * @example
 * evaluateTemplate('{% $var("BASE_URL") %}/charges', { ...variableBindings({ BASE_URL: 'https://pay.example' }) });
 * // 'https://pay.example/charges'
 */
export function variableBindings(values: PinnedVariables | undefined): Record<string, unknown> {
  if (values === undefined || values === null) return {};
  const lookup = (name: unknown): unknown => {
    if (typeof name === 'string' && Object.hasOwn(values, name)) return values[name];
    throw new Error(`$var(${JSON.stringify(name)}): no variable of that name was pinned when the run started`);
  };
  return { var: lookup, [PINNED_VARIABLES_BINDING]: values };
}

/**
 * The variables a parsed definition reads with `$var('NAME')`, each once, located at the first
 * string that reads it, in document order. Only where expressions are evaluated (see
 * `templatedValues`); expressions that do not parse, and `$var` uses without a literal name (the
 * validator refuses both), name nothing.
 */
export function definitionVariables(definition: Definition): VariableReference[] {
  const found = new Map<string, string>();
  for (const { pointer, value } of templatedValues(definition)) {
    for (const location of findExpressions(value, pointer)) {
      if (location.unterminated || !location.source.includes('$var')) continue;
      let uses;
      try {
        uses = expressionReferences(parseExpression(location.source).ast()).vars;
      } catch {
        continue;
      }
      for (const { name } of uses) if (name !== undefined && !found.has(name)) found.set(name, location.pointer);
    }
  }
  return [...found].map(([name, pointer]) => ({ name, pointer }));
}
