import type { z } from 'zod';
import type { CustomStepTypeSchema } from './custom-step-type';
import { ancestors, findCycles, type GraphSteps } from './definition-graph';
import { definitionSchemaFor, type Definition } from './definition-schema';
import { isExpressionError } from './expression-error';
import { localHttpErrors } from './local-http';
import {
  expressionReferences,
  findExpressions,
  parseExpression,
  SECRET_NAME_PATTERN,
  wholeExpression,
  type ExpressionReferences,
  type StepReference,
} from './expression';
import { pointerFromPath, pointerJoin, pointerTokens } from './json-pointer';
import { isPrototypeKey } from './prototype-keys';
import { inspectJson, MAX_JSON_DEPTH } from './storable-json';
import { undeclaredField } from './json-schema-fields';
import { CUSTOM_STEP_TRAITS, STEP_TRAITS, isBuiltInStepType, templatedFieldsOf, type StepTraits } from './step-traits';
import { VARIABLE_NAME_PATTERN } from './variables';
import { NO_TASK_QUEUES, taskQueueProblem, type TaskQueuePolicy } from './task-queues';

/** One problem in a definition: where (an RFC 6901 JSON pointer) and what, for a human. */
export type DefinitionError = { path: string; message: string };

/** The outcome of {@link validateDefinition}. */
export type ValidationResult =
  | { valid: true; definition: Definition; errors: [] }
  | { valid: false; errors: DefinitionError[] };

/** Limits and registrations checked by {@link validateDefinition}. */
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
  /**
   * Largest document, in bytes of its UTF-8 JSON text (`JSON.stringify`, no indentation).
   * @default 262144 (256 KiB)
   */
  maxDefinitionBytes?: number;
  /**
   * Custom step types the deployment registered; steps may use their names as `type`. Pass the
   * same array on every call: the schema built for it is cached by the array's identity.
   * @default []
   */
  stepTypes?: readonly CustomStepTypeSchema[];
  /**
   * The task queues steps may name in `taskQueue` (the deployment's worker pools).
   * @default none: a step that names a task queue is an error
   */
  taskQueues?: TaskQueuePolicy;
}

/** Default of {@link ValidateOptions.maxSteps}. */
export const DEFAULT_MAX_STEPS = 500;
/** Default of {@link ValidateOptions.maxDepth}. */
export const DEFAULT_MAX_DEPTH = 3;
/** Default of {@link ValidateOptions.maxDefinitionBytes}: 256 KiB. */
export const DEFAULT_MAX_DEFINITION_BYTES = 256 * 1024;

// What an http step's output always is.
const HTTP_OUTPUT_FIELDS: readonly string[] = ['status', 'headers', 'body'];
// What `$steps.<id>` exposes of a step.
const STEP_FIELDS_READABLE: readonly string[] = ['output', 'status'];
// Variables bound only while a map step runs its action for one item.
const ITEM_VARIABLES = ['item', 'index'] as const;

type RawRecord = Record<string, unknown>;

interface Check {
  options: ValidateOptions;
  errors: DefinitionError[];
  /** Names of the registered custom step types. */
  customTypes: ReadonlySet<string>;
}

interface GraphScope {
  /** JSON pointer of the graph's `steps` object. */
  pointer: string;
  /** Steps of enclosing graphs, by id; inner ids may not reuse them. */
  enclosingSteps: ReadonlyMap<string, unknown>;
  /** Enclosing steps an expression in this graph may read (upstream of the `map` step). */
  enclosingUpstream: ReadonlySet<string>;
  /** 1 for the definition's own steps. */
  depth: number;
}

interface ExpressionScope {
  /** Steps that exist as far as this expression is concerned, by id (raw, as written). */
  steps: ReadonlyMap<string, unknown>;
  /** Steps it may read. */
  allowed: ReadonlySet<string>;
  /** Who reads them, for messages (`step "ship"`). */
  reader: string;
  /** True where an activity resolves the expression, the only place `$secret` may be used. */
  secrets: boolean;
  /** Why `$secret` is refused here, when a more precise reason than the general one applies. */
  noSecretsBecause?: string;
  /** True inside a map step's `do`, where `$item` and `$index` are bound. */
  item: boolean;
}

