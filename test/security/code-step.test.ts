import { CodeSandbox, type CodeOutcome } from '../../src/code-steps/code-sandbox';
import type { CodeErrorCode } from '../../src/code-steps/code-step-error';
import { finished, startRunOf, stepOf } from '../support/runs';
import { createTestContext, type TestContext } from '../support/test-context';

const LIMITS = { timeoutMs: 300, memoryBytes: 16 * 1024 * 1024, stackBytes: 256 * 1024, outputChars: 64 * 1024 };
const sandbox = new CodeSandbox(LIMITS);
// Memory bombs get the time to reach the memory limit rather than the CPU time limit.
const roomy = new CodeSandbox({ ...LIMITS, timeoutMs: 10_000 });
const RUN = { id: 'run-1', definition: 'probe', version: 1, startedAt: '2026-01-01T00:00:00.000Z', attempt: 1 };

function run(source: string, input: unknown = {}, using = sandbox): Promise<CodeOutcome> {
  return using.run(source, { input, steps: {}, run: RUN });
}

async function output(source: string, input: unknown = {}): Promise<unknown> {
  const outcome = await run(source, input);
  if (!outcome.ok) throw new Error(`expected a result, got ${outcome.error.code}: ${outcome.error.message}`);
  return outcome.output;
}

async function failure(source: string, using = sandbox): Promise<{ code: CodeErrorCode; message: string }> {
  const outcome = await run(source, {}, using);
  if (outcome.ok) throw new Error(`expected a failure, got ${JSON.stringify(outcome.output)}`);
  return { code: outcome.error.code, message: outcome.error.message };
}

