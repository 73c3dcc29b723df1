import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { cliFor, runIdOf, type CliResult } from '../support/cli';
import { HttpStub } from '../support/http-stub';
import { createTestContext, type TestContext } from '../support/test-context';
import { until } from '../support/until';

let ctx: TestContext;
let stub: HttpStub;
let dir: string;
let cli: (...argv: string[]) => Promise<CliResult>;

beforeAll(async () => {
  [ctx, stub, dir] = await Promise.all([createTestContext(), new HttpStub().start(), fs.mkdtemp(path.join(os.tmpdir(), 'trellis-cli-ops-'))]);
  cli = cliFor(ctx);
});

afterAll(async () => {
  await Promise.all([ctx?.stop(), stub?.stop(), dir && fs.rm(dir, { recursive: true, force: true })]);
});

async function writeJson(name: string, value: unknown): Promise<string> {
  const file = path.join(dir, name);
  await fs.writeFile(file, JSON.stringify(value, null, 2));
  return file;
}

/** The parsed lines of a --json command's output. */
function jsonLines(result: CliResult): any[] {
  return result.out.map((line) => JSON.parse(line));
}

async function stepStatus(runId: string, step: string): Promise<string | undefined> {
  const { run } = await ctx.gql(`query($id: ID!) { run(id: $id) { steps { id status } } }`, { id: runId });
  return run.steps.find((s: { id: string }) => s.id === step)?.status;
}

const quoteSpec = {
  name: 'cli-quote',
  input: { type: 'object', required: ['qty'] },
  output: '{% $steps.total.output %}',
  steps: {
    price: {
      type: 'http',
      url: 'http://127.0.0.1:9/never-called',
      output: { type: 'object', required: ['body'], properties: { body: { type: 'object', required: ['amount'], properties: { amount: { type: 'number' } } } } },
    },
    total: { type: 'transform', needs: ['price'], value: '{% $steps.price.output.body.amount * $input.qty %}' },
  },
};

describe('trellis test', () => {
  it('runs a file without saving it, mocks from a file or inline, following it to its output', async () => {
    const file = await writeJson('quote.json', quoteSpec);
    const mocks = await writeJson('quote-mocks.json', { price: { status: 200, headers: {}, body: { amount: 7 } } });
    const fromFile = await cli('test', file, '--input', '{"qty": 3}', '--mocks', mocks);
    expect(fromFile.err).toEqual([]);
    expect(fromFile.code).toBe(0);
    expect(fromFile.out).toContain('definition  cli-quote v0');
    expect(fromFile.out).toContainEqual(expect.stringMatching(/STEP_SUCCEEDED +price mocked: nothing was called$/));
    expect(fromFile.out.slice(-3)).toEqual(['status  COMPLETED', 'output:', '21']);

    const inline = await cli('test', file, '--input', 'qty: 2', '--mocks', '{"price": {"status": 200, "body": {"amount": 5}}}', '--json');
    expect(inline.code).toBe(0);
    const lines = jsonLines(inline);
    expect(lines[0].run).toMatchObject({ definition: 'cli-quote', version: 0 });
    expect(lines.slice(1, -1).every((line) => typeof line.event?.seq === 'number')).toBe(true);
    expect(lines.at(-1).run).toMatchObject({ status: 'COMPLETED', output: 10 });
    expect((await ctx.gql(`{ definition(name: "cli-quote") { name } }`)).definition).toBeNull();
  });

  it('refuses a mock its step could not produce, at /mocks/<step>, and a --mocks that is not JSON', async () => {
    const file = await writeJson('quote-bad.json', quoteSpec);
    const bad = await cli('test', file, '--input', '{"qty": 1}', '--mocks', '{"price": {"status": 200, "body": {"amount": "seven"}}}');
    expect(bad.code).toBe(1);
    expect(bad.err[0]).toBe(`error: cli-quote (${file}): invalid mocks`);
    expect(bad.err).toContainEqual(expect.stringMatching(/^ {2}\/mocks\/price\/body\/amount +must be number$/));
    const unparsable = await cli('test', file, '--mocks', '{price: [');
    expect(unparsable.code).toBe(1);
    expect(unparsable.err[0]).toMatch(/^error: --mocks is not valid/);
  });

  it('leaves its runs out of `runs` unless --tests', async () => {
    const file = await writeJson('hidden.json', { name: 'cli-hidden', steps: { one: { type: 'transform', value: 1 } } });
    await cli('apply', file);
    const tested = await cli('test', file);
    expect(tested.code).toBe(0);
    const runId = runIdOf(tested);
    expect((await cli('runs', '--definition', 'cli-hidden')).out).toEqual(['no runs']);
    const listed = await cli('runs', '--definition', 'cli-hidden', '--tests');
    expect(listed.out[1]).toMatch(new RegExp(`^${runId} +cli-hidden v0 +COMPLETED `));
  });
});

