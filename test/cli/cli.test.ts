import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../../src/cli/main';
import { createTestContext, type TestContext } from '../support/test-context';

let ctx: TestContext;
let dir: string;

beforeAll(async () => {
  [ctx, dir] = await Promise.all([createTestContext(), fs.mkdtemp(path.join(os.tmpdir(), 'trellis-cli-'))]);
});

afterAll(async () => {
  await Promise.all([ctx?.stop(), dir && fs.rm(dir, { recursive: true, force: true })]);
});

type CliResult = { code: number; out: string[]; err: string[] };

/** Runs the CLI in-process against this file's API, unless argv names its own --url. */
async function cli(...argv: string[]): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const args = argv.includes('--url') ? argv : [...argv, '--url', ctx.graphqlUrl];
  const code = await runCli(args, { out: (line) => out.push(line), err: (line) => err.push(line) });
  return { code, out, err };
}

async function writeJson(name: string, value: unknown): Promise<string> {
  const file = path.join(dir, name);
  await fs.writeFile(file, JSON.stringify(value, null, 2));
  return file;
}

const greetingSpec = {
  name: 'cli-greeting',
  input: { type: 'object', required: ['who'], properties: { who: { type: 'string' } } },
  output: '{% $steps.greet.output %}',
  steps: {
    pause: { type: 'delay', duration: '1s' },
    greet: { type: 'transform', needs: ['pause'], value: '{% "hello " & $input.who %}' },
  },
};

const EVENT_LINE = /^ {2}#(\d+) +\d\d:\d\d:\d\d\.\d{3} (\S+) *(\S*)/;

