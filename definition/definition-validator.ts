import type { z } from 'zod';
import { ancestors, findCycles, type GraphSteps } from './definition-graph';
import { definitionSchema, type Definition } from './definition-schema';
import { isExpressionError } from './expression-error';
import { findExpressions, parseExpression, referencedSteps, wholeExpression } from './expression';
import { pointerFromPath, pointerJoin, pointerTokens } from './json-pointer';

/** One problem in a definition: where (an RFC 6901 JSON pointer) and what, for a human. */
export type DefinitionError = { path: string; message: string };

/** The outcome of {@link validateDefinition}. */
export type ValidationResult =
  | { valid: true; definition: Definition; errors: [] }
  | { valid: false; errors: DefinitionError[] };

/** Limits checked by {@link validateDefinition}. */
export interface ValidateOptions {
  /**
   * Most steps a definition may have, counting those inside `map` steps' inline graphs.
   * @default 500
   */
  maxSteps?: number;
  /**
   * Deepest nesting of `map` inline graphs (a graph in a graph is depth 2).
   * @default 3
   */
  maxDepth?: number;
}

/** Default of {@link ValidateOptions.maxSteps}. */
export const DEFAULT_MAX_STEPS = 500;
/** Default of {@link ValidateOptions.maxDepth}. */
export const DEFAULT_MAX_DEPTH = 3;

// Fields whose strings are templates, per step type; everything else is taken literally.
const TEMPLATED_FIELDS: Readonly<Record<string, readonly string[]>> = {
  http: ['method', 'url', 'query', 'headers', 'body'],
  transform: ['value'],
  condition: [],
  delay: ['until'],
  workflow: ['input'],
  wait: [],
  map: ['items'],
};

type RawRecord = Record<string, unknown>;

interface GraphScope {
  /** JSON pointer of the graph's `steps` object. */
  pointer: string;
  /** Ids of steps in enclosing graphs; inner ids may not reuse them. */
  enclosingIds: ReadonlySet<string>;
  /** Enclosing steps an expression in this graph may read (upstream of the `map` step). */
  enclosingUpstream: ReadonlySet<string>;
  /** 1 for the definition's own steps. */
  depth: number;
}

interface ExpressionScope {
  /** Steps that exist as far as this expression is concerned. */
  known: ReadonlySet<string>;
  /** Steps it may read. */
  allowed: ReadonlySet<string>;
  /** Who reads them, for messages (`step "ship"`). */
  reader: string;
}

/**
 * Checks a definition before anything runs (SPEC §2 "Definition-time checks") and reports every
 * problem at once, each with a JSON pointer, sorted by pointer.
 *
 * Checks: the shape (unknown fields, types, durations, delay `duration`/`until`), step ids,
 * `needs` (missing, self, duplicates, cycles), condition `then`/`else`, guards and `map.items`
 * being expressions, expressions that do not parse or read `$steps.<id>` of a step that is not
 * upstream (the top-level `output` may read any step; a `compensate` action also its own step),
 * `map` nesting depth and the number of steps. Not checked here (they need I/O or ajv): whether
 * child workflow definitions exist or recurse, and whether embedded JSON Schemas compile.
 *
 * @example
 * ```ts
 * const result = validateDefinition(JSON.parse(text));
 * if (!result.valid) throw new Error(formatErrors(result.errors));
 * ```
 */
export function validateDefinition(spec: unknown, options: ValidateOptions = {}): ValidationResult {
  const errors: DefinitionError[] = [];
  const parsed = definitionSchema.safeParse(spec);
  if (!parsed.success) errors.push(...fromZodIssues(parsed.error.issues, spec, []));
  // The graph checks run on the raw document as well, so a typo in one step does not hide a
  // cycle in another; they skip whatever the shape check already reported as malformed.
  if (isRecord(spec)) checkDefinition(spec, options, errors);
  const sorted = sortErrors(errors);
  if (parsed.success && sorted.length === 0) return { valid: true, definition: parsed.data, errors: [] };
  return { valid: false, errors: sorted };
}

/** One line per error: `/steps/check/then/0: then names "ship", which is not a step`. */
export function formatErrors(errors: readonly DefinitionError[]): string {
  return errors.map((error) => `${error.path === '' ? '/' : error.path}: ${error.message}`).join('\n');
}