/** Why a `log` step's message may not read `$secret`. */
const LOG_SECRET_REASON =
  '$secret cannot be logged: a log message is evaluated in the workflow (a secret would enter its history) and written to the audit trail; ' +
  'log what the secret was used for instead';

/**
 * Checks a definition before anything runs (SPEC §2 "Definition-time checks") and reports every
 * problem at once, each with a JSON pointer, sorted by pointer. Never throws for a bad document.
 *
 * Checks:
 * - first, that the document is JSON Trellis can take: nested at most {@link MAX_JSON_DEPTH}
 *   levels (a deeper one gets that error alone: nothing else looks at it) and without strings or
 *   keys PostgreSQL cannot store (U+0000, unpaired surrogates; see `inspectJson`);
 * - the document's size (one over the limit gets that error alone, with those above);
 * - the shape: unknown fields, types, durations, delay `duration`/`until`, `map.maxConcurrency`
 *   (1 to 1000), custom steps' config against their registered schema;
 * - the graph: step ids (none of the names every JavaScript object has, like `__proto__` or
 *   `constructor`: see `PROTOTYPE_KEYS`), `needs` (missing, self, duplicates, cycles), condition `then`/`else`,
 *   `map` nesting depth, the number of steps; inside a `map` inline graph no `wait` step and no
 *   `compensate` on a step;
 * - expressions: guards, conditions and `map.items` are one expression; every expression parses
 *   and does not use `$eval`; `$steps.<id>` names an upstream step (the top-level `output` may
 *   read any step, a `compensate` action also its own step) and only its `output` or `status`;
 *   `$steps.<id>.output.<field>…` names a field the step's output can have (see below);
 *   `$secret('NAME')` takes a literal name and appears only where an activity resolves it (an
 *   http step's or action's `method`, `url`, `query`, `headers`, `body`, a custom step's config);
 *   `$var('NAME')` takes a literal name of the variable-name pattern (anywhere; whether the
 *   variable is set is checked when a run starts, since variables change independently);
 *   `$item`/`$index` appear only inside a map step's `do`.
 *
 * Output fields: an http step's output is `{status, headers, body}`; below that, or for any step
 * declaring an `output` JSON Schema, the path is followed through the schema and a name is an
 * error when the object schema declares `properties` without it, has no `patternProperties` and
 * no `additionalProperties` other than `false` (see {@link undeclaredField}, which stops at
 * anything it cannot follow, so open or composed schemas are never reported).
 *
 * Not checked here (they need I/O or ajv): whether child workflow definitions exist or recurse,
 * and whether embedded JSON Schemas compile.
 *
 * @throws {Error} only for a bad `options.stepTypes` registration (a programming error).
 * @example
 * ```ts
 * const result = validateDefinition(JSON.parse(text), { stepTypes: [sendEmail] });
 * if (!result.valid) throw new Error(formatErrors(result.errors));
 * ```
 */
export function validateDefinition(spec: unknown, options: ValidateOptions = {}): ValidationResult {
  const stepTypes = options.stepTypes ?? [];
  const schema = definitionSchemaFor(stepTypes);
  // Before anything recursive (zod, JSON.stringify) looks at it.
  const inspection = inspectJson(spec, '', { maxDepth: MAX_JSON_DEPTH });
  if (inspection.tooDeep) return { valid: false, errors: inspection.problems };
  const errors: DefinitionError[] = [...inspection.problems];
  // An oversized document is reported for its size alone: the other checks cost time in
  // proportion to it (a 500 KB one took a second), which is what the limit is there to bound.
  if (checkSize(spec, options, errors)) return { valid: false, errors: sortErrors(errors) };
  const parsed = schema.safeParse(spec);
  if (!parsed.success) errors.push(...fromZodIssues(parsed.error.issues, spec, []));
  // The graph checks run on the raw document as well, so a typo in one step does not hide a
  // cycle in another; they skip whatever the shape check already reported as malformed.
  if (isRecord(spec)) checkDefinition(spec, { options, errors, customTypes: new Set(stepTypes.map((type) => type.name)) });
  if (parsed.success) errors.push(...localHttpErrors(parsed.data));
  const sorted = sortErrors(errors);
  if (parsed.success && sorted.length === 0) return { valid: true, definition: parsed.data, errors: [] };
  return { valid: false, errors: sorted };
}

