import { z } from 'zod';
import { defineStepType } from '../../src/step-types/define-step-type';
import { cliFor } from '../support/cli';
import { GraphQLSocket } from '../support/graphql-socket';
import { eventTrail, getRun, runToEnd, startRunOf, stepOf, type AuditEventView } from '../support/runs';
import { createTestContext, type TestContext } from '../support/test-context';
import { until } from '../support/until';

const SECRET = 'sk-live-4b1d0c3e9f';

/** A custom step that logs what it is told to, then succeeds or throws. */
const chatty = defineStepType({
  name: 'chatty-step',
  config: z.object({ lines: z.number().int(), fail: z.boolean().optional(), token: z.string().optional() }),
  async execute(config, step) {
    for (let i = 0; i < config.lines; i++) step.log(i % 2 === 0 ? 'info' : 'warn', `line ${i} of attempt ${step.attempt}`);
    if (config.token !== undefined) step.log('error', `called with token ${config.token}`);
    if (config.fail) throw Object.assign(new Error('chatty failed'), { retryable: false });
    return Promise.resolve({ said: config.lines });
  },
});

let ctx: TestContext;

beforeAll(async () => {
  ctx = await createTestContext({ stepTypes: [chatty], env: { TRELLIS_SECRET_CHATTY_TOKEN: SECRET } });
});

afterAll(async () => {
  await ctx?.stop();
});

const logsOf = (events: AuditEventView[], stepId?: string) => events.filter((event) => event.type === 'LOG' && (stepId === undefined || event.stepId === stepId));

describe('a log step', () => {
  it('writes its templated message at its level as a LOG event just before STEP_SUCCEEDED, and outputs the line', async () => {
    const run = await runToEnd(ctx, {
      name: 'log-step',
      steps: {
        total: { type: 'transform', value: '{% $input.a + $input.b %}' },
        say: { type: 'log', needs: ['total'], level: 'warn', message: 'total is {% $steps.total.output %} for {% $input.who %}' },
        dump: { type: 'log', needs: ['total'], message: { total: '{% $steps.total.output %}', ok: true } },
      },
    }, { a: 2, b: 3, who: 'ana' });
    expect(run.status).toBe('COMPLETED');
    expect(stepOf(run, 'say')).toMatchObject({ type: 'log', status: 'SUCCEEDED', output: { level: 'warn', message: 'total is 5 for ana' } });
    const trail = eventTrail(run);
    expect(trail.indexOf('LOG:say')).toBe(trail.indexOf('STEP_SUCCEEDED:say') - 1);
    expect(logsOf(run.events, 'say')).toEqual([expect.objectContaining({ level: 'warn', attempt: 1, message: 'total is 5 for ana' })]);
    // Not a string once evaluated: logged as JSON, at the default level.
    expect(logsOf(run.events, 'dump')).toEqual([expect.objectContaining({ level: 'info', message: '{"total":5,"ok":true}' })]);
  });

  it('is refused at save time when its message reads a secret, at the JSON pointer of the message', async () => {
    const { validateDefinition } = await ctx.gql<{ validateDefinition: { valid: boolean; errors: Array<{ path: string; message: string }> } }>(
      `query($spec: JSON!) { validateDefinition(spec: $spec) { valid errors { path message } } }`,
      { spec: { name: 'leaky', steps: { say: { type: 'log', message: { token: "{% $secret('CHATTY_TOKEN') %}" } } } } },
    );
    expect(validateDefinition.valid).toBe(false);
    expect(validateDefinition.errors).toEqual([{ path: '/steps/say/message/token', message: expect.stringContaining('$secret cannot be logged') }]);
  });

  it('refuses an unknown level with the allowed ones', async () => {
    const { validateDefinition } = await ctx.gql<{ validateDefinition: { errors: Array<{ path: string; message: string }> } }>(
      `query($spec: JSON!) { validateDefinition(spec: $spec) { errors { path message } } }`,
      { spec: { name: 'loud', steps: { say: { type: 'log', level: 'fatal', message: 'x' } } } },
    );
    expect(validateDefinition.errors).toEqual([{ path: '/steps/say/level', message: 'expected "debug" or "info" or "warn" or "error", got "fatal"' }]);
  });
});

