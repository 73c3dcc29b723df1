import { DEFERRED_MARK } from '../interpreter/deferred-templates';

/** Shortest secret value looked for in text; shorter ones would match ordinary text. */
const MIN_SECRET_LENGTH = 4;

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

/**
 * A test of whether text holds the value of one of the secrets a step resolved, for what the
 * placeholders cannot show (a custom step's own requests).
 */
export function carriesSecretOf(used: ReadonlyMap<string, string>): (text: string) => boolean {
  const values = [...used.values()].filter((value) => value.length >= MIN_SECRET_LENGTH);
  return (text) => values.some((value) => text.includes(value));
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