/** One line per error: `/steps/check/then/0: then names "ship", which is not a step`. */
export function formatErrors(errors: readonly DefinitionError[]): string {
  return errors.map((error) => `${error.path === '' ? '/' : error.path}: ${error.message}`).join('\n');
}

/** Reports a document over the size limit; says whether it is. */
function checkSize(spec: unknown, options: ValidateOptions, errors: DefinitionError[]): boolean {
  const limit = options.maxDefinitionBytes ?? DEFAULT_MAX_DEFINITION_BYTES;
  let text: string | undefined;
  try {
    text = JSON.stringify(spec);
  } catch {
    return false; // not JSON at all (a cycle, a BigInt): the shape check reports what it can
  }
  if (text === undefined) return false;
  const size = utf8Length(text);
  if (size <= limit) return false;
  errors.push({ path: '', message: `the definition is ${size} bytes of JSON; the limit is ${limit} bytes` });
  return true;
}

function checkDefinition(spec: RawRecord, check: Check): void {
  const steps = spec.steps;
  if (!isRecord(steps)) return;
  const maxSteps = check.options.maxSteps ?? DEFAULT_MAX_STEPS;
  const count = countSteps(steps);
  if (count > maxSteps) {
    check.errors.push({ path: '/steps', message: `the definition has ${count} steps (counting those inside map steps); the limit is ${maxSteps}` });
  }
  checkGraph(steps, check, { pointer: '/steps', enclosingSteps: new Map(), enclosingUpstream: new Set(), depth: 1 });
  const ids = new Set(Object.keys(steps));
  const scope = { steps: new Map(Object.entries(steps)), allowed: ids, reader: 'the definition output', secrets: false, item: false };
  checkExpressions(spec.output, '/output', scope, check.errors);
}