describe('log lines an activity reports', () => {
  it('become LOG events of the attempt that logged them, before its STEP_SUCCEEDED or STEP_FAILED', async () => {
    const run = await runToEnd(ctx, {
      name: 'chatty',
      steps: {
        ok: { type: 'chatty-step', lines: 3 },
        bad: { type: 'chatty-step', needs: ['ok'], lines: 2, fail: true },
      },
    });
    expect(run.status).toBe('FAILED');
    expect(eventTrail(run).filter((entry) => entry.endsWith(':ok'))).toEqual(['STEP_STARTED:ok', 'LOG:ok', 'LOG:ok', 'LOG:ok', 'STEP_SUCCEEDED:ok']);
    expect(logsOf(run.events, 'ok').map((event) => [event.level, event.message, event.attempt])).toEqual([
      ['info', 'line 0 of attempt 1', 1],
      ['warn', 'line 1 of attempt 1', 1],
      ['info', 'line 2 of attempt 1', 1],
    ]);
    expect(eventTrail(run).filter((entry) => entry.endsWith(':bad'))).toEqual(['STEP_STARTED:bad', 'LOG:bad', 'LOG:bad', 'STEP_FAILED:bad']);
    const seqs = run.events.map((event) => event.seq);
    expect(seqs).toEqual(seqs.map((_, index) => index + 1));
  });

  it('are capped per attempt: 100 lines, then one warn line says how many were left out', async () => {
    const run = await runToEnd(ctx, { name: 'very-chatty', steps: { talk: { type: 'chatty-step', lines: 150 } } });
    expect(run.status).toBe('COMPLETED');
    const lines = logsOf(run.events, 'talk');
    expect(lines).toHaveLength(101);
    expect(lines[100]).toMatchObject({ level: 'warn', message: expect.stringMatching(/^50 more log lines left out/) });
  });

  it('never carry a secret the step was given: it is redacted as in outputs and errors', async () => {
    const run = await runToEnd(ctx, { name: 'chatty-secret', steps: { talk: { type: 'chatty-step', lines: 0, token: "{% $secret('CHATTY_TOKEN') %}" } } });
    expect(run.status).toBe('COMPLETED');
    const [line] = logsOf(run.events, 'talk');
    expect(line).toMatchObject({ level: 'error', message: expect.stringContaining('called with token') });
    expect(line!.message).not.toContain(SECRET);
  });
});

