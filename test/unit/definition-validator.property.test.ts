import fc from 'fast-check';
import { STEP_TYPES } from '../../definition/step-types';
import { formatErrors, validateDefinition, type ValidationResult } from '../../definition/definition-validator';

// Property tests of validateDefinition: whatever it is given, it answers (never throws) in the
// documented shape, and every acyclic graph whose expressions read only upstream steps is valid.

const NUM_RUNS = 200;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const DURATIONS = ['1ms', '500ms', '90s', '15m', '2h', '1h30m', '3d', 'PT2H', 'P1DT2H30M5S', '1.5h'] as const;

/** A step id in JSONata: a plain name, or a quoted one when it holds a "-". */
const stepRef = (id: string): string => (id.includes('-') ? `$steps."${id}"` : `$steps.${id}`);

/** Ids matching the step id pattern, some with "-" or "_", unique. */
const stepIdsArb = (max: number) =>
  fc.uniqueArray(fc.stringMatching(/^[a-z_][a-z0-9_-]{0,8}$/), { minLength: 1, maxLength: max, comparator: (a, b) => a === b });

/** One step's random choices; {@link buildDag} turns them into a step that only reads upstream. */
const stepChoicesArb = fc.record({
  type: fc.constantFrom('transform', 'condition', 'delay'),
  needMask: fc.array(fc.boolean(), { maxLength: 16 }),
  join: fc.constantFrom(undefined, 'all', 'any'),
  guard: fc.boolean(),
  shape: fc.nat(5),
  pick: fc.nat(),
  branch: fc.array(fc.constantFrom('then', 'else', 'neither'), { maxLength: 16 }),
  text: fc.string({ maxLength: 8 }).filter((s) => !s.includes('{%') && !s.includes('%}')),
  useUntil: fc.boolean(),
});
type StepChoices = typeof stepChoicesArb extends fc.Arbitrary<infer T> ? T : never;

/** A value reading only `readable` (the step's ancestors), shaped by `shape`. */
function readingValue(readable: string[], choices: StepChoices): Json {
  const one = readable.length > 0 ? readable[choices.pick % readable.length]! : undefined;
  const output = one ? `${stepRef(one)}.output` : '$input.x';
  switch (choices.shape) {
    case 0:
      return `{% ${output} %}`;
    case 1:
      return `{% $sum([${readable.map((id) => `${stepRef(id)}.output`).join(', ') || '0'}]) + 1 %}`;
    case 2:
      return { label: `${choices.text}{% ${output} %}!`, input: '{% $input %}', constant: choices.text };
    case 3:
      return [`{% ${one ? `${stepRef(one)}.status` : '$run.id'} %}`, 1, null, true];
    case 4:
      return `{% $count(${output}) > 0 ? "some" : "none" %}`;
    default:
      return choices.text;
  }
}

/**
 * A definition whose steps (transform, condition, delay) need only earlier steps, so the graph is
 * acyclic, and whose expressions read only ancestors; conditions branch only to their dependents.
 */
function buildDag(ids: string[], choices: StepChoices[]): JsonObject {
  const needs = ids.map((_, i) => ids.slice(0, i).filter((__, j) => choices[i]!.needMask[j] === true));
  const ancestors: Array<Set<string>> = [];
  ids.forEach((_, i) => {
    ancestors.push(new Set(needs[i]!.flatMap((need) => [need, ...ancestors[ids.indexOf(need)]!])));
  });
  const steps: JsonObject = {};
  ids.forEach((id, i) => {
    const c = choices[i]!;
    const readable = [...ancestors[i]!];
    const step: JsonObject = { type: c.type };
    if (needs[i]!.length > 0) step.needs = needs[i]!;
    if (c.join && needs[i]!.length > 0) step.join = c.join;
    if (c.type === 'transform') step.value = readingValue(readable, c);
    if (c.type === 'delay') {
      if (c.useUntil) step.until = readable.length > 0 ? `{% ${stepRef(readable[c.pick % readable.length]!)}.output.at %}` : '2030-01-01T00:00:00Z';
      else step.duration = DURATIONS[c.pick % DURATIONS.length]!;
    }
    if (c.type === 'condition') {
      step.if = readable.length > 0 ? `{% ${stepRef(readable[c.pick % readable.length]!)}.output > 1 %}` : '{% $input.amount > 100 %}';
      const dependents = ids.filter((_, j) => needs[j]!.includes(id));
      const then = dependents.filter((__, k) => c.branch[k] === 'then');
      const otherwise = dependents.filter((__, k) => c.branch[k] === 'else');
      if (then.length > 0) step.then = then;
      if (otherwise.length > 0) step.else = otherwise;
    } else if (c.guard && readable.length > 0) {
      step.if = `{% ${stepRef(readable[c.pick % readable.length]!)}.status = "SUCCEEDED" %}`;
    }
    steps[id] = step;
  });
  return { name: 'random-dag', output: `{% ${stepRef(ids[ids.length - 1]!)}.output %}`, steps };
}