describe('code steps against escape attempts', () => {
  it('finds no host object, module system, network, file system or timer from any global', async () => {
    const names = ['process', 'require', 'module', 'global', 'Buffer', 'fetch', 'XMLHttpRequest', 'WebSocket', 'setTimeout', 'setInterval', 'setImmediate', 'queueMicrotask', 'WebAssembly', 'std', 'os', 'Deno', 'Bun', 'Atomics'];
    const seen = await output(`return ${JSON.stringify(names)}.map((name) => typeof globalThis[name])`);
    expect(seen).toEqual(names.map(() => 'undefined'));
  });

  it('reaches only the sandbox through constructor chains', async () => {
    expect(await failure(`return this.constructor.constructor('return process')()`)).toEqual({ code: 'CODE_ERROR', message: expect.stringMatching(/^TypeError: cannot read property 'constructor' of undefined/) });
    expect(await output(`return Function('return this')().constructor.constructor('return typeof process')()`)).toBe('undefined');
    expect(await output(`return [].map.constructor('return typeof require + typeof globalThis.lib')()`)).toBe('undefinedobject');
    expect(await output(`return (async () => {}).constructor('return 1').constructor.name`)).toBe('AsyncFunction');
  });

  it('gives eval and Function nothing beyond the sandbox', async () => {
    expect(await output(`return [eval('typeof process'), new Function('return typeof require')(), eval('1 + 1')]`)).toEqual(['undefined', 'undefined', 2]);
  });

  it('loads no module with import() or require', async () => {
    expect(await failure(`return import('node:fs')`)).toEqual({ code: 'CODE_ERROR', message: expect.stringContaining("could not load module 'node:fs'") });
    expect(await failure(`return require('fs')`)).toEqual({ code: 'CODE_ERROR', message: expect.stringMatching(/^ReferenceError: 'require' is not defined/) });
  });

  it('stops a runaway loop at its CPU time limit, even one that catches what stops it', async () => {
    expect(await failure('for (;;) {}')).toEqual({ code: 'CODE_TIMEOUT', message: 'the code ran longer than its CPU time limit of 300 ms' });
    expect((await failure('for (;;) { try { for (;;) {} } catch (e) {} finally { continue; } }')).code).toBe('CODE_TIMEOUT');
    expect((await failure('return { toJSON() { for (;;) {} } }')).code).toBe('CODE_TIMEOUT');
    expect((await failure('const again = () => Promise.resolve().then(again); again(); return Promise.resolve(1)')).code).toBe('CODE_TIMEOUT');
  });

  it('stops a memory bomb and a huge string at the memory limit', async () => {
    expect(await failure('const kept = []; for (;;) kept.push("x".repeat(1 << 20) + kept.length)', roomy)).toEqual({ code: 'CODE_MEMORY_LIMIT', message: 'the code used more than its memory limit of 16 MiB' });
    expect((await failure('const kept = []; for (;;) kept.push(new Array(4096).fill(kept.length))', roomy)).code).toBe('CODE_MEMORY_LIMIT');
    expect((await failure('return "x".repeat(2 ** 27).length', roomy)).code).toBe('CODE_MEMORY_LIMIT');
    expect((await failure('return new ArrayBuffer(1 << 28).byteLength', roomy)).code).toBe('CODE_MEMORY_LIMIT');
  });

  it('stops a loop of expensive built-in calls at the CPU time limit, not thousands of calls later', async () => {
    expect((await failure('for (;;) "x".repeat(1 << 22)')).code).toBe('CODE_TIMEOUT');
    expect((await failure('for (;;) { try { new Array(1 << 20).fill(0).join(",") } catch (e) {} }')).code).toBe('CODE_TIMEOUT');
  });

  it('stops deep recursion at the stack limit', async () => {
    expect(await failure('function down(n) { return down(n + 1) + 1 }\nreturn down(0)')).toEqual({ code: 'CODE_STACK_OVERFLOW', message: 'the code recursed past its stack limit of 256 KiB' });
    expect((await failure('const nested = (n) => n === 0 ? [] : [nested(n - 1)]; return nested(1e6)')).code).toBe('CODE_STACK_OVERFLOW');
  });

  it('refuses a result past the output limit', async () => {
    expect(await failure(`return "x".repeat(${LIMITS.outputChars})`)).toEqual({ code: 'CODE_OUTPUT_TOO_LARGE', message: `the result is ${LIMITS.outputChars + 2} characters of JSON; the limit is ${LIMITS.outputChars}` });
  });

  it.each([
    ['a function', 'return () => 1', 'TypeError: the result is a function, which JSON cannot hold'],
    ['undefined', 'return undefined', 'TypeError: the result is undefined: return a JSON value (null for nothing)'],
    ['nothing', 'const x = 1', 'TypeError: the result is undefined: return a JSON value (null for nothing)'],
    ['a cycle', 'const a = {}; a.self = a; return a', 'TypeError: circular reference'],
    ['a BigInt', 'return { big: 10n }', 'TypeError: the value at key "big" is a BigInt, which JSON cannot hold'],
    ['NaN', 'return [1, NaN]', 'TypeError: the value at key "1" is NaN, which JSON cannot hold'],
    ['Infinity', 'return { x: 1 / 0 }', 'TypeError: the value at key "x" is Infinity, which JSON cannot hold'],
    ['a symbol', 'return { s: Symbol("x") }', 'TypeError: the value at key "s" is a symbol, which JSON cannot hold'],
    ['a promise that never settles', 'return new Promise(() => {})', 'the result is a promise that never settles: there is nothing to wait for in a code step (no timers, no I/O)'],
  ])('refuses %s as a result', async (_what, source, message) => {
    expect(await failure(source)).toEqual({ code: 'CODE_INVALID_OUTPUT', message });
  });

  it.each([
    ['a number', 'throw 42', 'the code threw a value that is not an Error: 42'],
    ['null', 'throw null', 'the code threw a value that is not an Error: null'],
    ['an object', 'throw { reason: "no" }', 'the code threw a value that is not an Error: {"reason":"no"}'],
    ['a symbol', 'throw Symbol("s")', 'the code threw a value that is not an Error: Symbol(s)'],
    ['an object whose getters never return', 'throw { get message() { for (;;) {} }, toString() { for (;;) {} }, toJSON() { for (;;) {} } }', 'the code threw a value that is not an Error: a value that could not be described'],
    ['a proxy that throws on every trap', 'throw new Proxy({}, { get() { throw 1 }, getOwnPropertyDescriptor() { throw 1 }, getPrototypeOf() { throw 1 } })', 'the code threw a value that is not an Error: a value that could not be described'],
  ])('fails clearly when the code throws %s', async (_what, source, message) => {
    expect(await failure(source)).toEqual({ code: 'CODE_ERROR', message });
  });

  it('marshals with the intrinsics it captured, whatever the code replaces', async () => {
    const source = [
      'JSON.stringify = () => "{\\"forged\\":true}";',
      'JSON.parse = () => ({ forged: true });',
      'Object.prototype.toJSON = undefined;',
      'Object.defineProperty(Array.prototype, "toJSON", { value: () => "forged" });',
      'return { real: 1, [Symbol.toPrimitive]: () => "forged", [Symbol.toStringTag]: "forged", list: [1] };',
    ].join('\n');
    expect(await output(source)).toEqual({ real: 1, list: 'forged' });
  });

  it('passes __proto__ in the input as data, never as a prototype', async () => {
    const input = JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}}') as unknown;
    expect(await output('return [Object.keys(input), input.polluted ?? null, ({}).polluted ?? null, Object.getPrototypeOf(input) === Object.prototype]', input)).toEqual([
      ['__proto__', 'constructor'],
      null,
      null,
      true,
    ]);
  });

  it('takes only strings and numbers in the library, so no guest object reaches the host', async () => {
    expect(await failure('return lib.sha256({ toString() { return "x" } })')).toEqual({ code: 'CODE_ERROR', message: expect.stringMatching(/^TypeError: lib\.sha256: arguments are strings or numbers, got a object/) });
    expect(await failure('lib.sha256 = null; return 1')).toEqual({ code: 'CODE_ERROR', message: expect.stringMatching(/^TypeError: /) });
    expect(await output('return Object.getOwnPropertyNames(lib).sort()')).toEqual(['addToDate', 'base64Decode', 'base64Encode', 'dateDiff', 'hmacSha256', 'parseUrl', 'sha256', 'toEpochMs', 'toIsoDate', 'validate']);
  });

  it('matches JSON Schema patterns in linear time on the host (no catastrophic backtracking)', async () => {
    const evil = `"${'a'.repeat(40)}!"`;
    expect(await output(`return lib.validate({ type: "string", pattern: "^(a+)+$" }, ${evil}).valid`)).toBe(false);
    expect((await failure('return lib.validate({ type: "string", pattern: "(?=a)" }, "a")')).message).toMatch(/^TypeError: lib\.validate: validate\(schema, value\): not a valid JSON Schema: error parsing regexp/);
  });

  it('shows a global set by one execution to no later one', async () => {
    expect(await output('globalThis.leaked = "secret"; Object.prototype.polluted = 1; Array.prototype.push = null; return 1')).toBe(1);
    expect(await output('return [typeof leaked, ({}).polluted ?? null, typeof [].push]')).toEqual(['undefined', null, 'function']);
  });

  it('still runs ordinary code after every attempt above', async () => {
    expect(await output('return lib.sha256("abc")')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('a worker running hostile code steps', () => {
  let ctx: TestContext;

  beforeAll(async () => {
    ctx = await createTestContext({ env: { TRELLIS_CODE_TIMEOUT_MS: '2000', TRELLIS_CODE_MEMORY_MB: '16' } });
  });

  afterAll(async () => {
    await ctx?.stop();
  });

  it('fails each hostile step with its code while other runs finish', async () => {
    const hostile = {
      name: 'hostile',
      steps: {
        spin: { type: 'code', source: 'for (;;) {}' },
        bomb: { type: 'code', source: 'const kept = []; for (;;) kept.push("x".repeat(1 << 20) + kept.length)' },
        dive: { type: 'code', source: 'const dive = () => dive() + 1; return dive()' },
        flood: { type: 'code', source: 'return "x".repeat(1 << 22)' },
      },
    };
    const ordinary = { name: 'ordinary', steps: { sum: { type: 'code', source: 'return input.a + input.b' } } };
    const started = await Promise.all([startRunOf(ctx, hostile), startRunOf(ctx, ordinary, { a: 1, b: 2 })]);
    const [bad, good] = await Promise.all(started.map((run) => finished(ctx, run)));
    expect(good!.status).toBe('COMPLETED');
    expect(stepOf(good!, 'sum').output).toBe(3);
    expect(bad!.status).toBe('FAILED');
    const codes = Object.fromEntries(['spin', 'bomb', 'dive', 'flood'].map((id) => [id, (stepOf(bad!, id).error as { type?: string } | null)?.type ?? stepOf(bad!, id).status]));
    // The first failure cancels its running siblings; each step that ran to its end failed with its own code.
    for (const [id, code] of Object.entries(codes)) {
      expect([{ spin: 'CODE_TIMEOUT', bomb: 'CODE_MEMORY_LIMIT', dive: 'CODE_STACK_OVERFLOW', flood: 'CODE_OUTPUT_TOO_LARGE' }[id], 'Cancelled', 'CANCELLED']).toContain(code);
    }
    const after = await finished(ctx, await startRunOf(ctx, { name: 'after', steps: { one: { type: 'code', source: 'return 1' } } }));
    expect(after.status).toBe('COMPLETED');
  });
});
