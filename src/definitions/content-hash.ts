import { sha256OfJson } from '../support/canonical-json';

/**
 * The content hash of a definition document: the SHA-256 of its canonical JSON (keys sorted),
 * leaving out the top-level `"$schema"`. That member only tells editors where the JSON Schema
 * is, so adding, removing or changing it does not make a new version.
 * @example definitionContentHash({ $schema: 'http://localhost:4000/schema/definition.json', ...doc }) === definitionContentHash(doc) // true
 */
export function definitionContentHash(spec: unknown): string {
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec) || !Object.hasOwn(spec, '$schema')) return sha256OfJson(spec);
  const { $schema: _schema, ...content } = spec as Record<string, unknown>;
  return sha256OfJson(content);
}
