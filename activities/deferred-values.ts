import { findExpressions, referencedSecrets } from '../definition/expression';
import { evaluateTemplateSync } from '../definition/template-plan';
import { PINNED_VARIABLES_BINDING, variableBindings, type PinnedVariables } from '../definition/variables';
import { DEFERRED_MARK, type DeferredTemplates } from '../interpreter/deferred-templates';
import type { SecretRedactor } from './secret-redactor';

/** Looks up a tenant's secrets by name (see `SecretStore.resolve`). */
export type SecretResolver = (tenantId: string, names: readonly string[]) => Promise<Map<string, string>>;

/**
 * Resolves, inside an activity, the strings the workflow deferred because they read `$secret()`,
 * and puts their values where the workflow left placeholders. The secrets are registered with
 * `redactor` as soon as they are read, before any expression sees them: an expression that fails
 * on a secret (`$number($secret('TOKEN'))` quotes the value in its message) fails redacted.
 * @returns the value with every placeholder replaced
 */
export async function resolveDeferred<T>(
  value: T,
  deferred: DeferredTemplates | undefined,
  tenantId: string | undefined,
  secrets: SecretResolver | undefined,
  redactor: SecretRedactor,
): Promise<T> {
  if (!deferred) return value;
  if (!secrets || !tenantId) throw new Error('this worker cannot resolve secrets');
  const names = deferred.templates.flatMap((text) => findExpressions(text).flatMap((location) => referencedSecrets(location.source)));
  const used = await secrets(tenantId, names);
  redactor.add(used);
  const secret = (name: unknown): string => {
    const found = typeof name === 'string' ? used.get(name) : undefined;
    if (found === undefined) throw new Error(`$secret(${JSON.stringify(name)}): name secrets with a string literal`);
    return found;
  };
  const resolved: unknown[] = [];
  const variables = variableBindings(deferred.bindings[PINNED_VARIABLES_BINDING] as PinnedVariables | undefined);
  for (const text of deferred.templates) resolved.push(evaluateTemplateSync(text, { ...deferred.bindings, ...variables, secret }));
  const replace = (node: unknown): unknown => {
    if (typeof node === 'string' && node.startsWith(DEFERRED_MARK)) return resolved[Number(node.slice(DEFERRED_MARK.length))];
    if (Array.isArray(node)) return node.map(replace);
    if (node !== null && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([key, item]) => [key, replace(item)]));
    return node;
  };
  return replace(value) as T;
}
