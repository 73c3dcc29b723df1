import { graphql } from '../support/graphql-client';
import { HttpStub } from '../support/http-stub';
import { finished, getRun, save, stepOf, type StartedRun } from '../support/runs';
import { createTestContext, type TestContext } from '../support/test-context';
import { until } from '../support/until';

let ctx: TestContext;
let stub: HttpStub;

beforeAll(async () => {
  [ctx, stub] = await Promise.all([createTestContext(), new HttpStub().start()]);
});

afterAll(async () => {
  await Promise.all([ctx?.stop(), stub?.stop()]);
});

async function setVariable(name: string, value: unknown): Promise<void> {
  await ctx.gql(`mutation($name: String!, $value: JSON!) { setVariable(name: $name, value: $value) }`, { name, value });
}

async function start(definition: string, input: unknown = {}): Promise<StartedRun> {
  const { startRun } = await ctx.gql<{ startRun: StartedRun }>(
    `mutation($definition: String!, $input: JSON) { startRun(definition: $definition, input: $input) { id temporal { workflowId } } }`,
    { definition, input },
  );
  return startRun;
}

async function variablesOf(runId: string): Promise<unknown> {
  return (await ctx.gql<{ run: { variables: unknown } }>(`query($id: ID!) { run(id: $id) { variables } }`, { id: runId })).run.variables;
}

async function waitingOn(run: StartedRun, step: string): Promise<void> {
  await until(`step ${step} of run ${run.id} waits`, async () => (await getRun(ctx, run.id)).steps.find((s) => s.id === step)?.status === 'WAITING');
}

async function signal(run: StartedRun, name: string): Promise<void> {
  await ctx.gql(`mutation($id: ID!, $signal: String!) { signalRun(id: $id, signal: $signal) { id } }`, { id: run.id, signal: name });
}