describe('trellis events, runs --waiting and --follow lines', () => {
  it('lists the stored events of a run, then attaches to it with --follow --after until it ends', async () => {
    await cli('apply', await writeJson('gate.json', { name: 'cli-gate', steps: { gate: { type: 'wait', signal: 'go' }, after: { type: 'transform', needs: ['gate'], value: 'done' } } }));
    const runId = runIdOf(await cli('run', 'cli-gate'));
    await until('the gate waits', async () => (await stepStatus(runId, 'gate')) === 'WAITING');

    const stored = await cli('events', runId);
    expect(stored.code).toBe(0);
    expect(stored.out.map((line) => line.replace(/^ {2}#(\d+) +\S+ (\S+) *(\S*).*$/, '$1 $2 $3'))).toEqual(['1 RUN_STARTED ', '2 STEP_STARTED gate']);
    const waiting = await cli('runs', '--waiting', '--definition', 'cli-gate', '--json');
    expect(jsonLines(waiting)[0].runs.map((run: { id: string }) => run.id)).toEqual([runId]);

    const attached = cli('events', runId, '--follow', '--after', '2');
    await cli('signal', runId, 'go');
    const followed = await attached;
    expect(followed.err).toEqual([]);
    expect(followed.code).toBe(0);
    const types = followed.out.flatMap((line) => /^ {2}#(\d+) +\S+ (\S+)/.exec(line)?.slice(1, 3).join(' ') ?? []);
    expect(types[0]).toBe('3 SIGNAL_RECEIVED');
    expect(types.at(-1)).toMatch(/^\d+ RUN_COMPLETED$/);
    expect(followed.out).toContain('status  COMPLETED');

    // A finished run: the stored events after --after, and how it ended, without waiting.
    const finished = await cli('events', runId, '--follow', '--after', '99', '--json');
    expect(jsonLines(finished)).toEqual([{ run: expect.objectContaining({ id: runId, status: 'COMPLETED' }) }]);
    const listed = jsonLines(await cli('events', runId, '--json'))[0].events;
    expect(listed.map((e: { seq: number }) => e.seq)).toEqual(listed.map((_: unknown, i: number) => i + 1));
    expect(listed.at(-1)).toMatchObject({ type: 'RUN_COMPLETED', output: { after: 'done' } });
    expect((await cli('events', '00000000-0000-4000-8000-000000000000')).err[0]).toMatch(/^error: run "00000000-0000-4000-8000-000000000000" not found/);
  });

  it('gives each failed attempt its cause, and says which attempt once', async () => {
    stub.on('POST /cli/conflict', { status: 503, body: { error: 'busy' } });
    await cli('apply', await writeJson('ping.json', { name: 'cli-ping', steps: { ping: { type: 'http', method: 'POST', url: `${stub.url}/cli/conflict`, retry: { maxAttempts: 2, initialInterval: '10ms' } } } }));
    const run = await cli('run', 'cli-ping', '--follow');
    expect(run.code).toBe(1);
    const failures = run.out.filter((line) => / STEP_FAILED +ping /.test(line)).map((line) => line.replace(/^.* STEP_FAILED +ping /, ''));
    expect(failures).toEqual([
      expect.stringMatching(/^attempt 1 of 2 failed; retrying in \d+ ms: POST http:\/\/127\.0\.0\.1:\d+\/cli\/conflict answered 503 Service Unavailable/),
      expect.stringMatching(/^attempt 2 of 2 failed for good: POST http:\/\/127\.0\.0\.1:\d+\/cli\/conflict answered 503 Service Unavailable/),
    ]);
    expect(run.out.join('\n')).not.toMatch(/attempt \d+ attempt/);
  });
});

describe('trellis definitions', () => {
  it('lists definitions in name order, searches them, and lists the versions of one', async () => {
    await cli('apply', await writeJson('alpha.json', { name: 'cli-defs-alpha', description: 'first of two', steps: { a: { type: 'transform', value: 1 } } }));
    await cli('apply', await writeJson('alpha2.json', { name: 'cli-defs-alpha', description: 'first, again', steps: { a: { type: 'transform', value: 2 } } }));
    await cli('apply', await writeJson('beta.json', { name: 'cli-defs-beta', description: 'second', steps: { b: { type: 'transform', value: 1 } } }));

    const found = await cli('definitions', '--search', 'CLI-DEFS');
    expect(found.code).toBe(0);
    expect(found.out[0]).toMatch(/^NAME +LATEST +UPDATED +DESCRIPTION$/);
    expect(found.out.slice(1).map((line) => line.split(/ {2,}/).filter((cell, i) => i !== 2))).toEqual([
      ['cli-defs-alpha', 'v2', 'first, again'],
      ['cli-defs-beta', 'v1', 'second'],
    ]);
    expect((await cli('definitions', '--search', 'no such text')).out).toEqual(['no definitions match "no such text"']);

    const versions = await cli('definitions', '--versions', 'cli-defs-alpha');
    expect(versions.out[0]).toMatch(/^VERSION +CONTENT HASH +SAVED$/);
    expect(versions.out.slice(1).map((line) => line.split(/ +/)[0])).toEqual(['v2', 'v1']);
    const json = jsonLines(await cli('definitions', '--search', 'cli-defs-b', '--json'));
    expect(json).toEqual([{ definitions: [expect.objectContaining({ name: 'cli-defs-beta', latestVersion: 1, archived: false })], nextCursor: null }]);
    const missing = await cli('definitions', '--versions', 'cli-defs-nope');
    expect(missing.code).toBe(1);
    expect(missing.err[0]).toBe('error: definition "cli-defs-nope" not found');
  });
});

describe('trellis vars', () => {
  it('sets values as JSON or text, lists and deletes them; runs read them with $var', async () => {
    expect((await cli('vars', 'set', 'CLI_URL', `${stub.url}/cli`)).out).toEqual([`CLI_URL = "${stub.url}/cli"; runs started from now on read it (runs in flight keep theirs)`]);
    await cli('vars', 'set', 'CLI_LIMITS', '{"max": 3}');
    await cli('vars', 'set', 'CLI_CODE', '007', '--string');
    const listed = await cli('vars', 'list');
    expect(listed.out[0]).toMatch(/^NAME +VALUE +UPDATED$/);
    expect(listed.out.slice(1).map((line) => line.split(/ {2,}/).slice(0, 2))).toEqual([
      ['CLI_CODE', '"007"'],
      ['CLI_LIMITS', '{"max":3}'],
      ['CLI_URL', JSON.stringify(`${stub.url}/cli`)],
    ]);
    expect(jsonLines(await cli('vars', 'list', '--json'))[0].variables.map((v: { name: string; value: unknown }) => [v.name, v.value])).toEqual([
      ['CLI_CODE', '007'],
      ['CLI_LIMITS', { max: 3 }],
      ['CLI_URL', `${stub.url}/cli`],
    ]);

    stub.on('GET /cli/limits', (request) => ({ body: { asked: request.url } }));
    await cli('apply', await writeJson('vars.json', { name: 'cli-vars', steps: { call: { type: 'http', url: "{% $var('CLI_URL') %}/limits?max={% $var('CLI_LIMITS').max %}" } }, output: '{% $steps.call.output.body %}' }));
    const run = await cli('run', 'cli-vars', '--follow', '--json');
    expect(run.code).toBe(0);
    expect(jsonLines(run).at(-1).run.output).toEqual({ asked: '/cli/limits?max=3' });

    expect((await cli('vars', 'delete', 'CLI_URL')).out).toEqual(['deleted CLI_URL']);
    expect((await cli('vars', 'delete', 'CLI_URL')).out).toEqual(['no variable CLI_URL']);
    const refused = await cli('run', 'cli-vars');
    expect(refused.code).toBe(1);
    expect(refused.err).toContainEqual(expect.stringMatching(/^ {2}\/steps\/call\/url +reads \$var\("CLI_URL"\), which is not set/));
    const badName = await cli('vars', 'set', 'cli-url', 'x');
    expect(badName.code).toBe(1);
    expect(badName.err).toContainEqual(expect.stringMatching(/^ {2}\/name +use a letter/));
    expect((await cli('vars', 'set', 'ONLY_NAME')).err).toEqual(['error: usage: trellis vars set <name> <value>']);
  });
});

describe('--json', () => {
  it('prints one JSON document for validate, apply, run, status, runs, cancel and retry, and errors as JSON on stderr', async () => {
    const file = await writeJson('json.json', { name: 'cli-json', steps: { nap: { type: 'delay', duration: '1h' } } });
    expect(jsonLines(await cli('validate', file, '--json'))).toEqual([{ valid: true, errors: [] }]);
    const invalid = await cli('validate', await writeJson('json-bad.json', { name: 'cli-json', steps: { a: { type: 'transform', value: 1, needs: ['ghost'] } } }), '--json');
    expect(invalid.code).toBe(1);
    expect(jsonLines(invalid)[0]).toMatchObject({ valid: false, errors: [{ path: '/steps/a/needs/0' }] });
    expect(jsonLines(await cli('apply', file, '--json'))).toEqual([{ name: 'cli-json', version: 1, contentHash: expect.stringMatching(/^[0-9a-f]{64}$/) }]);

    const [started] = jsonLines(await cli('run', 'cli-json', '--json'));
    expect(started).toMatchObject({ id: expect.any(String), definition: 'cli-json', version: 1, status: 'RUNNING' });
    const [status] = jsonLines(await cli('status', started.id, '--json'));
    expect(status).toMatchObject({ id: started.id, status: 'RUNNING', steps: [expect.objectContaining({ id: 'nap' })] });
    const [runs] = jsonLines(await cli('runs', '--definition', 'cli-json', '--json'));
    expect(runs).toEqual({ runs: [expect.objectContaining({ id: started.id, status: 'RUNNING' })], nextCursor: null });
    expect(jsonLines(await cli('cancel', started.id, '--json'))).toEqual([{ id: started.id, status: 'RUNNING' }]);
    await until('the run is cancelled', async () => jsonLines(await cli('status', started.id, '--json'))[0].status === 'CANCELLED');

    // Cancelling again, or retrying a run with nothing to retry, is refused; the error is JSON too.
    const again = await cli('cancel', started.id, '--json');
    expect(again).toMatchObject({ code: 1, out: [] });
    expect(JSON.parse(again.err[0]!)).toEqual({ error: { message: expect.stringMatching(new RegExp(`^run ${started.id} is already CANCELLED \\(cancelled by api`)), code: 'CONFLICT', errors: [] } });
    const [retry] = jsonLines(await cli('retry', started.id, '--dry-run', '--json'));
    expect(retry).toMatchObject({ status: 'PLANNED', retryOf: started.id, retryPlan: { rerun: ['nap'] } });
    const usage = await cli('runs', '--first', 'many', '--json');
    expect(JSON.parse(usage.err[0]!)).toEqual({ error: { message: '--first must be a whole number from 1 to 1000, not "many"', code: null, errors: [] } });
  });

  it('answers CONFLICT when retrying a COMPLETED run without --from', async () => {
    await cli('apply', await writeJson('done.json', {
      name: 'cli-done',
      steps: {
        check: { type: 'condition', if: '{% true %}', then: ['ship'], else: ['hold'] },
        ship: { type: 'transform', needs: ['check'], value: 1 },
        hold: { type: 'transform', needs: ['check'], value: 2 },
        summary: { type: 'transform', needs: ['ship', 'hold'], join: 'any', value: 3 },
      },
    }));
    const run = await cli('run', 'cli-done', '--follow');
    expect(run.code).toBe(0);
    const retried = await cli('retry', runIdOf(run));
    expect(retried.code).toBe(1);
    expect(retried.err[0]).toMatch(/^error: run \S+ is COMPLETED and it completed: nothing to retry \(pass fromStep to run again from a step\)$/);
  });
});
