/** A field a path reads that a JSON Schema says cannot be there, found by {@link undeclaredField}. */
export interface UndeclaredField {
  /** How many names of the path lead to the object that lacks the field (0: the schema root). */
  depth: number;
  /** The missing field. */
  name: string;
  /** The fields that object's schema declares, in its order. */
  declared: string[];
}

// Keywords under which a value may have fields that `properties` does not list, or a shape that
// can only be known by resolving or combining schemas: the walk stops there, it never guesses.
const OPEN_KEYWORDS = [
  '$ref',
  '$dynamicRef',
  'allOf',
  'anyOf',
  'oneOf',
  'not',
  'if',
  'then',
  'else',
  'dependentSchemas',
  'patternProperties',
  'unevaluatedProperties',
  'const',
  'enum',
] as const;

/**
 * Follows a path of field names (as JSONata reads them) through a JSON Schema and returns the
 * first field that the schema declares absent, or `undefined` when every name is declared or the
 * walk cannot tell.
 *
 * A name steps into `properties`; on an array schema (`"type": "array"`, optionally with
 * `"null"`) it steps into `items` first, as JSONata maps a name over array elements. A field is
 * absent when the object schema declares `properties`, lists the name neither there nor in
 * `required`, has no `patternProperties`, and its `additionalProperties` is `false` or not given.
 * So declaring `properties` documents the fields to read; `"additionalProperties": true` (or a
 * schema) opens the object again. The walk stops, reporting nothing, at anything it cannot
 * follow statically: a schema without `properties`, a boolean schema, `$ref`, `allOf`/`anyOf`/
 * `oneOf`/`not`, conditionals, `const`/`enum`, `prefixItems`, a `type` that mixes objects and arrays.
 *
 * @example
 * ```ts
 * undeclaredField({ type: 'object', properties: { status: {}, body: {} } }, ['bdy']);
 * // { depth: 0, name: 'bdy', declared: ['status', 'body'] }
 * ```
 */
export function undeclaredField(schema: unknown, names: readonly string[]): UndeclaredField | undefined {
  let node = schema;
  for (const [depth, name] of names.entries()) {
    const object = arrayElementSchema(node);
    if (!isRecord(object) || OPEN_KEYWORDS.some((keyword) => keyword in object) || !typesAllow(object, 'object')) return undefined;
    const properties = object.properties;
    if (!isRecord(properties)) return undefined;
    if (Object.hasOwn(properties, name)) {
      node = properties[name];
      continue;
    }
    const required = Array.isArray(object.required) ? object.required : [];
    if (required.includes(name)) return undefined;
    if (object.additionalProperties !== undefined && object.additionalProperties !== false) return undefined;
    return { depth, name, declared: Object.keys(properties) };
  }
  return undefined;
}

/** The schema of the elements when `schema` describes only arrays (and null), nested arrays flattened. */
function arrayElementSchema(schema: unknown): unknown {
  let node = schema;
  while (isRecord(node) && isArrayOnly(node)) {
    if ('prefixItems' in node || !isRecord(node.items)) return undefined;
    node = node.items;
  }
  return node;
}

function isArrayOnly(schema: Record<string, unknown>): boolean {
  const types = typeList(schema);
  return types !== undefined && types.includes('array') && types.every((type) => type === 'array' || type === 'null');
}

/** True when `type` is absent or admits `wanted` and nothing that is an array. */
function typesAllow(schema: Record<string, unknown>, wanted: string): boolean {
  const types = typeList(schema);
  return types === undefined || (types.includes(wanted) && !types.includes('array'));
}

function typeList(schema: Record<string, unknown>): string[] | undefined {
  if (typeof schema.type === 'string') return [schema.type];
  if (Array.isArray(schema.type)) return schema.type.filter((type): type is string => typeof type === 'string');
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
