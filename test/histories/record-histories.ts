/**
 * Records the Temporal histories that `replay.test.ts` replays: runs a few representative
 * definitions through a real Trellis (its own Temporal dev server and PostgreSQL, as the jest
 * global setup starts them) against a local HTTP stub, and writes each run's history to
 * `test/histories/<name>.json`. Run with `npx tsx test/histories/record-histories.ts [name…]`;
 * see README.md for when (not) to.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import globalSetup from '../support/global-setup';
import globalTeardown from '../support/global-teardown';
import { decodePayloadsInPlace } from '../support/history-payloads';
import { HttpStub } from '../support/http-stub';
import { temporal } from '@temporalio/proto';
import { finished, getRun, save, startRunOf, type RunView, type StartedRun } from '../support/runs';
import { startedChildren } from '../support/child-runs';
import { createTestContext, type TestContext } from '../support/test-context';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { sql } from 'kysely';

/** One recorded run: the routes its stub answers, its definition, its input and its expected end. */
type Scenario = {
  name: string;
  routes: (stub: HttpStub) => void;
  spec: (stubUrl: string) => Record<string, unknown>;
  input?: unknown;
  expectedStatus: string;
  /** Cancel the run, with this reason, once its first durable timer has started. */
  cancelWithReason?: string;
  /** Definitions the run starts as sub-workflows, saved before it. */
  children?: Array<Record<string, unknown>>;
  /** Signals sent right after the run starts (they queue until their wait steps take them). */
  signals?: Array<{ signal: string; payload: unknown }>;
  /** Record the run `retryRun` starts for the first run (which must fail), not the first run. */
  retried?: true;
  /** Run the definition unsaved with `testRun` and these mocks. */
  mocks?: Record<string, unknown>;
  /** The tenant's variables ($var) and secrets ($secret) set before the run. */
  variables?: (stubUrl: string) => Record<string, unknown>;
  secrets?: Record<string, string>;
  /** Done once the run has started (and its signals are sent), while it runs. */
  whileRunning?: (ctx: TestContext, run: StartedRun) => Promise<void>;
  /** Prepares the database before the run, and undoes it after. */
  database?: { before: (ctx: TestContext) => Promise<void>; after: (ctx: TestContext) => Promise<void> };
};

