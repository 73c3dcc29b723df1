import { findExpressions, referencedSteps } from '../definition/expression';

/**
 * Marks a string the activity resolves instead of the workflow, because it reads `$secret()`,
 * whose value must never enter Temporal history: the workflow replaces each such string with
 * this mark followed by the string's index in {@link DeferredTemplates.templates}.
 */
export const DEFERRED_MARK = '\u0000trellis-deferred:';

/**
 * Templates an activity resolves, with the bindings they may read (only the steps they name),
 * plain JSON: `$var` travels as its pinned values (see `variableBindings`).
 */
export type DeferredTemplates = { templates: string[]; bindings: Record<string, unknown> };

const SECRET_CALL = /\$secret\s*\(/;

/** True when the string holds an expression that calls `$secret`. */
export function readsSecrets(text: string): boolean {
  return findExpressions(text).some((location) => SECRET_CALL.test(location.source));
}

/**
 * Replaces every string that reads a secret with a placeholder and returns the strings, so the
 * workflow evaluates everything else and the activity, which can see secrets, evaluates these.
 * `bindings` is cut down to the steps those strings name.
 */
export function deferSecretTemplates(value: unknown, bindings: Record<string, unknown>): { value: unknown; deferred?: DeferredTemplates } {
  const templates: string[] = [];
  const visit = (node: unknown): unknown => {
    if (typeof node === 'string') {
      if (!readsSecrets(node)) return node;
      templates.push(node);
      return `${DEFERRED_MARK}${templates.length - 1}`;
    }
    if (Array.isArray(node)) return node.map(visit);
    if (node !== null && typeof node === 'object') {
      return Object.fromEntries(Object.entries(node).map(([key, item]) => [key, visit(item)]));
    }
    return node;
  };
  const replaced = visit(value);
  if (templates.length === 0) return { value };
  const named = new Set(templates.flatMap((text) => findExpressions(text).flatMap((location) => referencedSteps(location.source))));
  const allSteps = (bindings.steps ?? {}) as Record<string, unknown>;
  const steps = Object.fromEntries(Object.entries(allSteps).filter(([id]) => named.has(id)));
  // Functions ($var) do not travel to the activity, which binds its own from the plain data.
  const data = Object.fromEntries(Object.entries(bindings).filter(([, binding]) => typeof binding !== 'function'));
  return { value: replaced, deferred: { templates, bindings: { ...data, steps } } };
}