function checkDefinition(spec: RawRecord, options: ValidateOptions, errors: DefinitionError[]): void {
  const steps = spec.steps;
  if (!isRecord(steps)) return;
  const maxSteps = options.maxSteps ?? DEFAULT_MAX_STEPS;
  const count = countSteps(steps);
  if (count > maxSteps) {
    errors.push({ path: '/steps', message: `the definition has ${count} steps (counting those inside map steps); the limit is ${maxSteps}` });
  }
  checkGraph(steps, options, errors, { pointer: '/steps', enclosingIds: new Set(), enclosingUpstream: new Set(), depth: 1 });
  const ids = new Set(Object.keys(steps));
  checkExpressions(spec.output, '/output', { known: ids, allowed: ids, reader: 'the definition output' }, errors);
}

function checkGraph(steps: RawRecord, options: ValidateOptions, errors: DefinitionError[], scope: GraphScope): void {
  const ids = new Set(Object.keys(steps));
  const graph: Record<string, { needs: string[] }> = {};
  for (const [id, step] of Object.entries(steps)) {
    graph[id] = { needs: isRecord(step) ? strings(step.needs).map(([need]) => need) : [] };
  }
  const known = new Set([...ids, ...scope.enclosingIds]);

  for (const [id, step] of Object.entries(steps)) {
    if (!isRecord(step)) continue;
    const at = pointerJoin(scope.pointer, id);
    if (scope.enclosingIds.has(id)) {
      errors.push({ path: at, message: `step id "${id}" is already used by an enclosing step; use another id` });
    }
    checkNeeds(id, step, at, ids, errors);
    const upstream = new Set([...ancestors(graph, id), ...scope.enclosingUpstream]);
    upstream.delete(id);
    const expressionScope: ExpressionScope = { known, allowed: upstream, reader: `step "${id}"` };

    const type = typeof step.type === 'string' ? step.type : '';
    checkGuard(step, at, type, errors);
    for (const field of TEMPLATED_FIELDS[type] ?? []) {
      checkExpressions(step[field], pointerJoin(at, field), expressionScope, errors);
    }
    if (type === 'condition') checkBranches(id, step, at, graph, errors);
    if (type === 'delay') checkUntil(step, at, errors);
    if (type === 'map') checkMap(id, step, at, options, errors, scope, { ...expressionScope, known }, ids);
    if (isRecord(step.compensate)) {
      const compensateScope = { ...expressionScope, allowed: new Set([...upstream, id]), reader: `the compensation of "${id}"` };
      checkAction(step.compensate, pointerJoin(at, 'compensate'), compensateScope, errors);
    }
  }

  for (const cycle of findCycles(graph)) {
    if (cycle.length <= 2) continue; // a step needing itself is reported by checkNeeds
    const closer = cycle[cycle.length - 2] as string;
    const start = cycle[0] as string;
    const index = graph[closer]?.needs.indexOf(start) ?? 0;
    errors.push({
      path: pointerJoin(scope.pointer, closer, 'needs', index),
      message: `"${closer}" needs "${start}", which closes the cycle ${cycle.join(' → ')}`,
    });
  }
}

function checkNeeds(id: string, step: RawRecord, at: string, ids: ReadonlySet<string>, errors: DefinitionError[]): void {
  const seen = new Set<string>();
  for (const [need, index] of strings(step.needs)) {
    const path = pointerJoin(at, 'needs', index);
    if (need === id) errors.push({ path, message: `"${id}" needs itself` });
    else if (!ids.has(need)) errors.push({ path, message: `needs "${need}", which is not a step` });
    else if (seen.has(need)) errors.push({ path, message: `"${need}" is listed twice in needs` });
    seen.add(need);
  }
}

function checkGuard(step: RawRecord, at: string, type: string, errors: DefinitionError[]): void {
  if (typeof step.if !== 'string' || wholeExpression(step.if) !== undefined) return;
  const what = type === 'condition' ? 'the condition' : 'a guard';
  errors.push({ path: pointerJoin(at, 'if'), message: `${what} must be one expression, like "{% $input.amount > 100 %}"` });
}