const SCENARIOS: Scenario[] = [
  {
    // Two parallel requests, a transform joining them, a condition whose else branch (and what
    // depends only on it) is skipped, a join "any", a short durable timer and an output expression.
    name: 'parallel-branch-delay',
    routes: (stub) => {
      stub.on('GET /customers/42', { delayMs: 100, body: { id: 42, tier: 'gold' } });
      stub.on('GET /prices', { delayMs: 100, body: { base: 120 } });
    },
    spec: (url) => ({
      name: 'history-parallel-branch-delay',
      output: { price: '{% $steps.price.output %}', path: '{% $steps.check.output.branch %}', waited: '{% $steps.pause.output.waitedMs %}' },
      steps: {
        customer: { type: 'http', url: `${url}/customers/{% $input.customerId %}` },
        prices: { type: 'http', url: `${url}/prices` },
        price: { type: 'transform', needs: ['customer', 'prices'], value: "{% $steps.customer.output.body.tier = 'gold' ? $steps.prices.output.body.base * 0.8 : $steps.prices.output.body.base %}" },
        check: { type: 'condition', needs: ['price'], if: '{% $steps.price.output > 50 %}', then: ['approve'], else: ['review'] },
        review: { type: 'transform', needs: ['check'], value: 'manual review' },
        escalate: { type: 'transform', needs: ['review'], value: 'escalated' },
        approve: { type: 'transform', needs: ['check'], value: 'approved' },
        pause: { type: 'delay', needs: ['approve', 'review'], join: 'any', duration: '200ms' },
      },
    }),
    input: { customerId: 42 },
    expectedStatus: 'COMPLETED',
  },
  {
    // An http step answered 503, retried after its backoff timer, then answered 200.
    name: 'http-retry',
    routes: (stub) => {
      stub.on('POST /flaky', (_request, call) => (call === 0 ? { status: 503, body: { error: 'busy' } } : { status: 200, body: { id: 'ch_1' } }));
    },
    spec: (url) => ({
      name: 'history-http-retry',
      steps: {
        charge: { type: 'http', method: 'POST', url: `${url}/flaky`, body: { amount: 10 }, retry: { maxAttempts: 3, initialInterval: '100ms' } },
      },
    }),
    expectedStatus: 'COMPLETED',
  },
  {
    // A saga: two steps succeed, the third fails for good (400, not retried), the first two are
    // compensated in reverse completion order.
    name: 'saga-compensation',
    routes: (stub) => {
      stub
        .on('POST /charge', { body: { id: 'ch_9' } })
        .on('POST /reserve', { body: { id: 'rs_7' } })
        .on('POST /ship', { status: 400, body: { error: 'no address' } })
        .on('POST /refund', { body: {} })
        .on('POST /release', { body: {} });
    },
    spec: (url) => ({
      name: 'history-saga-compensation',
      steps: {
        charge: { type: 'http', method: 'POST', url: `${url}/charge`,
          compensate: { type: 'http', method: 'POST', url: `${url}/refund`, body: { charge: '{% $steps.charge.output.body.id %}' } } },
        reserve: { type: 'http', method: 'POST', url: `${url}/reserve`, needs: ['charge'],
          compensate: { type: 'http', method: 'POST', url: `${url}/release`, body: { reservation: '{% $steps.reserve.output.body.id %}' } } },
        ship: { type: 'http', method: 'POST', url: `${url}/ship`, needs: ['reserve'] },
      },
    }),
    expectedStatus: 'COMPENSATED',
  },
  {
    // Failure paths: a guard skips a step, an expression fails its step for good while a sibling
    // is cancelled, and a compensation with its own retry policy fails twice: the run ends FAILED.
    name: 'failure-paths',
    routes: (stub) => {
      stub
        .on('POST /book', { body: { id: 'bk_1' } })
        .on('POST /unbook', { status: 500, body: {} })
        .on('GET /slow', { delayMs: 2000, body: {} });
    },
    spec: (url) => ({
      name: 'history-failure-paths',
      steps: {
        book: { type: 'http', method: 'POST', url: `${url}/book`,
          compensate: { type: 'http', method: 'POST', url: `${url}/unbook`, retry: { maxAttempts: 2, initialInterval: '100ms' } } },
        vip: { type: 'transform', needs: ['book'], if: '{% $input.vip %}', value: 'vip' },
        slow: { type: 'http', needs: ['book'], url: `${url}/slow` },
        broken: { type: 'transform', needs: ['book'], value: "{% $steps.book.output.body.id + 1 %}" },
      },
    }),
    input: { vip: false },
    expectedStatus: 'FAILED',
  },
  {
    // Cancelled while a durable timer and an http call are pending: the cancel-request signal,
    // then Temporal's cancellation; both steps are cancelled and RUN_CANCELLED says why.
    name: 'cancelled',
    routes: (stub) => {
      stub.on('GET /slow', { delayMs: 5000, body: {} });
    },
    spec: (url) => ({
      name: 'history-cancelled',
      steps: {
        nap: { type: 'delay', duration: '1h' },
        fetch: { type: 'http', url: `${url}/slow`, timeout: '30s' },
        after: { type: 'transform', needs: ['nap', 'fetch'], value: 'never' },
      },
    }),
    expectedStatus: 'CANCELLED',
    cancelWithReason: 'recorded for replay',
  },
  {
    // A signal taken by a wait step, a child run, a map of http actions and a map large enough
    // (120 items) to run in two batch child workflows.
    name: 'wait-workflow-map',
    routes: (stub) => {
      stub.on('POST /label', (request) => ({ body: { label: `item-${String((request.body as { n: unknown }).n)}` } }));
    },
    children: [{ name: 'history-child', output: '{% $input.n * 10 %}', steps: { noop: { type: 'transform', value: null } } }],
    signals: [{ signal: 'approval', payload: { approved: true } }],
    spec: (url) => ({
      name: 'history-wait-workflow-map',
      output: { child: '{% $steps.child.output %}', labels: '{% $steps.labels.output.body.label %}', total: '{% $sum($steps.many.output) %}' },
      steps: {
        review: { type: 'wait', signal: 'approval', timeout: '1h' },
        child: { type: 'workflow', needs: ['review'], definition: 'history-child', input: { n: 4 } },
        labels: { type: 'map', needs: ['review'], items: '{% [1..3] %}', maxConcurrency: 2, do: { type: 'http', method: 'POST', url: `${url}/label`, body: { n: '{% $item %}' } } },
        many: { type: 'map', needs: ['review'], items: '{% [1..120] %}', maxConcurrency: 200, do: { steps: { double: { type: 'transform', value: '{% $item * 2 %}' } }, output: '{% $steps.double.output %}' } },
      },
    }),
    expectedStatus: 'COMPLETED',
  },
  {
    // Cancelled while a timer runs after a step with a compensate action: the step is rolled back
    // before RUN_CANCELLED (the trellis-cancel-compensates patch).
    name: 'cancel-compensates',
    routes: (stub) => {
      stub.on('POST /book', { body: { id: 'bk_2' } }).on('POST /unbook', { body: {} });
    },
    spec: (url) => ({
      name: 'history-cancel-compensates',
      steps: {
        book: { type: 'http', method: 'POST', url: `${url}/book`, compensate: { type: 'http', method: 'POST', url: `${url}/unbook` } },
        nap: { type: 'delay', needs: ['book'], duration: '1h' },
      },
    }),
    expectedStatus: 'CANCELLED',
    cancelWithReason: 'recorded for replay',
  },
  {
    // A 429 with Retry-After: 1 delays the next attempt past the backoff (the trellis-retry-after
    // patch); then the run's own timeout expires during a slow step, which is cancelled, and the
    // first step is compensated: TIMED_OUT.
    name: 'timeout-retry-after',
    routes: (stub) => {
      stub
        .on('POST /limited', (_request, call) => (call === 0 ? { status: 429, headers: { 'retry-after': '1' }, body: {} } : { body: { id: 'lm_1' } }))
        .on('POST /undo-limited', { body: {} })
        .on('GET /very-slow', { delayMs: 10_000, body: {} });
    },
    spec: (url) => ({
      name: 'history-timeout-retry-after',
      timeout: '2s',
      steps: {
        limited: { type: 'http', method: 'POST', url: `${url}/limited`, retry: { initialInterval: '10ms' }, compensate: { type: 'http', method: 'POST', url: `${url}/undo-limited` } },
        slow: { type: 'http', needs: ['limited'], url: `${url}/very-slow`, timeout: '30s' },
      },
    }),
    expectedStatus: 'TIMED_OUT',
  },
  {
    // retryRun of a compensated run: the step that stood is reused, the compensated one and the
    // failed one run again.
    name: 'retry-reuse',
    routes: (stub) => {
      stub
        .on('GET /address', { body: { street: 'Main St 1' } })
        .on('POST /pay', { body: { id: 'py_1' } })
        .on('POST /refund-pay', { body: {} })
        .on('POST /deliver', (_request, call) => (call === 0 ? { status: 400, body: { error: 'closed' } } : { body: { tracking: 'T-9' } }));
    },
    spec: (url) => ({
      name: 'history-retry-reuse',
      steps: {
        address: { type: 'http', url: `${url}/address` },
        pay: { type: 'http', method: 'POST', url: `${url}/pay`, compensate: { type: 'http', method: 'POST', url: `${url}/refund-pay` } },
        deliver: { type: 'http', method: 'POST', needs: ['address', 'pay'], url: `${url}/deliver`, body: { to: '{% $steps.address.output.body.street %}' } },
      },
    }),
    expectedStatus: 'COMPLETED',
    retried: true,
  },
  {
    // testRun with a mocked http step and a mocked wait step: neither calls nor waits.
    name: 'test-run-mocks',
    routes: () => undefined,
    spec: (url) => ({
      name: 'history-test-run-mocks',
      output: '{% $steps.total.output %}',
      steps: {
        price: { type: 'http', url: `${url}/not-called` },
        approval: { type: 'wait', needs: ['price'], signal: 'approve' },
        total: { type: 'transform', needs: ['approval'], value: '{% $steps.price.output.body.amount & " " & $steps.approval.output.by %}' },
      },
    }),
    mocks: { price: { status: 200, headers: {}, body: { amount: 7 } }, approval: { by: 'ops' } },
    expectedStatus: 'COMPLETED',
  },
  {
    // Templates evaluated by the synchronous engine (the trellis-sync-expressions patch): a guard,
    // transforms with regexes and higher-order functions, a condition, an http body, an
    // expression that fails its step (onError continue), a constant output read with `[]`, and a
    // 120-item map whose two batch child workflows evaluate their items synchronously too.
    name: 'sync-expressions',
    routes: (stub) => {
      stub.on('POST /echo', (request) => ({ body: { got: request.body } }));
    },
    input: { order: 'A-17', lines: [{ sku: 'x-1', qty: 2, price: 3.5 }, { sku: 'y-22', qty: 1, price: 10 }] },
    spec: (url) => ({
      name: 'history-sync-expressions',
      output: { total: '{% $steps.total.output %}', skus: '{% $steps.skus.output %}', echoed: '{% $steps.send.output.body.got %}', doubled: '{% $sum($steps.many.output) %}' },
      steps: {
        total: { type: 'transform', value: '{% $sum($input.lines.(qty * price)) %}' },
        skus: { type: 'transform', value: '{% $map($input.lines, function($l){ $replace($l.sku, /-(\\d+)/, "#$1") }) %}' },
        big: { type: 'condition', needs: ['total'], if: '{% $steps.total.output > 10 %}', then: ['send'], else: ['skipped'] },
        send: { type: 'http', needs: ['big', 'skus'], method: 'POST', url: `${url}/echo`, body: { order: 'order {% $input.order %}', skus: '{% $steps.skus.output %}' } },
        skipped: { type: 'transform', needs: ['big'], value: 'never' },
        broken: { type: 'transform', onError: 'continue', value: '{% $number($input.order) %}' },
        guarded: { type: 'transform', if: '{% $count($input.lines) > 5 %}', value: 1 },
        constant: { type: 'transform', value: { pairs: [[1, 2], [3]] } },
        reads: { type: 'transform', needs: ['constant'], value: '{% $count($steps.constant.output.pairs[]) %}' },
        many: { type: 'map', items: '{% [1..120] %}', maxConcurrency: 200, do: { steps: { double: { type: 'transform', value: '{% $item * 2 %}' } }, output: '{% $steps.double.output %}' } },
      },
    }),
    expectedStatus: 'COMPLETED',
  },
  {
    // Three endless loops that start together: two spend a whole evaluation's budget, the third
    // runs out of what their workflow task has left (WORKFLOW_TASK_EXPRESSION_LIMITS). Each fails
    // its step; onError continue lets the run complete. No run output: it would be evaluated in
    // the same workflow task, with nothing left.
    name: 'task-budget',
    routes: () => undefined,
    spec: () => ({
      name: 'history-task-budget',
      steps: Object.fromEntries(['loop1', 'loop2', 'loop3'].map((id) => [id, { type: 'transform', onError: 'continue', value: '{% ($f := function($n){ $f($n + 1) }; $f(0)) %}' }])),
    }),
    expectedStatus: 'COMPLETED',
  },
  {
    // A delay whose `until` lies centuries ahead fails its step (the `trellis-timer-limit`
    // patch; onError continue), then PostgreSQL refuses for good (a CHECK constraint) the event
    // recording a step's output: the run stops and ends FAILED with a RUN_FAILED without it.
    name: 'timer-limit-audit-refused',
    routes: () => undefined,
    spec: () => ({
      name: 'history-timer-limit-audit-refused',
      steps: {
        far: { type: 'delay', until: '{% $input.at %}', onError: 'continue' },
        taint: { type: 'transform', value: 'poison' },
        never: { type: 'transform', needs: ['taint'], value: 'never' },
      },
    }),
    input: { at: 8.64e15 },
    database: {
      before: (ctx) => sql`alter table audit_events add constraint history_no_poison check (output is null or strpos(output::text, 'poison') = 0)`.execute(ctx.trellis.db).then(() => undefined),
      after: (ctx) => sql`alter table audit_events drop constraint history_no_poison`.execute(ctx.trellis.db).then(() => undefined),
    },
    expectedStatus: 'FAILED',
  },
  {
    // Variables pinned at the start ($var): read by a guard, a transform, an http url evaluated in
    // the workflow, a header the activity evaluates beside a secret, a map item and a child run,
    // which gets its parent's values.
    name: 'variables',
    routes: (stub) => {
      stub.on('POST /vars', (request) => ({ body: { env: request.headers['x-env'], sent: request.body } }));
    },
    variables: (url) => ({ HISTORY_URL: url, HISTORY_ENV: 'staging', HISTORY_LIMITS: { max: 2, regions: ['eu', 'us'] } }),
    secrets: { HISTORY_TOKEN: 'tok-hist-5e1f' },
    children: [{ name: 'history-vars-child', output: "{% $var('HISTORY_ENV') & ':' & $input.n %}", steps: { noop: { type: 'transform', value: null } } }],
    spec: (url) => ({
      name: 'history-variables',
      output: { shape: '{% $steps.shape.output %}', call: '{% $steps.call.output.body %}', each: '{% $steps.each.output %}', child: '{% $steps.child.output %}' },
      steps: {
        shape: { type: 'transform', if: "{% $var('HISTORY_LIMITS').max > 1 %}", value: { env: "{% $var('HISTORY_ENV') %}", max: "{% $var('HISTORY_LIMITS').max %}" } },
        call: {
          type: 'http',
          method: 'POST',
          url: "{% $var('HISTORY_URL') %}/vars",
          headers: { 'x-env': "{% $var('HISTORY_ENV') & ':' & $secret('HISTORY_TOKEN') %}" },
          body: { env: "{% $var('HISTORY_ENV') %}" },
        },
        each: { type: 'map', items: "{% $var('HISTORY_LIMITS').regions %}", do: { steps: { tag: { type: 'transform', value: "{% $item & '-' & $var('HISTORY_ENV') %}" } }, output: '{% $steps.tag.output %}' } },
        child: { type: 'workflow', definition: 'history-vars-child', input: { n: 1 } },
      },
    }),
    expectedStatus: 'COMPLETED',
  },
  {
    // Audit writes batched per activation (the trellis-batched-audit patch): ten parallel http
    // steps answered together, a flaky one retried, a join, then a saga: the last step fails for
    // good and the two before it are compensated.
    name: 'batched-audit-parallel',
    routes: (stub) => {
      for (let n = 1; n <= 10; n++) stub.on(`GET /part/${n}`, { delayMs: 150, body: { n } });
      stub
        .on('POST /flaky-part', (_request, call) => (call === 0 ? { status: 503, body: {} } : { body: { n: 11 } }))
        .on('POST /book', { body: { id: 'bk_3' } })
        .on('POST /unbook', { body: {} })
        .on('POST /pay', { body: { id: 'py_1' } })
        .on('POST /unpay', { body: {} })
        .on('POST /ship', { status: 400, body: { error: 'no address' } });
    },
    spec: (url) => {
      const parts = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`part${i + 1}`, { type: 'http', url: `${url}/part/${i + 1}` }]));
      return {
        name: 'history-batched-audit-parallel',
        steps: {
          ...parts,
          flaky: { type: 'http', method: 'POST', url: `${url}/flaky-part`, retry: { maxAttempts: 3, initialInterval: '50ms' } },
          sum: { type: 'transform', needs: [...Object.keys(parts), 'flaky'], value: `{% ${[...Object.keys(parts), 'flaky'].map((id) => `$steps.${id}.output.body.n`).join(' + ')} %}` },
          book: { type: 'http', method: 'POST', needs: ['sum'], url: `${url}/book`, body: { total: '{% $steps.sum.output %}' }, compensate: { type: 'http', method: 'POST', url: `${url}/unbook` } },
          pay: { type: 'http', method: 'POST', needs: ['sum'], url: `${url}/pay`, compensate: { type: 'http', method: 'POST', url: `${url}/unpay` } },
          ship: { type: 'http', method: 'POST', needs: ['book', 'pay'], url: `${url}/ship` },
        },
      };
    },
    expectedStatus: 'COMPENSATED',
  },
  {
    // A map step's workflow action retried by its own policy (the trellis-one-action-runner
    // patch): the item's first child run is terminated, a second one completes.
    name: 'map-workflow-action-retry',
    routes: () => undefined,
    children: [{ name: 'history-slow-child', output: '{% $input.n %}', steps: { hold: { type: 'delay', duration: '1s' } } }],
    spec: () => ({
      name: 'history-map-workflow-action-retry',
      steps: {
        each: {
          type: 'map',
          items: '{% [5] %}',
          do: { type: 'workflow', definition: 'history-slow-child', input: { n: '{% $item %}' }, retry: { maxAttempts: 2, initialInterval: '100ms' } },
        },
      },
    }),
    whileRunning: async (ctx, run) => {
      const [first] = await startedChildren(ctx, run.temporal.workflowId, 1);
      await ctx.trellis.client.workflow.getHandle(first!).terminate('history: the first attempt is lost');
    },
    expectedStatus: 'COMPLETED',
  },
  {
    // Steps that make no command do not wait for their own audit writes (the trellis-inline-audit
    // patch): a guard, a chain of transforms, a condition skipping a branch and a log step share
    // batches; an http step between them waits for every event before it; a transform fails
    // under onError "continue".
    name: 'inline-audit',
    routes: (stub) => {
      stub.on('POST /inline', (request) => ({ body: { got: request.body } }));
    },
    spec: (url) => ({
      name: 'history-inline-audit',
      output: { total: '{% $steps.c.output %}', call: '{% $steps.call.output.body %}' },
      steps: {
        a: { type: 'transform', if: '{% $input.n > 0 %}', value: '{% $input.n %}' },
        b: { type: 'transform', needs: ['a'], value: '{% $steps.a.output * 2 %}' },
        c: { type: 'transform', needs: ['b'], value: '{% $steps.b.output + 1 %}' },
        check: { type: 'condition', needs: ['c'], if: '{% $steps.c.output > 5 %}', then: ['call'], else: ['never'] },
        call: { type: 'http', needs: ['check'], method: 'POST', url: `${url}/inline`, body: { c: '{% $steps.c.output %}' } },
        never: { type: 'transform', needs: ['check'], value: 'never' },
        note: { type: 'log', needs: ['call'], level: 'warn', message: 'called with {% $steps.c.output %}' },
        broken: { type: 'transform', needs: ['note'], onError: 'continue', value: '{% $error("inline failure") %}' },
      },
    }),
    input: { n: 3 },
    expectedStatus: 'COMPLETED',
  },
];