const dagArb = stepIdsArb(15).chain((ids) =>
  fc.array(stepChoicesArb, { minLength: ids.length, maxLength: ids.length }).map((choices) => buildDag(ids, choices)),
);

const templateArb = fc.oneof(
  fc.constantFrom('{%', '%}', '{% %}', '{%%}', '{% $steps. %}', '{% ((( %}', '{% $steps.ghost.output %}', '{% $sum( %}', '{{% %}}'),
  fc.tuple(fc.string({ maxLength: 6 }), fc.string({ maxLength: 12 }), fc.string({ maxLength: 6 })).map(([a, body, b]) => `${a}{% ${body} %}${b}`),
  fc.tuple(fc.string({ maxLength: 6 }), fc.string({ maxLength: 12 })).map(([a, body]) => `${a}{% ${body}`),
);

/** Values that are plausible in a definition, or plausibly wrong. */
const valueArb: fc.Arbitrary<Json> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>,
  templateArb,
  fc.constantFrom<Json>(...STEP_TYPES, 'bogus', '', 'all', 'any', 'fail', 'continue', '1s', '0s', '-1s', 'PT', 'latest', 0, -1, 1e308),
  fc.array(fc.oneof(fc.stringMatching(/^[a-z_][a-z0-9_-]{0,3}$/), fc.string({ maxLength: 4 }), fc.integer()), { maxLength: 4 }),
  fc.record({ type: fc.constantFrom<Json>(...STEP_TYPES, 'nope', 3) }, { requiredKeys: [] }) as fc.Arbitrary<Json>,
);

const keyArb = fc.oneof(
  fc.constantFrom('type', 'needs', 'if', 'then', 'else', 'join', 'value', 'duration', 'until', 'retry', 'timeout', 'compensate', 'do', 'items', 'steps', 'output', 'a/b', 'x~y', ''),
  fc.string({ maxLength: 6 }),
);

type Mutation = { kind: 'delete' | 'replace' | 'insert'; at: number; key: string; value: Json };
const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('delete', 'replace', 'insert'),
  at: fc.nat(),
  key: keyArb,
  value: valueArb,
});

/** Every container and leaf of `doc` as a path of keys (the root is `[]`). */
function pathsOf(doc: Json, prefix: Array<string | number> = []): Array<Array<string | number>> {
  const paths = [prefix];
  if (Array.isArray(doc)) doc.forEach((item, i) => paths.push(...pathsOf(item, [...prefix, i])));
  else if (doc !== null && typeof doc === 'object') for (const [key, item] of Object.entries(doc)) paths.push(...pathsOf(item, [...prefix, key]));
  return paths;
}

/** Applies one mutation to a copy of `doc` at the `at`-th path (modulo the number of paths). */
function mutate(doc: Json, mutation: Mutation): Json {
  const paths = pathsOf(doc);
  const path = paths[mutation.at % paths.length]!;
  if (path.length === 0) return mutation.kind === 'replace' ? mutation.value : insertInto(structuredClone(doc), mutation);
  const copy = structuredClone(doc);
  let parent = copy as JsonObject | Json[];
  for (const key of path.slice(0, -1)) parent = (parent as Record<string | number, Json>)[key] as JsonObject | Json[];
  const last = path[path.length - 1]!;
  const target = (parent as Record<string | number, Json>)[last]!;
  if (mutation.kind === 'delete') {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[last as string];
  } else if (mutation.kind === 'replace') {
    (parent as Record<string | number, Json>)[last] = mutation.value;
  } else {
    (parent as Record<string | number, Json>)[last] = insertInto(target, mutation);
  }
  return copy;
}