describe('reading a run log', () => {
  let runId: string;

  beforeAll(async () => {
    const run = await runToEnd(ctx, {
      name: 'levels',
      steps: {
        a: { type: 'log', level: 'debug', message: 'a debug line' },
        b: { type: 'log', needs: ['a'], level: 'info', message: 'an info line' },
        c: { type: 'log', needs: ['b'], level: 'warn', message: 'a warn line' },
        d: { type: 'log', needs: ['c'], level: 'error', message: 'an error line' },
      },
    });
    expect(run.status).toBe('COMPLETED');
    runId = run.id;
  });

  it('Run.logs lists the lines of a level and above, paged like the other connections', async () => {
    type Page = { run: { logs: { edges: Array<{ cursor: string; node: { stepId: string; level: string } }>; pageInfo: { hasNextPage: boolean; endCursor: string } } } };
    const query = `query($id: ID!, $level: LogLevel, $after: String) { run(id: $id) { logs(level: $level, first: 1, after: $after) { edges { cursor node { stepId level } } pageInfo { hasNextPage endCursor } } } }`;
    const first = await ctx.gql<Page>(query, { id: runId, level: 'warn' });
    expect(first.run.logs.edges.map((edge) => edge.node)).toEqual([{ stepId: 'c', level: 'warn' }]);
    expect(first.run.logs.pageInfo.hasNextPage).toBe(true);
    const second = await ctx.gql<Page>(query, { id: runId, level: 'warn', after: first.run.logs.pageInfo.endCursor });
    expect(second.run.logs.edges.map((edge) => edge.node)).toEqual([{ stepId: 'd', level: 'error' }]);
    expect(second.run.logs.pageInfo.hasNextPage).toBe(false);
    const all = await ctx.gql<Page>(`query($id: ID!) { run(id: $id) { logs(first: 10) { edges { cursor node { stepId level } } pageInfo { hasNextPage endCursor } } } }`, { id: runId });
    expect(all.run.logs.edges.map((edge) => edge.node.level)).toEqual(['debug', 'info', 'warn', 'error']);
  });

  it('Run.events with a level leaves out LOG events below it and keeps every transition', async () => {
    const { run } = await ctx.gql<{ run: { events: { edges: Array<{ node: { type: string; level: string | null } }> } } }>(
      `query($id: ID!) { run(id: $id) { events(first: 100, level: warn) { edges { node { type level } } } } }`,
      { id: runId },
    );
    const events = run.events.edges.map((edge) => edge.node);
    expect(events.filter((event) => event.type === 'LOG').map((event) => event.level)).toEqual(['warn', 'error']);
    expect(events.filter((event) => event.type === 'STEP_SUCCEEDED')).toHaveLength(4);
  });

  it('runEvents with a level delivers LOG events of that level and above and every transition, then completes', async () => {
    const socket = await GraphQLSocket.connect(ctx.graphqlUrl);
    try {
      const id = socket.subscribe(`subscription($id: ID!) { runEvents(runId: $id, level: error) { seq type stepId level } }`, { id: runId });
      await until('the subscription completes', () => socket.about(id).some((message) => message.type === 'complete'));
      const events = socket.about(id).filter((message) => message.type === 'next').map((message) => message.payload.data.runEvents as { type: string; level: string | null; stepId: string | null });
      expect(events.filter((event) => event.type === 'LOG')).toEqual([expect.objectContaining({ stepId: 'd', level: 'error' })]);
      expect(events.filter((event) => event.type === 'STEP_SUCCEEDED')).toHaveLength(4);
      expect(events.at(-1)?.type).toBe('RUN_COMPLETED');
    } finally {
      socket.close();
    }
  });
});

describe('trellis logs', () => {
  it('prints the lines of a level and above, and with --follow the live ones until the run ends', async () => {
    const cli = cliFor(ctx);
    const started = await startRunOf(ctx, {
      name: 'cli-logs',
      steps: {
        before: { type: 'log', level: 'warn', message: 'waiting for {% $input.who %}' },
        quiet: { type: 'log', needs: ['before'], level: 'debug', message: 'not shown at warn' },
        gate: { type: 'wait', needs: ['quiet'], signal: 'go' },
        after: { type: 'log', needs: ['gate'], level: 'error', message: 'line one\nline two' },
      },
    }, { who: 'bo' });
    await until('the run waits', async () => (await getRun(ctx, started.id)).steps.find((step) => step.id === 'gate')?.status === 'WAITING');

    const stored = await cli('logs', started.id, '--level', 'warn');
    expect(stored.code).toBe(0);
    expect(stored.out).toEqual([expect.stringMatching(/^ {2}\d\d:\d\d:\d\d\.\d{3} WARN  before  waiting for bo$/)]);

    const following = cli('logs', started.id, '--level', 'warn', '--follow', '--json');
    await ctx.gql(`mutation($id: ID!) { signalRun(id: $id, signal: "go") { id } }`, { id: started.id });
    const followed = await following;
    expect(followed.code).toBe(0);
    const lines = followed.out.map((line) => JSON.parse(line));
    expect(lines.map((line) => line.log?.message ?? line.run.status)).toEqual(['waiting for bo', 'line one\nline two', 'COMPLETED']);

    expect((await cli('logs', started.id, '--level', 'loud')).err).toEqual(['error: --level must be one of debug, info, warn, error, not "loud"']);
  });
});