const HISTORIES_DIR = __dirname;

async function record(ctx: TestContext, stub: HttpStub, scenario: Scenario): Promise<string> {
  scenario.routes(stub);
  const spec = scenario.spec(stub.url);
  for (const [name, value] of Object.entries(scenario.variables?.(stub.url) ?? {})) {
    await ctx.gql(`mutation($name: String!, $value: JSON!) { setVariable(name: $name, value: $value) }`, { name, value });
  }
  for (const [name, value] of Object.entries(scenario.secrets ?? {})) {
    await ctx.gql(`mutation($name: String!, $value: String!) { setSecret(name: $name, value: $value) }`, { name, value });
  }
  for (const child of scenario.children ?? []) await save(ctx, child);
  await scenario.database?.before(ctx);
  try {
    return await recordRun(ctx, scenario, spec);
  } finally {
    await scenario.database?.after(ctx);
  }
}

async function recordRun(ctx: TestContext, scenario: Scenario, spec: Record<string, unknown>): Promise<string> {
  let run: RunView;
  if (scenario.cancelWithReason !== undefined) {
    run = await runAndCancel(ctx, spec, scenario);
  } else if (scenario.mocks) {
    const { testRun } = await ctx.gql<{ testRun: StartedRun }>(
      `mutation($spec: JSON!, $input: JSON, $mocks: JSON) { testRun(spec: $spec, input: $input, mocks: $mocks) { id temporal { workflowId } } }`,
      { spec, input: scenario.input ?? {}, mocks: scenario.mocks },
    );
    run = await finished(ctx, testRun);
  } else if (scenario.retried) {
    const first = await finished(ctx, await startRunOf(ctx, spec, scenario.input ?? {}));
    if (first.status === 'COMPLETED') throw new Error(`${scenario.name}: the first run completed; it must fail to be retried`);
    const { retryRun } = await ctx.gql<{ retryRun: StartedRun }>(`mutation($id: ID!) { retryRun(id: $id) { id temporal { workflowId } } }`, { id: first.id });
    run = await finished(ctx, retryRun);
  } else {
    const started = await startRunOf(ctx, spec, scenario.input ?? {});
    for (const { signal, payload } of scenario.signals ?? []) {
      await ctx.gql(`mutation($id: ID!, $signal: String!, $payload: JSON) { signalRun(id: $id, signal: $signal, payload: $payload) { id } }`, { id: started.id, signal, payload });
    }
    await scenario.whileRunning?.(ctx, started);
    run = await finished(ctx, started);
  }
  if (run.status !== scenario.expectedStatus) {
    throw new Error(`${scenario.name}: run ended ${run.status}, expected ${scenario.expectedStatus}: ${JSON.stringify(run.error)}`);
  }
  const history = await ctx.trellis.client.workflow.getHandle(run.temporal.workflowId).fetchHistory();
  // Stored encrypted under this recording's throw-away key: written decoded, it replays without it.
  await decodePayloadsInPlace(history, ctx.trellis.codec);
  const file = path.join(HISTORIES_DIR, `${scenario.name}.json`);
  await fs.writeFile(file, historyToJSON(history));
  return `${path.relative(process.cwd(), file)} (${history.events?.length ?? 0} events)`;
}