function insertInto(node: Json, mutation: Mutation): Json {
  if (Array.isArray(node)) {
    node.splice(mutation.at % (node.length + 1), 0, mutation.value);
    return node;
  }
  if (node !== null && typeof node === 'object') {
    // defineProperty, so a "__proto__" key becomes a field rather than a prototype.
    Object.defineProperty(node, mutation.key, { value: mutation.value, enumerable: true, writable: true, configurable: true });
    return node;
  }
  return mutation.value;
}

// The SPEC example (minus the workflow step, whose child definition does not matter here).
const SPEC_EXAMPLE: JsonObject = {
  name: 'order-fulfilment',
  input: { type: 'object', required: ['orderId'], properties: { orderId: { type: 'string' } } },
  output: '{% $steps.summary.output %}',
  defaults: { timeout: '30s', retry: { maxAttempts: 3, initialInterval: '1s', backoffCoefficient: 2 } },
  steps: {
    charge: {
      type: 'http', method: 'POST', url: 'https://pay.example/charges',
      body: { order: '{% $input.orderId %}' },
      compensate: { type: 'http', method: 'POST', url: 'https://pay.example/refunds', body: { charge: '{% $steps.charge.output.body.id %}' } },
    },
    check: { type: 'condition', needs: ['charge'], if: '{% $steps.charge.output.body.risk < 0.8 %}', then: ['ship'], else: ['review'] },
    review: { type: 'wait', needs: ['check'], signal: 'approval', timeout: '3d' },
    ship: { type: 'http', needs: ['check'], method: 'POST', url: 'https://ship.example/shipments' },
    cooldown: { type: 'delay', needs: ['ship', 'review'], join: 'any', duration: '2h' },
    fan: { type: 'map', needs: ['cooldown'], items: '{% $input.lines %}', maxConcurrency: 2,
      do: { steps: { line: { type: 'transform', value: '{% $item %}' } }, output: '{% $steps.line.output %}' } },
    summary: { type: 'transform', needs: ['fan'], value: { order: '{% $input.orderId %}', lines: '{% $steps.fan.output %}' } },
  },
};

const baseArb: fc.Arbitrary<Json> = fc.oneof({ weight: 1, arbitrary: fc.constant(SPEC_EXAMPLE) }, { weight: 2, arbitrary: dagArb });

/** RFC 6901: "" or "/"-separated tokens in which "~" only starts "~0" or "~1". */
const JSON_POINTER = /^(?:\/(?:[^~/]|~[01])*)*$/;

/** Fails unless `result` is `{valid: true}` or `{valid: false}` with a non-empty list of well-formed errors. */
function expectWellFormed(result: ValidationResult): void {
  if (result.valid) {
    expect(result.errors).toEqual([]);
    return;
  }
  expect(result.errors.length).toBeGreaterThan(0);
  for (const error of result.errors) {
    expect(Object.keys(error).sort()).toEqual(['message', 'path']);
    expect(typeof error.path === 'string' && JSON_POINTER.test(error.path) ? 'a JSON pointer' : error.path).toBe('a JSON pointer');
    expect(typeof error.message === 'string' && error.message.trim() !== '' ? 'a message' : error.message).toBe('a message');
  }
}

describe('validateDefinition, on random input', () => {
  it('never throws on mutated valid definitions, and answers valid or a non-empty list of errors located by JSON pointers', () => {
    fc.assert(
      fc.property(baseArb, fc.array(mutationArb, { minLength: 1, maxLength: 4 }), (base, mutations) => {
        const spec = mutations.reduce(mutate, base);
        const before = JSON.stringify(spec);
        expectWellFormed(validateDefinition(spec));
        expect(JSON.stringify(spec)).toBe(before);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('never throws on arbitrary JSON values, whole documents or step maps, and answers in the same shape', () => {
    const stepsArb = fc.dictionary(
      fc.string({ maxLength: 5 }),
      fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.record({ type: fc.constantFrom(...STEP_TYPES), needs: fc.jsonValue({ maxDepth: 1 }), value: fc.jsonValue({ maxDepth: 1 }) }, { requiredKeys: ['type'] })),
      { maxKeys: 5 },
    );
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.record({ name: fc.oneof(fc.constant('x'), fc.jsonValue({ maxDepth: 1 })), steps: stepsArb })), (spec) => {
        expectWellFormed(validateDefinition(spec));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('accepts every acyclic graph of transform, condition and delay steps whose expressions read only upstream steps', () => {
    fc.assert(
      fc.property(dagArb, (spec) => {
        const result = validateDefinition(spec);
        expect(result.valid ? [] : formatErrors(result.errors)).toEqual([]);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