function checkGraph(steps: RawRecord, check: Check, scope: GraphScope): void {
  const { errors } = check;
  const ids = new Set(Object.keys(steps));
  const graph: Record<string, { needs: string[] }> = {};
  for (const [id, step] of Object.entries(steps)) {
    graph[id] = { needs: isRecord(step) ? strings(step.needs).map(([need]) => need) : [] };
  }
  const visible = new Map([...scope.enclosingSteps, ...Object.entries(steps)]);
  const inMap = scope.depth > 1;

  for (const [id, step] of Object.entries(steps)) {
    const at = pointerJoin(scope.pointer, id);
    if (isPrototypeKey(id)) {
      errors.push({ path: at, message: `step id "${id}" is a name every JavaScript object has (Object.prototype.${id}): use another id` });
    }
    if (!isRecord(step)) continue;
    if (scope.enclosingSteps.has(id)) {
      errors.push({ path: at, message: `step id "${id}" is already used by an enclosing step; use another id` });
    }
    checkNeeds(id, step, at, ids, errors);
    if (typeof step.taskQueue === 'string') {
      const problem = taskQueueProblem(step.taskQueue, check.options.taskQueues ?? NO_TASK_QUEUES);
      if (problem !== undefined) errors.push({ path: pointerJoin(at, 'taskQueue'), message: problem });
    }
    const upstream = new Set([...ancestors(graph, id), ...scope.enclosingUpstream]);
    upstream.delete(id);
    const expressionScope: ExpressionScope = { steps: visible, allowed: upstream, reader: `step "${id}"`, secrets: false, item: inMap };

    const type = typeof step.type === 'string' ? step.type : '';
    // An unregistered type has no traits: the schema reports it.
    const traits: StepTraits | undefined = isBuiltInStepType(type) ? STEP_TRAITS[type] : check.customTypes.has(type) ? CUSTOM_STEP_TRAITS : undefined;
    if (inMap) checkInlineStep(step, at, type, traits, errors);
    checkGuard(step, at, traits, errors);
    if (typeof step.if === 'string') checkExpressions(step.if, pointerJoin(at, 'if'), expressionScope, errors);
    const fieldScope = { ...expressionScope, secrets: traits?.secrets ?? false, ...(type === 'log' ? { noSecretsBecause: LOG_SECRET_REASON } : {}) };
    for (const field of traits ? templatedFieldsOf(step) : []) checkExpressions(step[field], pointerJoin(at, field), fieldScope, errors);
    if (type === 'condition') checkBranches(id, step, at, graph, errors);
    if (type === 'delay') checkUntil(step, at, errors);
    if (type === 'map') checkMap(id, step, at, check, scope, expressionScope);
    if (step.compensate !== undefined && traits?.compensable === false) {
      errors.push({ path: pointerJoin(at, 'compensate'), message: `a ${type} step has nothing to roll back: remove "compensate"` });
    }
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

/** What a step inside a map step's inline graph may not do. */
function checkInlineStep(step: RawRecord, at: string, type: string, traits: StepTraits | undefined, errors: DefinitionError[]): void {
  if (traits?.inMap === false) {
    errors.push({
      path: pointerJoin(at, 'type'),
      message:
        type === 'wait'
          ? 'a wait step cannot run inside a map step\'s "do": signals are addressed to the run, not to one item; wait before or after the map step'
          : `a ${type} step cannot run inside a map step's "do"`,
    });
  }
  if (step.compensate !== undefined) {
    errors.push({
      path: pointerJoin(at, 'compensate'),
      message: 'a step inside a map step\'s "do" cannot have "compensate": put "compensate" on the map step itself',
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

function checkGuard(step: RawRecord, at: string, traits: StepTraits | undefined, errors: DefinitionError[]): void {
  if (typeof step.if !== 'string' || wholeExpression(step.if) !== undefined) return;
  const what = traits?.guard === false ? 'the condition' : 'a guard';
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

function checkMap(id: string, step: RawRecord, at: string, check: Check, scope: GraphScope, expressionScope: ExpressionScope): void {
  const { errors, options } = check;
  if (typeof step.items === 'string' && wholeExpression(step.items) === undefined) {
    errors.push({ path: pointerJoin(at, 'items'), message: 'items must be one expression giving an array, like "{% $input.orders %}"' });
  }
  const action = step.do;
  const doAt = pointerJoin(at, 'do');
  if (!isRecord(action)) return;
  const itemScope = { ...expressionScope, item: true };
  if (action.type !== undefined) {
    checkAction(action, doAt, { ...itemScope, reader: `the action of "${id}"` }, errors);
    return;
  }
  if (!isRecord(action.steps)) return;
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  if (scope.depth + 1 > maxDepth) {
    errors.push({ path: doAt, message: `map graphs nest ${scope.depth + 1} deep; the limit is ${maxDepth}` });
    return;
  }
  checkGraph(action.steps, check, {
    pointer: pointerJoin(doAt, 'steps'),
    enclosingSteps: expressionScope.steps,
    enclosingUpstream: expressionScope.allowed,
    depth: scope.depth + 1,
  });
  checkExpressions(
    action.output,
    pointerJoin(doAt, 'output'),
    {
      ...itemScope,
      steps: new Map([...expressionScope.steps, ...Object.entries(action.steps)]),
      allowed: new Set([...expressionScope.allowed, ...Object.keys(action.steps)]),
      reader: `the output of "${id}"`,
    },
    errors,
  );
}

function checkAction(action: RawRecord, at: string, scope: ExpressionScope, errors: DefinitionError[]): void {
  const type = typeof action.type === 'string' ? action.type : '';
  // Only types that may be actions have their fields checked here; the schema reports the others.
  const traits = isBuiltInStepType(type) && STEP_TRAITS[type].action ? STEP_TRAITS[type] : undefined;
  checkGuard(action, at, traits, errors);
  for (const field of traits ? templatedFieldsOf(action) : []) {
    checkExpressions(action[field], pointerJoin(at, field), { ...scope, secrets: traits?.secrets ?? false }, errors);
  }
  if (typeof action.if === 'string') checkExpressions(action.if, pointerJoin(at, 'if'), scope, errors);
}

function checkExpressions(value: unknown, at: string, scope: ExpressionScope, errors: DefinitionError[]): void {
  for (const location of findExpressions(value, at)) {
    const path = location.pointer;
    if (location.unterminated) {
      errors.push({ path, message: '"{%" has no closing "%}"' });
      continue;
    }
    let references: ExpressionReferences;
    try {
      references = expressionReferences(parseExpression(location.source, path).ast());
    } catch (error) {
      errors.push({ path, message: isExpressionError(error) ? error.message : String(error) });
      continue;
    }
    for (const reference of references.steps) {
      const message = stepReferenceProblem(reference, scope);
      if (message !== undefined) errors.push({ path, message });
    }
    errors.push(...secretProblems(references, scope).map((message) => ({ path, message })));
    errors.push(...variableProblems(references).map((message) => ({ path, message })));
    for (const name of ITEM_VARIABLES) {
      if (!scope.item && references.variables.has(name) && !references.bound.has(name)) {
        errors.push({ path, message: `$${name} is only bound inside a map step's "do"` });
      }
    }
  }
}

function stepReferenceProblem(reference: StepReference, scope: ExpressionScope): string | undefined {
  const { id, fields } = reference;
  if (!scope.steps.has(id)) return `reads $steps.${id}, but there is no step "${id}"`;
  if (!scope.allowed.has(id)) {
    return `reads $steps.${id}, but "${id}" is not upstream of ${scope.reader}: add it to needs, directly or through another step`;
  }
  const [field, ...path] = fields;
  if (field === undefined) return undefined;
  if (!STEP_FIELDS_READABLE.includes(field)) return `reads $steps.${id}.${field}, but a step has only "output" and "status"`;
  const step = scope.steps.get(id);
  if (field !== 'output' || path.length === 0 || !isRecord(step)) return undefined;
  const [first] = path as [string];
  if (step.type === 'http' && !HTTP_OUTPUT_FIELDS.includes(first)) {
    return `reads $steps.${id}.output.${first}, but the output of http step "${id}" has only status, headers and body`;
  }
  const missing = undeclaredField(step.output, path);
  if (!missing) return undefined;
  const where = missing.depth === 0 ? '' : ` in output.${path.slice(0, missing.depth).join('.')}`;
  const declared = missing.declared.length === 0 ? 'none' : missing.declared.join(', ');
  return (
    `reads $steps.${id}.output.${path.slice(0, missing.depth + 1).join('.')}, but the output schema of "${id}" ` +
    `declares no field "${missing.name}"${where} (it declares: ${declared})`
  );
}

function secretProblems(references: ExpressionReferences, scope: ExpressionScope): string[] {
  if (references.secrets.length === 0) return [];
  if (!scope.secrets) {
    if (scope.noSecretsBecause !== undefined) return [scope.noSecretsBecause];
    return [
      '$secret is resolved only inside activities, so a secret here would enter the workflow history: use it in an http ' +
        "step's method, url, query, headers or body (or a custom step's fields) and pass on the result, not the secret",
    ];
  }
  return references.secrets.flatMap((use): string[] => {
    if (use.name === undefined) {
      return ["$secret takes one string literal naming the secret, like $secret('PAY_TOKEN'): names must be known before the run"];
    }
    if (!SECRET_NAME_PATTERN.test(use.name)) {
      return [`$secret(${JSON.stringify(use.name)}): a secret name is a letter or "_", then letters, digits or "_", at most 128 characters`];
    }
    if (isPrototypeKey(use.name)) {
      return [`$secret(${JSON.stringify(use.name)}): "${use.name}" is a name every JavaScript object has (Object.prototype.${use.name}) and cannot name a secret`];
    }
    return [];
  });
}

/** `$var('NAME')` anywhere an expression is evaluated, with a literal name a variable can have. */
function variableProblems(references: ExpressionReferences): string[] {
  return references.vars.flatMap((use): string[] => {
    if (use.name === undefined) {
      return ["$var takes one string literal naming the variable, like $var('BASE_URL'): a run pins the variables it reads when it starts"];
    }
    if (!VARIABLE_NAME_PATTERN.test(use.name)) {
      return [`$var(${JSON.stringify(use.name)}): a variable name is a letter or "_", then letters, digits or "_", at most 128 characters`];
    }
    if (isPrototypeKey(use.name)) {
      return [`$var(${JSON.stringify(use.name)}): "${use.name}" is a name every JavaScript object has (Object.prototype.${use.name}) and cannot name a variable`];
    }
    return [];
  });
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

/** Bytes of `text` in UTF-8, counted without TextEncoder (not every sandbox has it). */
function utf8Length(text: string): number {
  let bytes = 0;
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && index + 1 < text.length) {
      const next = text.charCodeAt(index + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        index += 1;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
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