async function runAndCancel(ctx: TestContext, spec: Record<string, unknown>, scenario: Scenario): Promise<RunView> {
  await ctx.gql(`mutation($spec: JSON!) { saveDefinition(spec: $spec) { version } }`, { spec });
  const { startRun } = await ctx.gql<{ startRun: { id: string; temporal: { workflowId: string } } }>(
    `mutation($name: String!, $input: JSON) { startRun(definition: $name, input: $input) { id temporal { workflowId } } }`,
    { name: spec.name, input: scenario.input ?? {} },
  );
  const handle = ctx.trellis.client.workflow.getHandle(startRun.temporal.workflowId);
  const timerStarted = temporal.api.enums.v1.EventType.EVENT_TYPE_TIMER_STARTED;
  for (let polls = 0; !((await handle.fetchHistory()).events ?? []).some((e) => e.eventType === timerStarted); polls++) {
    if (polls > 200) throw new Error(`${scenario.name}: no timer started`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await ctx.gql(`mutation($id: ID!, $reason: String) { cancelRun(id: $id, reason: $reason) { id } }`, { id: startRun.id, reason: scenario.cancelWithReason });
  await handle.result().catch(() => undefined);
  return getRun(ctx, startRun.id);
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const unknown = only.filter((name) => !SCENARIOS.some((s) => s.name === name));
  if (unknown.length > 0) throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  const scenarios = only.length > 0 ? SCENARIOS.filter((s) => only.includes(s.name)) : SCENARIOS;

  await globalSetup();
  let ctx: TestContext | undefined;
  let stub: HttpStub | undefined;
  try {
    [ctx, stub] = await Promise.all([createTestContext(), new HttpStub().start()]);
    for (const scenario of scenarios) console.log(`recorded ${await record(ctx, stub, scenario)}`);
  } finally {
    await Promise.allSettled([ctx?.stop(), stub?.stop()]);
    await globalTeardown();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