function checkBranches(id: string, step: RawRecord, at: string, graph: GraphSteps, errors: DefinitionError[]): void {
  const thenIds = new Set(strings(step.then).map(([target]) => target));
  for (const branch of ['then', 'else'] as const) {
    for (const [target, index] of strings(step[branch])) {
      const path = pointerJoin(at, branch, index);
      if (!Object.hasOwn(graph, target)) {
        errors.push({ path, message: `${branch} names "${target}", which is not a step` });
      } else if (!(graph[target]?.needs ?? []).includes(id)) {
        errors.push({ path, message: `${branch} names "${target}", which does not need "${id}": add "${id}" to its needs` });
      } else if (branch === 'else' && thenIds.has(target)) {
        errors.push({ path, message: `"${target}" is in both then and else` });
      }
    }
  }
}

function checkUntil(step: RawRecord, at: string, errors: DefinitionError[]): void {
  const until = step.until;
  if (typeof until !== 'string' || until.includes('{%') || !Number.isNaN(Date.parse(until))) return;
  errors.push({ path: pointerJoin(at, 'until'), message: 'until must be an expression or an ISO-8601 timestamp' });
}

function checkMap(
  id: string,
  step: RawRecord,
  at: string,
  options: ValidateOptions,
  errors: DefinitionError[],
  scope: GraphScope,
  expressionScope: ExpressionScope,
  ids: ReadonlySet<string>,
): void {
  if (typeof step.items === 'string' && wholeExpression(step.items) === undefined) {
    errors.push({ path: pointerJoin(at, 'items'), message: 'items must be one expression giving an array, like "{% $input.orders %}"' });
  }
  const action = step.do;
  const doAt = pointerJoin(at, 'do');
  if (!isRecord(action)) return;
  if (action.type !== undefined) {
    checkAction(action, doAt, { ...expressionScope, reader: `the action of "${id}"` }, errors);
    return;
  }
  if (!isRecord(action.steps)) return;
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  if (scope.depth + 1 > maxDepth) {
    errors.push({ path: doAt, message: `map graphs nest ${scope.depth + 1} deep; the limit is ${maxDepth}` });
    return;
  }
  const innerPointer = pointerJoin(doAt, 'steps');
  checkGraph(action.steps, options, errors, {
    pointer: innerPointer,
    enclosingIds: new Set([...scope.enclosingIds, ...ids]),
    enclosingUpstream: expressionScope.allowed,
    depth: scope.depth + 1,
  });
  const inner = new Set(Object.keys(action.steps));
  checkExpressions(
    action.output,
    pointerJoin(doAt, 'output'),
    {
      known: new Set([...expressionScope.known, ...inner]),
      allowed: new Set([...expressionScope.allowed, ...inner]),
      reader: `the output of "${id}"`,
    },
    errors,
  );
}

function checkAction(action: RawRecord, at: string, scope: ExpressionScope, errors: DefinitionError[]): void {
  const type = typeof action.type === 'string' ? action.type : '';
  checkGuard(action, at, type, errors);
  for (const field of type === 'http' || type === 'workflow' ? (TEMPLATED_FIELDS[type] ?? []) : []) {
    checkExpressions(action[field], pointerJoin(at, field), scope, errors);
  }
  if (typeof action.if === 'string') checkExpressions(action.if, pointerJoin(at, 'if'), scope, errors);
}

function checkExpressions(value: unknown, at: string, scope: ExpressionScope, errors: DefinitionError[]): void {
  for (const location of findExpressions(value, at)) {
    if (location.unterminated) {
      errors.push({ path: location.pointer, message: '"{%" has no closing "%}"' });
      continue;
    }
    try {
      parseExpression(location.source, location.pointer);
    } catch (error) {
      errors.push({ path: location.pointer, message: isExpressionError(error) ? error.message : String(error) });
      continue;
    }
    for (const ref of referencedSteps(location.source)) {
      if (!scope.known.has(ref)) {
        errors.push({ path: location.pointer, message: `reads $steps.${ref}, but there is no step "${ref}"` });
      } else if (!scope.allowed.has(ref)) {
        errors.push({
          path: location.pointer,
          message: `reads $steps.${ref}, but "${ref}" is not upstream of ${scope.reader}: add it to needs, directly or through another step`,
        });
      }
    }
  }
}