describe('the trellis CLI', () => {
  it('applies a definition, then runs it with --follow printing every event in seq order and exits 0', async () => {
    const file = await writeJson('greeting.json', greetingSpec);
    const applied = await cli('apply', file);
    expect(applied).toMatchObject({ code: 0, err: [] });
    expect(applied.out).toEqual([expect.stringMatching(/^cli-greeting v1 \([0-9a-f]{12}\)$/)]);

    const run = await cli('run', 'cli-greeting', '--input', '{"who":"Ada"}', '--follow');
    expect(run.err).toEqual([]);
    expect(run.code).toBe(0);
    expect(run.out[0]).toMatch(/^run +[0-9a-f-]{36}$/);
    expect(run.out).toContain('status      RUNNING');
    expect(run.out).toContainEqual(expect.stringMatching(/^temporal +http:\/\/temporal-ui\.test\/namespaces\/default\/workflows\//));

    const events = run.out.flatMap((line) => {
      const match = EVENT_LINE.exec(line);
      return match ? [{ seq: Number(match[1]), type: match[2]!, stepId: match[3]! }] : [];
    });
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.map((e) => (e.stepId ? `${e.type}:${e.stepId}` : e.type))).toEqual([
      'RUN_STARTED',
      'STEP_STARTED:pause',
      'STEP_SUCCEEDED:pause',
      'STEP_STARTED:greet',
      'STEP_SUCCEEDED:greet',
      'RUN_COMPLETED',
    ]);
    expect(run.out.slice(-3)).toEqual(['status  COMPLETED', 'output:', '"hello Ada"']);
  });

  it('shows a finished run with status: its status, a steps table and its output', async () => {
    const started = await cli('run', 'cli-greeting', '--input', '{"who":"Bo"}', '--follow');
    const runId = /^run +(\S+)$/.exec(started.out[0]!)![1]!;

    const status = await cli('status', runId);
    expect(status).toMatchObject({ code: 0, err: [] });
    expect(status.out).toContain('status      COMPLETED');
    expect(status.out).toEqual(expect.arrayContaining([
      'STEP   TYPE       STATUS     ATTEMPTS',
      'pause  delay      SUCCEEDED  1',
      'greet  transform  SUCCEEDED  1',
    ]));
    expect(status.out.slice(-2)).toEqual(['output:', '"hello Bo"']);
  });

  it('exits 1 after --follow when the run does not complete, printing the failed step\'s error', async () => {
    await cli('apply', await writeJson('failing.json', { name: 'cli-failing', steps: { boom: { type: 'transform', value: '{% $error("boom") %}' } } }));
    const run = await cli('run', 'cli-failing', '--follow');
    expect(run.code).toBe(1);
    expect(run.out).toContainEqual(expect.stringMatching(/^ {2}#\d+ +\S+ STEP_FAILED +boom .*boom/));
    expect(run.out).toContain('status  FAILED');
    expect(run.out).toContain('error:');
  });

  it('cancels a running run', async () => {
    await cli('apply', await writeJson('sleepy.json', { name: 'cli-sleepy', steps: { nap: { type: 'delay', duration: '1h' } } }));
    const started = await cli('run', 'cli-sleepy');
    expect(started.code).toBe(0);
    const runId = /^run +(\S+)$/.exec(started.out[0]!)![1]!;

    const cancelled = await cli('cancel', runId);
    expect(cancelled).toMatchObject({ code: 0, err: [] });
    expect(cancelled.out[0]).toMatch(new RegExp(`^cancel requested for run ${runId} `));
    const { temporal } = (await ctx.gql(`query($id: ID!) { run(id: $id) { temporal { workflowId } } }`, { id: runId })).run;
    await ctx.trellis.client.workflow.getHandle(temporal.workflowId).result().catch(() => undefined);
    expect((await cli('status', runId)).out).toContain('status      CANCELLED');
  });

  it('signals a waiting run, whose wait step takes the payload', async () => {
    await cli('apply', await writeJson('approval.json', { name: 'cli-approval', steps: { review: { type: 'wait', signal: 'approval' } } }));
    const runId = /^run +(\S+)$/.exec((await cli('run', 'cli-approval')).out[0]!)![1]!;
    const { temporal } = (await ctx.gql(`query($id: ID!) { run(id: $id) { temporal { workflowId } } }`, { id: runId })).run;

    const wrong = await cli('signal', runId, 'aproval');
    expect(wrong.code).toBe(1);
    expect(wrong.err.join('\n')).toContain('it waits for "approval"');
    const sent = await cli('signal', runId, 'approval', '--payload', '{"approved": true}');
    expect(sent).toMatchObject({ code: 0, err: [] });
    expect(sent.out[0]).toBe(`signal "approval" sent to run ${runId}; \`trellis status ${runId}\` shows where it is`);
    await ctx.trellis.client.workflow.getHandle(temporal.workflowId).result();
    const { run } = await ctx.gql(`query($id: ID!) { run(id: $id) { status steps { output } } }`, { id: runId });
    expect(run).toEqual({ status: 'COMPLETED', steps: [{ output: { approved: true } }] });
  });

  it('retries a failed run: --dry-run prints the plan; --follow starts the retry, which reuses what succeeded', async () => {
    await cli('apply', await writeJson('retry.json', {
      name: 'cli-retry',
      steps: {
        first: { type: 'transform', value: 'kept' },
        flaky: { type: 'transform', needs: ['first'], value: '{% $input.ok ? "fine" : $error("not yet") %}' },
      },
    }));
    const failedRun = await cli('run', 'cli-retry', '--input', '{"ok": false}', '--follow');
    expect(failedRun.code).toBe(1);
    const runId = /^run +(\S+)$/.exec(failedRun.out[0]!)![1]!;

    const plan = await cli('retry', runId, '--dry-run');
    expect(plan).toMatchObject({ code: 0, err: [] });
    expect(plan.out).toEqual(['dry run: nothing was started', `retry of    ${runId}`, 'definition  cli-retry v1', 'reuses      first', 'runs again  flaky']);

    const fromFirst = await cli('retry', runId, '--from', 'first', '--dry-run');
    expect(fromFirst.out).toContain('runs again  first, flaky');
    const unknown = await cli('retry', runId, '--from', 'nope');
    expect(unknown.code).toBe(1);
    expect(unknown.err.join('\n')).toContain('no step "nope"');

    // The input is the same, so the retry fails the same way; what succeeded is not run again.
    const retried = await cli('retry', runId, '--follow');
    expect(retried.code).toBe(1);
    expect(retried.out[0]).toMatch(/^run +[0-9a-f-]{36}$/);
    expect(retried.out).toContain(`retry of    ${runId}`);
    expect(retried.out).toContainEqual(expect.stringMatching(new RegExp(`STEP_SUCCEEDED +first +reused the output of run ${runId}`)));
    expect(retried.out.filter((line) => / STEP_STARTED +first/.test(line))).toEqual([]);
  });

  describe('runs', () => {
    const RUN_ROW = /^([0-9a-f-]{36}) +(\S+ v\d+) +(\S+) +(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) +(\S.*)$/;
    // Started oldest first: COMPLETED (v1), FAILED (v1), COMPLETED (v1), RUNNING (v2).
    const started: Array<{ id: string; status: string }> = [];

    /** The rows of a `runs` table, and its `more:` line if any. */
    function parseRuns(result: CliResult) {
      expect(result).toMatchObject({ code: 0, err: [] });
      expect(result.out[0]).toMatch(/^RUN +DEFINITION +STATUS +STARTED +DURATION$/);
      const more = result.out.at(-1)!.startsWith('more: ') ? result.out.at(-1)!.slice('more: '.length) : undefined;
      const rows = result.out.slice(1, more === undefined ? undefined : -1).map((line) => {
        const match = RUN_ROW.exec(line);
        expect(match).not.toBeNull();
        return { id: match![1]!, definition: match![2]!, status: match![3]!, duration: match![5]! };
      });
      return { rows, more };
    }

    async function startRun(...argv: string[]): Promise<string> {
      const result = await cli('run', 'cli-listed', ...argv);
      return /^run +(\S+)$/.exec(result.out[0]!)![1]!;
    }

    beforeAll(async () => {
      const listed = { name: 'cli-listed', steps: { check: { type: 'transform', value: '{% $input.fail ? $error("no") : "ok" %}' } } };
      await cli('apply', await writeJson('listed.json', listed));
      for (const fail of [false, true, false]) {
        const id = await startRun('--input', JSON.stringify({ fail }), '--follow');
        started.push({ id, status: fail ? 'FAILED' : 'COMPLETED' });
      }
      await cli('apply', await writeJson('listed-v2.json', { name: 'cli-listed', steps: { nap: { type: 'delay', duration: '1h' } } }));
      started.push({ id: await startRun(), status: 'RUNNING' });
    });

    afterAll(async () => {
      const sleeping = started.at(-1);
      if (!sleeping) return;
      await cli('cancel', sleeping.id);
      const { temporal } = (await ctx.gql(`query($id: ID!) { run(id: $id) { temporal { workflowId } } }`, { id: sleeping.id })).run;
      await ctx.trellis.client.workflow.getHandle(temporal.workflowId).result().catch(() => undefined);
    });

    it('lists the runs of a definition newest first, with version, status, start and duration', async () => {
      const { rows, more } = parseRuns(await cli('runs', '--definition', 'cli-listed'));
      expect(more).toBeUndefined();
      expect(rows.map((r) => [r.id, r.status])).toEqual([...started].reverse().map((r) => [r.id, r.status]));
      expect(rows.map((r) => r.definition)).toEqual(['cli-listed v2', 'cli-listed v1', 'cli-listed v1', 'cli-listed v1']);
      expect(rows[0]!.duration).toBe('running');
      for (const row of rows.slice(1)) expect(row.duration).toMatch(/^\d+(ms|\.\ds)$/);
    });

    it('filters by --status, comma-separated and in any case', async () => {
      const failed = parseRuns(await cli('runs', '--definition', 'cli-listed', '--status', 'failed'));
      expect(failed.rows.map((r) => r.id)).toEqual([started[1]!.id]);

      const finished = parseRuns(await cli('runs', '--definition', 'cli-listed', '--status', 'COMPLETED,failed'));
      expect(finished.rows.map((r) => r.id)).toEqual([started[2]!.id, started[1]!.id, started[0]!.id]);
    });

    it('prints a `more:` line, with the same filters, that prints the next page', async () => {
      const first = parseRuns(await cli('runs', '--definition', 'cli-listed', '--status', 'completed,Failed', '--first', '2'));
      expect(first.rows.map((r) => r.id)).toEqual([started[2]!.id, started[1]!.id]);
      expect(first.more).toMatch(/^trellis runs --definition cli-listed --status COMPLETED,FAILED --first 2 --after \S+ --url \S+$/);

      const [program, ...argv] = first.more!.split(' ');
      expect(program).toBe('trellis');
      const second = parseRuns(await cli(...argv));
      expect(second).toEqual({ rows: [expect.objectContaining({ id: started[0]!.id, status: 'COMPLETED' })], more: undefined });
    });

    it('says so when there are no runs, and when the definition does not exist', async () => {
      expect(await cli('runs', '--definition', 'cli-listed', '--status', 'timed_out')).toEqual({ code: 0, out: ['no runs'], err: [] });
      expect(await cli('runs', '--definition', 'cli-ghost')).toEqual({ code: 1, out: [], err: ['error: definition "cli-ghost" not found'] });
    });

    it('exits 1 naming a --status that is not a run status, or a --first out of range', async () => {
      const status = await cli('runs', '--status', 'completed,done');
      expect(status).toMatchObject({ code: 1, out: [] });
      expect(status.err).toEqual([expect.stringMatching(/^error: --status: "done" is not a run status; use one or more of RUNNING, COMPLETED, /)]);

      for (const first of ['0', '1001', '2.5', 'ten']) {
        expect(await cli('runs', '--first', first)).toEqual({ code: 1, out: [], err: [`error: --first must be a whole number from 1 to 1000, not "${first}"`] });
      }
    });
  });

  it('validates a definition: valid prints a check mark, invalid prints each error at its JSON pointer and exits 1', async () => {
    const valid = await cli('validate', await writeJson('valid.json', greetingSpec));
    expect(valid).toEqual({ code: 0, out: ['✓ cli-greeting is valid'], err: [] });

    const broken = await writeJson('broken.json', {
      name: 'cli-broken',
      steps: {
        a: { type: 'transform', needs: ['ghost'], value: 1 },
        b: { type: 'delay', duration: 'soon' },
      },
    });
    const invalid = await cli('validate', broken);
    expect(invalid.code).toBe(1);
    expect(invalid.out[0]).toMatch(/^✗ cli-broken is not valid \(\d+ errors?\):$/);
    expect(invalid.out).toContainEqual(expect.stringMatching(/^ {2}\/steps\/a\/needs\/0 +\S/));
    expect(invalid.out).toContainEqual(expect.stringMatching(/^ {2}\/steps\/b\/duration +\S/));
  });

  it('refuses to apply an invalid definition, listing each error with its path, and exits 1', async () => {
    const broken = await writeJson('broken-apply.json', { name: 'cli-broken', steps: { b: { type: 'delay', duration: 'soon' } } });
    const applied = await cli('apply', broken);
    expect(applied.code).toBe(1);
    expect(applied.out).toEqual([]);
    expect(applied.err[0]).toBe(`error: cli-broken (${broken}): invalid definition`);
    expect(applied.err).toContainEqual(expect.stringMatching(/^ {2}\/steps\/b\/duration +\S/));
  });

  it('names --input and the parse error when the input is not JSON, without starting a run', async () => {
    const result = await cli('run', 'cli-greeting', '--input', '{"who":');
    expect(result.code).toBe(1);
    expect(result.out).toEqual([]);
    expect(result.err).toEqual([expect.stringMatching(/^error: --input is not valid JSON: line 1, column 8: .+/)]);
  });

  it('lists the input schema violations of a run at their JSON pointers and exits 1', async () => {
    const result = await cli('run', 'cli-greeting', '--input', '{}');
    expect(result.code).toBe(1);
    expect(result.err[0]).toBe('error: input does not match the input schema of "cli-greeting" v1');
    expect(result.err).toContain('  /input/who  is required');
  });

  describe('YAML files', () => {
    const greetingYaml = [
      'name: cli-yaml-greeting',
      'input: { type: object, required: [who], properties: { who: { type: string } } }',
      'output: "{% $steps.greet.output %}"',
      'steps:',
      '  greet:',
      '    type: transform',
      '    value: "{% \'hello \' & $input.who %}"',
      '',
    ].join('\n');

    async function writeText(name: string, text: string): Promise<string> {
      const file = path.join(dir, name);
      await fs.writeFile(file, text);
      return file;
    }

    it('validates and applies a .yaml definition, and the same document as .json keeps its version', async () => {
      const yamlFile = await writeText('greeting.yaml', greetingYaml);
      expect(await cli('validate', yamlFile)).toEqual({ code: 0, out: ['✓ cli-yaml-greeting is valid'], err: [] });

      const applied = await cli('apply', yamlFile);
      expect(applied).toMatchObject({ code: 0, err: [] });
      expect(applied.out).toEqual([expect.stringMatching(/^cli-yaml-greeting v1 \([0-9a-f]{12}\)$/)]);
      const asJson = await cli('apply', await writeJson('greeting-yaml.json', {
        name: 'cli-yaml-greeting',
        input: { type: 'object', required: ['who'], properties: { who: { type: 'string' } } },
        output: '{% $steps.greet.output %}',
        steps: { greet: { type: 'transform', value: "{% 'hello ' & $input.who %}" } },
      }));
      expect(asJson).toEqual({ code: 0, out: applied.out, err: [] });
    });

    it('reads a .yml definition and lists its definition errors at their JSON pointers', async () => {
      const file = await writeText('broken.yml', 'name: cli-yaml-broken\nsteps:\n  a: { type: transform, needs: [ghost], value: 1 }\n');
      const result = await cli('validate', file);
      expect(result.code).toBe(1);
      expect(result.out).toEqual(['✗ cli-yaml-broken is not valid (1 error):', '  /steps/a/needs/0  needs "ghost", which is not a step']);
    });

    it('takes the run input as YAML, from --input and from a .yaml --input-file', async () => {
      await cli('apply', await writeText('greeting-input.yaml', greetingYaml));
      const inline = await cli('run', 'cli-yaml-greeting', '--input', 'who: Ada', '--follow');
      expect(inline.code).toBe(0);
      expect(inline.out.slice(-2)).toEqual(['output:', '"hello Ada"']);

      const fromFile = await cli('run', 'cli-yaml-greeting', '--input-file', await writeText('input.yaml', '# the caller\nwho: Bo\n'), '--follow');
      expect(fromFile.code).toBe(0);
      expect(fromFile.out.slice(-2)).toEqual(['output:', '"hello Bo"']);
    });

    it('names the file, line and column of a YAML syntax error and shows the line, for validate and apply', async () => {
      const file = await writeText('syntax.yaml', 'name: cli-yaml-syntax\nsteps:\n  a: type: transform\n');
      for (const command of ['validate', 'apply']) {
        expect(await cli(command, file)).toEqual({
          code: 1,
          out: [],
          err: [
            `error: definition file ${file} is not valid YAML: line 3, column 6: Nested mappings are not allowed in compact mappings\n` +
              '      a: type: transform\n' +
              '         ^',
          ],
        });
      }
    });

    it('keeps JSON\'s own message, located, for a .json file that is not JSON', async () => {
      const file = await writeText('trailing-comma.json', '{\n  "name": "cli-json",\n}\n');
      expect(await cli('validate', file)).toEqual({
        code: 1,
        out: [],
        err: [`error: definition file ${file} is not valid JSON: line 3, column 1: Expected double-quoted property name\n    }\n    ^`],
      });
    });
  });

  it('exits 2 with a hint when the API cannot be reached', async () => {
    const result = await cli('status', '00000000-0000-4000-8000-000000000000', '--url', 'http://127.0.0.1:1/graphql');
    expect(result.code).toBe(2);
    expect(result.err).toEqual([expect.stringContaining('cannot reach the Trellis API at http://127.0.0.1:1/graphql: is `npm start` running?')]);
  });

  it('prints the usage for --help, and a command\'s own options for `help run`, exiting 0', async () => {
    const all = await cli('--help');
    expect(all).toMatchObject({ code: 0, err: [] });
    expect(all.out.join('\n')).toMatch(/^Usage: trellis <command> \[options\]/);
    for (const command of ['validate <file>', 'apply <file>', 'run <definition>', 'runs', 'status <runId>', 'cancel <runId>', 'retry <runId>', 'signal <runId> <signal>']) {
      expect(all.out.join('\n')).toContain(`  ${command} `);
    }
    const run = await cli('help', 'run');
    expect(run.out.join('\n')).toMatch(/^Usage: trellis run <definition> \[options\][\s\S]*--follow/);
  });
});
