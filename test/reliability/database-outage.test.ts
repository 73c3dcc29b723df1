import { temporal } from '@temporalio/proto';
import { eventTrail, getRun } from '../support/runs';
import { TcpProxy } from '../support/tcp-proxy';
import { createTestContext, type TestContext } from '../support/test-context';
import { until } from '../support/until';

let ctx: TestContext;
let proxy: TcpProxy;

const { EventType } = temporal.api.enums.v1;

beforeAll(async () => {
  const admin = new URL(process.env.TRELLIS_TEST_DATABASE_URL!);
  proxy = await new TcpProxy({ host: admin.hostname, port: Number(admin.port) }).start();
  ctx = await createTestContext({
    rewriteDatabaseUrl: (url) => {
      url.hostname = '127.0.0.1';
      url.port = String(proxy.port);
      return url;
    },
  });
});

afterAll(async () => {
  proxy?.restore();
  await ctx?.stop();
  await proxy?.stop();
});

describe('a PostgreSQL outage', () => {
  it('pauses a run that must record an event and reports itself degraded; the run then resumes and loses nothing', async () => {
    const spec = {
      name: 'outage',
      output: '{% $steps.after.output %}',
      steps: {
        before: { type: 'transform', value: '{% $input.n + 1 %}' },
        pause: { type: 'delay', needs: ['before'], duration: '1s' },
        after: { type: 'transform', needs: ['pause'], value: '{% $steps.before.output * 10 %}' },
      },
    };
    await ctx.gql(`mutation($spec: JSON!) { saveDefinition(spec: $spec) { version } }`, { spec });
    const { startRun } = await ctx.gql(`mutation { startRun(definition: "outage", input: {n: 4}) { id temporal { workflowId } } }`);
    const handle = ctx.trellis.client.workflow.getHandle(startRun.temporal.workflowId);
    const history = async () => (await handle.fetchHistory()).events ?? [];

    await until('the delay has started', async () => (await history()).some((e) => e.eventType === EventType.EVENT_TYPE_TIMER_STARTED));
    proxy.cut();
    // The timer fires during the outage, so the run must record STEP_SUCCEEDED without a database.
    await until('the timer has fired', async () => (await history()).some((e) => e.eventType === EventType.EVENT_TYPE_TIMER_FIRED));
    const refusedAtFire = proxy.refused;
    await until('the audit sink has retried against the cut database', () => proxy.refused >= refusedAtFire + 3);
    expect((await handle.describe()).status.name).toBe('RUNNING');
    const health = await fetch(ctx.graphqlUrl.replace(/\/graphql$/, '/health'));
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ status: 'degraded', database: { status: 'down' }, temporal: { status: 'up' } });

    proxy.restore();
    expect(await handle.result()).toEqual({ status: 'COMPLETED', output: 50 });
    expect((await fetch(ctx.graphqlUrl.replace(/\/graphql$/, '/health'))).status).toBe(200);

    const run = await getRun(ctx, startRun.id);
    expect(run.status).toBe('COMPLETED');
    expect(run.events.map((e) => e.seq)).toEqual(run.events.map((_, i) => i + 1));
    expect(eventTrail(run)).toEqual([
      'RUN_STARTED',
      'STEP_STARTED:before',
      'STEP_SUCCEEDED:before',
      'STEP_STARTED:pause',
      'STEP_SUCCEEDED:pause',
      'STEP_STARTED:after',
      'STEP_SUCCEEDED:after',
      'RUN_COMPLETED',
    ]);
  });
});
