import { findExpressions, referencedSecrets } from '../definition/expression';
import { evaluateTemplateSync } from '../definition/template-plan';
import { DEFERRED_MARK, type DeferredTemplates } from '../interpreter/deferred-templates';

/** Looks up a tenant's secrets by name (see `SecretStore.resolve`). */
export type SecretResolver = (tenantId: string, names: readonly string[]) => Promise<Map<string, string>>;

/**
 * Resolves, inside an activity, the strings the workflow deferred because they read `$secret()`,
 * and puts their values where the workflow left placeholders.
 * @returns the value with every placeholder replaced, and the secrets used (to redact them from
 * whatever leaves the activity)
 */
export async function resolveDeferred<T>(
  value: T,
  deferred: DeferredTemplates | undefined,
  tenantId: string | undefined,
  secrets: SecretResolver | undefined,
): Promise<{ value: T; used: Map<string, string> }> {
  if (!deferred) return { value, used: new Map() };
  if (!secrets || !tenantId) throw new Error('this worker cannot resolve secrets');
  const names = deferred.templates.flatMap((text) => findExpressions(text).flatMap((location) => referencedSecrets(location.source)));
  const used = await secrets(tenantId, names);
  const secret = (name: unknown): string => {
    const found = typeof name === 'string' ? used.get(name) : undefined;
    if (found === undefined) throw new Error(`$secret(${JSON.stringify(name)}): name secrets with a string literal`);
    return found;
  };
  const resolved: unknown[] = [];
  for (const text of deferred.templates) resolved.push(evaluateTemplateSync(text, { ...deferred.bindings, secret }));
  const replace = (node: unknown): unknown => {
    if (typeof node === 'string' && node.startsWith(DEFERRED_MARK)) return resolved[Number(node.slice(DEFERRED_MARK.length))];
    if (Array.isArray(node)) return node.map(replace);
    if (node !== null && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([key, item]) => [key, replace(item)]));
    return node;
  };
  return { value: replace(value) as T, used };
}

/** Shortest secret value that is redacted; shorter ones would blank out ordinary text. */
const MIN_REDACTED_LENGTH = 4;

/**
 * Replaces every occurrence of a used secret's value in strings (deeply) with `[secret NAME]`,
 * so a target that echoes a header back cannot carry the secret into history or the audit trail.
 */
export function redactSecrets<T>(value: T, used: ReadonlyMap<string, string>): T {
  const pairs = [...used].filter(([, secret]) => secret.length >= MIN_REDACTED_LENGTH).sort(([, a], [, b]) => b.length - a.length);
  if (pairs.length === 0) return value;
  const redactText = (text: string): string => pairs.reduce((out, [name, secret]) => out.split(secret).join(`[secret ${name}]`), text);
  const visit = (node: unknown): unknown => {
    if (typeof node === 'string') return redactText(node);
    if (Array.isArray(node)) return node.map(visit);
    if (node !== null && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([key, item]) => [redactText(key), visit(item)]));
    return node;
  };
  return visit(value) as T;
}