describe('$var()', () => {
  it('reads the values pinned when the run started, in the workflow and in activities; a later change affects only later runs', async () => {
    await ctx.gql(`mutation { setSecret(name: "VARS_TOKEN", value: "tok-5e1f9a") }`);
    await setVariable('SERVICE', stub.url);
    await setVariable('ENV', 'staging');
    await setVariable('LIMITS', { max: 2, regions: ['eu', 'us'] });
    stub.on('POST /ping', (request) => ({ status: 200, body: { env: request.headers['x-env'], sent: request.body } }));
    stub.on('POST /undo', { status: 204 });
    await save(ctx, {
      name: 'pinned-vars',
      steps: {
        gate: { type: 'wait', signal: 'go' },
        shape: { type: 'transform', needs: ['gate'], if: "{% $var('LIMITS').max > 1 %}", value: { env: "{% $var('ENV') %}", max: "{% $var('LIMITS').max %}" } },
        ping: {
          type: 'http',
          needs: ['gate'],
          method: 'POST',
          url: "{% $var('SERVICE') %}/ping",
          // Read by the activity: the same string reads a secret.
          headers: { 'x-env': "{% $var('ENV') & ':' & $secret('VARS_TOKEN') %}" },
          body: { env: "{% $var('ENV') %}" },
        },
        each: {
          type: 'map',
          needs: ['gate'],
          items: "{% $var('LIMITS').regions %}",
          do: { steps: { tag: { type: 'transform', value: "{% $item & '-' & $var('ENV') %}" } }, output: '{% $steps.tag.output %}' },
        },
      },
    });

    const first = await start('pinned-vars');
    await waitingOn(first, 'gate');
    await setVariable('ENV', 'production');
    const second = await start('pinned-vars');
    await waitingOn(second, 'gate');
    await Promise.all([signal(first, 'go'), signal(second, 'go')]);
    const [a, b] = await Promise.all([finished(ctx, first), finished(ctx, second)]);

    expect(a.status).toBe('COMPLETED');
    expect(stepOf(a, 'shape').output).toEqual({ env: 'staging', max: 2 });
    // The echoed secret comes back redacted; the target received it.
    expect(stepOf(a, 'ping').output.body).toEqual({ env: 'staging:[secret VARS_TOKEN]', sent: { env: 'staging' } });
    expect(stepOf(a, 'each').output).toEqual(['eu-staging', 'us-staging']);
    expect(b.status).toBe('COMPLETED');
    expect(stepOf(b, 'shape').output).toEqual({ env: 'production', max: 2 });
    expect(stepOf(b, 'ping').output.body).toEqual({ env: 'production:[secret VARS_TOKEN]', sent: { env: 'production' } });
    expect(stub.received('POST /ping').map((request) => request.headers['x-env']).sort()).toEqual(['production:tok-5e1f9a', 'staging:tok-5e1f9a']);
    expect(stepOf(b, 'each').output).toEqual(['eu-production', 'us-production']);

    expect(await variablesOf(first.id)).toEqual({ ENV: 'staging', LIMITS: { max: 2, regions: ['eu', 'us'] }, SERVICE: stub.url });
    expect(await variablesOf(second.id)).toEqual({ ENV: 'production', LIMITS: { max: 2, regions: ['eu', 'us'] }, SERVICE: stub.url });
  });

  it('gives child runs the values their parent pinned, for the variables only the child reads too', async () => {
    await setVariable('CHILD_GREETING', 'hello');
    await save(ctx, { name: 'vars-child', steps: { greet: { type: 'transform', value: "{% $var('CHILD_GREETING') & ' ' & $input.who %}" } }, output: '{% $steps.greet.output %}' });
    await save(ctx, {
      name: 'vars-parent',
      steps: {
        gate: { type: 'wait', signal: 'go' },
        child: { type: 'workflow', needs: ['gate'], definition: 'vars-child', input: { who: 'Ada' } },
      },
    });
    const parent = await start('vars-parent');
    expect(await variablesOf(parent.id)).toEqual({ CHILD_GREETING: 'hello' });
    await waitingOn(parent, 'gate');
    await setVariable('CHILD_GREETING', 'goodbye');
    await signal(parent, 'go');
    const run = await finished(ctx, parent);
    expect(run.status).toBe('COMPLETED');
    expect(stepOf(run, 'child').output).toBe('hello Ada');
    const { runs } = await ctx.gql(`{ runs(filter: {definition: "vars-child"}) { edges { node { variables trigger } } } }`);
    expect(runs.edges.map((e: any) => e.node)).toEqual([{ variables: { CHILD_GREETING: 'hello' }, trigger: expect.objectContaining({ type: 'workflow', id: parent.id }) }]);
  });

  it('refuses to start a run, or a test run, reading a variable that is not set, pointing at where it is read', async () => {
    await save(ctx, { name: 'vars-sub', steps: { s: { type: 'transform', value: "{% $var('SUB_ONLY') %}" } } });
    const spec = {
      name: 'vars-missing',
      steps: {
        a: { type: 'transform', value: { x: "{% $var('NOT_SET') %}", y: "{% $var('ALSO_NOT_SET') %}" } },
        b: { type: 'http', url: "{% $var('NOT_SET') %}/again" },
        c: { type: 'workflow', definition: 'vars-sub' },
      },
    };
    await save(ctx, spec);
    const startRun = await graphql(ctx.graphqlUrl, `mutation { startRun(definition: "vars-missing") { id } }`);
    expect(startRun.errors?.[0]?.extensions).toEqual({
      code: 'BAD_USER_INPUT',
      errors: [
        { path: '/steps/a/value/y', message: 'reads $var("ALSO_NOT_SET"), which is not set: set it with setVariable (trellis vars set ALSO_NOT_SET <value>)' },
        { path: '/steps/a/value/x', message: 'reads $var("NOT_SET"), which is not set: set it with setVariable (trellis vars set NOT_SET <value>)' },
        { path: '/steps/s/value', message: 'sub-workflow "vars-sub" v1 reads $var("SUB_ONLY"), which is not set: set it with setVariable (trellis vars set SUB_ONLY <value>)' },
      ],
    });
    expect(startRun.errors?.[0]?.message).toMatch(/^"vars-missing" v1 cannot start: it reads variables that are not set: /);
    const testRun = await graphql(ctx.graphqlUrl, `mutation($spec: JSON!) { testRun(spec: $spec) { id } }`, { spec });
    expect(testRun.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', errors: expect.arrayContaining([expect.objectContaining({ path: '/steps/a/value/x' })]) });
    const { runs } = await ctx.gql(`{ runs(filter: {definition: "vars-missing", includeTests: true}) { edges { cursor } } }`);
    expect(runs.edges).toEqual([]);
  });

  it('retries with the values the retried run pinned, not the current ones', async () => {
    await setVariable('RETRY_LABEL', 'before');
    await save(ctx, {
      name: 'vars-retry',
      steps: {
        label: { type: 'transform', value: "{% $var('RETRY_LABEL') %}" },
        check: { type: 'transform', needs: ['label'], value: "{% $input.ok ? $var('RETRY_LABEL') : $error('not yet') %}" },
      },
    });
    const failed = await finished(ctx, await start('vars-retry', { ok: false }));
    expect(failed.status).toBe('FAILED');
    await setVariable('RETRY_LABEL', 'after');
    const { retryRun } = await ctx.gql(`mutation($id: ID!) { retryRun(id: $id, fromStep: "label") { id variables temporal { workflowId } } }`, { id: failed.id });
    expect(retryRun.variables).toEqual({ RETRY_LABEL: 'before' });
    const retried = await finished(ctx, retryRun);
    expect(stepOf(retried, 'label').output).toBe('before');
  });

  it('pins what a test run reads from the current values', async () => {
    await setVariable('TEST_LABEL', 'now');
    const { testRun } = await ctx.gql(`mutation($spec: JSON!) { testRun(spec: $spec) { id variables temporal { workflowId } } }`, {
      spec: { name: 'vars-test', steps: { t: { type: 'transform', value: "{% $var('TEST_LABEL') %}" } } },
    });
    expect(testRun.variables).toEqual({ TEST_LABEL: 'now' });
    expect(stepOf(await finished(ctx, testRun), 't').output).toBe('now');
  });
});
