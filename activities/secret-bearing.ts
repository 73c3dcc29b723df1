import { DEFERRED_MARK } from '../interpreter/deferred-templates';

/**
 * Which parts of a request read `$secret()`, found before the activity resolves them: the
 * workflow left a placeholder in each such string. These are never sent to another origin.
 * @returns the names of headers whose value reads a secret, and whether any string of the body does
 */
export function secretBearingParts(request: { headers?: Record<string, string>; body?: unknown }): { headers: string[]; body: boolean } {
  const headers = Object.entries(request.headers ?? {})
    .filter(([, value]) => isPlaceholder(value))
    .map(([name]) => name);
  return { headers, body: holdsPlaceholder(request.body) };
}

function isPlaceholder(value: unknown): boolean {
  return typeof value === 'string' && value.startsWith(DEFERRED_MARK);
}

function holdsPlaceholder(node: unknown): boolean {
  if (isPlaceholder(node)) return true;
  if (Array.isArray(node)) return node.some(holdsPlaceholder);
  if (node !== null && typeof node === 'object') return Object.values(node).some(holdsPlaceholder);
  return false;
}