/** Maps zod issues to pointers and plain messages; `root` is the document, to look values up. */
function fromZodIssues(issues: readonly z.core.$ZodIssue[], root: unknown, prefix: readonly PropertyKey[]): DefinitionError[] {
  const errors: DefinitionError[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    const value = valueAt(root, path);
    const field = path[path.length - 1];
    switch (issue.code) {
      case 'unrecognized_keys':
        for (const key of issue.keys) errors.push({ path: pointerFromPath([...path, key]), message: `unknown field "${key}"` });
        break;
      case 'invalid_key':
        errors.push({ path: pointerFromPath(path), message: issue.issues[0]?.message ?? issue.message });
        break;
      case 'invalid_union':
        errors.push(...fromUnionIssue(issue, path, value, root));
        break;
      case 'invalid_type':
        errors.push({
          path: pointerFromPath(path),
          message:
            value === undefined && typeof field === 'string'
              ? `missing required field "${field}"`
              : `expected ${issue.expected}, got ${describeValue(value)}`,
        });
        break;
      case 'invalid_value':
        errors.push({
          path: pointerFromPath(path),
          message: `expected ${issue.values.map((allowed) => JSON.stringify(allowed)).join(' or ')}, got ${describeValue(value)}`,
        });
        break;
      case 'too_small':
      case 'too_big': {
        const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
        const words = issue.code === 'too_small' ? ['at least', 'more than'] : ['at most', 'less than'];
        const limit = issue.origin === 'array' ? `${bound} item(s)` : issue.origin === 'string' ? `${bound} character(s)` : String(bound);
        errors.push({ path: pointerFromPath(path), message: `must be ${issue.inclusive === false ? words[1] : words[0]} ${limit}` });
        break;
      }
      default:
        errors.push({ path: pointerFromPath(path), message: issue.message });
    }
  }
  return errors;
}

function fromUnionIssue(
  issue: z.core.$ZodIssueInvalidUnion,
  path: PropertyKey[],
  value: unknown,
  root: unknown,
): DefinitionError[] {
  const pointer = pointerFromPath(path);
  if (issue.discriminator !== undefined) {
    const expected = ('options' in issue ? (issue.options ?? []) : []).map(String).join(', ');
    return [{
      path: pointer,
      message: value === undefined ? `missing "${issue.discriminator}": expected one of ${expected}` : `unknown ${issue.discriminator} ${JSON.stringify(value)}: expected one of ${expected}`,
    }];
  }
  // A map's `do` is an action (has a "type") or an inline graph (has "steps"): report against the
  // form the author evidently meant instead of against both.
  if (path[path.length - 1] === 'do' && issue.errors.length === 2) {
    const meant = isRecord(value) && 'type' in value ? issue.errors[0] : issue.errors[1];
    return fromZodIssues(meant ?? [], root, path);
  }
  return [{ path: pointer, message: issue.message === 'Invalid input' ? `${describeValue(value)} is not an allowed value here` : issue.message }];
}

function countSteps(steps: RawRecord): number {
  let count = 0;
  for (const step of Object.values(steps)) {
    count += 1;
    if (isRecord(step) && isRecord(step.do) && isRecord(step.do.steps)) count += countSteps(step.do.steps);
  }
  return count;
}

function sortErrors(errors: readonly DefinitionError[]): DefinitionError[] {
  const unique = new Map(errors.map((error) => [`${error.path}\u0000${error.message}`, error]));
  return [...unique.values()].sort((a, b) => comparePointers(a.path, b.path) || (a.message < b.message ? -1 : a.message > b.message ? 1 : 0));
}

function comparePointers(a: string, b: string): number {
  const left = pointerTokens(a);
  const right = pointerTokens(b);
  for (let index = 0; index < Math.min(left.length, right.length); index += 1) {
    const x = left[index] as string;
    const y = right[index] as string;
    if (x === y) continue;
    if (/^\d+$/.test(x) && /^\d+$/.test(y)) return Number(x) - Number(y);
    return x < y ? -1 : 1;
  }
  return left.length - right.length;
}

function isRecord(value: unknown): value is RawRecord {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The string entries of an array with their indexes; anything else yields nothing. */
function strings(value: unknown): Array<[string, number]> {
  if (!Array.isArray(value)) return [];
  return value.flatMap((item, index): Array<[string, number]> => (typeof item === 'string' ? [[item, index]] : []));
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object' || typeof key === 'symbol') return undefined;
    node = Object.hasOwn(node, key) ? (node as Record<string | number, unknown>)[key] : undefined;
  }
  return node;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value);
  return String(value);
}
