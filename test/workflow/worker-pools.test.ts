import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { DEFAULT_TENANT } from '../../src/api/tenant';
import { BadUserInputError } from '../../src/errors';
import { RunService } from '../../src/runs/run.service';
import { defineStepType } from '../../src/step-types/define-step-type';
import type { Trellis } from '../../src/trellis';
import { graphql } from '../support/graphql-client';
import { finished, getRun, runToEnd, save, startRunOf, stepOf } from '../support/runs';
import { createTestContext, type TestContext } from '../support/test-context';
import { until } from '../support/until';
import { startWorkerPool } from '../support/worker-pool';

// Queues are per Temporal namespace, which every test file shares: unique names per file.
const suffix = randomUUID().slice(0, 8);
const FAST = `fast-${suffix}`;
const SLOW = `slow-${suffix}`;
const MAPPED = `mapped-${suffix}`;

/** A step type that says which pool ran it: each process registers its own `execute`. */
const whereAmI = (pool: string) => [
  defineStepType({ name: 'where-am-i', config: z.object({ n: z.number().optional() }), execute: () => Promise.resolve({ pool }) }),
  defineStepType({ name: 'mapped-type', config: z.object({}), execute: () => Promise.resolve({ pool }) }),
];

let ctx: TestContext;
let fastPool: Trellis | undefined;
let slowPool: Trellis | undefined;

beforeAll(async () => {
  ctx = await createTestContext({
    stepTypes: whereAmI('main'),
    env: { TRELLIS_TASK_QUEUES_ALLOWED: `${FAST},${SLOW}`, TRELLIS_STEP_QUEUES: `mapped-type=${MAPPED}` },
  });
  [fastPool, slowPool] = await Promise.all([startWorkerPool(ctx, [FAST, MAPPED], whereAmI('fast')), startWorkerPool(ctx, [SLOW], whereAmI('slow'))]);
});

afterAll(async () => {
  await Promise.all([fastPool?.stop(), slowPool?.stop()]);
  await ctx?.stop();
});

describe('worker pools', () => {
  it("run a step's activities on the queue it names, or on its type's queue, and the rest on the main queue", async () => {
    const run = await runToEnd(ctx, {
      name: 'routed',
      steps: {
        here: { type: 'where-am-i' },
        fast: { type: 'where-am-i', taskQueue: FAST },
        typed: { type: 'mapped-type' },
        items: { type: 'map', items: '{% [1, 2] %}', taskQueue: SLOW, do: { steps: { inner: { type: 'where-am-i', n: '{% $item %}' } } } },
      },
    });
    expect(run.status).toBe('COMPLETED');
    expect(stepOf(run, 'here').output).toEqual({ pool: 'main' });
    expect(stepOf(run, 'fast').output).toEqual({ pool: 'fast' });
    expect(stepOf(run, 'typed').output).toEqual({ pool: 'fast' });
    // A map step's items run on its queue.
    expect(stepOf(run, 'items').output).toEqual([{ inner: { pool: 'slow' } }, { inner: { pool: 'slow' } }]);
  });

  it('keep a stopped pool from holding up anything else: its steps wait without failing and finish once it is back', async () => {
    await slowPool!.stop();
    slowPool = undefined;
    const waiting = await startRunOf(ctx, { name: 'needs-slow', steps: { slow: { type: 'where-am-i', taskQueue: SLOW, timeout: '5m' } } });
    await until('the slow step has started', async () => stepOf(await getRun(ctx, waiting.id), 'slow').status === 'RUNNING');

    const other = await runToEnd(ctx, { name: 'needs-fast', steps: { fast: { type: 'where-am-i', taskQueue: FAST }, here: { type: 'where-am-i', needs: ['fast'] } } });
    expect(other.status).toBe('COMPLETED');

    const meanwhile = await getRun(ctx, waiting.id);
    expect(meanwhile.status).toBe('RUNNING');
    expect(meanwhile.events.filter((event) => event.stepId === 'slow').map((event) => event.type)).toEqual(['STEP_STARTED']);

    slowPool = await startWorkerPool(ctx, [SLOW], whereAmI('slow again'));
    const done = await finished(ctx, waiting);
    expect(done.status).toBe('COMPLETED');
    expect(stepOf(done, 'slow')).toMatchObject({ attempts: 1, output: { pool: 'slow again' } });
  });

  it('refuse a definition whose step names a queue the deployment does not allow, at the JSON pointer of the field', async () => {
    const response = await graphql(ctx.graphqlUrl, `mutation($spec: JSON!) { saveDefinition(spec: $spec) { version } }`, {
      spec: {
        name: 'elsewhere',
        steps: {
          other: { type: 'where-am-i', taskQueue: `other-tenants-network-${suffix}` },
          odd: { type: 'map', items: '{% [1] %}', do: { steps: { inner: { type: 'where-am-i', taskQueue: 'bad queue/name' } } } },
        },
      },
    });
    expect(response.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      errors: [
        { path: '/steps/odd/do/steps/inner/taskQueue', message: expect.stringContaining('invalid task queue "bad queue/name"') },
        { path: '/steps/other/taskQueue', message: `task queue "other-tenants-network-${suffix}" is not one this deployment lets steps name; allowed: ${FAST}, ${SLOW}` },
      ],
    });
  });
  it('refuse to start or retry a run whose steps, or its sub-workflows\', name a queue the operator removed after they were saved', async () => {
    const sub = `pooled-sub-${suffix}`;
    await save(ctx, { name: sub, steps: { deep: { type: 'where-am-i', taskQueue: SLOW } } });
    const name = `pooled-${suffix}`;
    const done = await runToEnd(ctx, {
      name,
      steps: {
        fast: { type: 'where-am-i', taskQueue: FAST },
        slow: { type: 'where-am-i', taskQueue: SLOW },
        each: { type: 'map', items: '{% [1] %}', do: { steps: { inner: { type: 'where-am-i', taskQueue: SLOW } } } },
        child: { type: 'workflow', definition: sub },
      },
    });
    expect(done.status).toBe('COMPLETED');

    // The same database and Temporal, after the operator removed SLOW from the allowed queues.
    const narrowed = new RunService({
      db: ctx.trellis.db,
      client: ctx.trellis.client,
      taskQueue: ctx.env.TRELLIS_TASK_QUEUE!,
      taskQueues: { allowed: [FAST], byStepType: {} },
    });
    const refused = [
      { path: '/steps/slow/taskQueue', message: `task queue "${SLOW}" is not one this deployment lets steps name; allowed: ${FAST}` },
      { path: '/steps/each/do/steps/inner/taskQueue', message: `task queue "${SLOW}" is not one this deployment lets steps name; allowed: ${FAST}` },
      { path: '/steps/deep/taskQueue', message: `in sub-workflow "${sub}" v1: task queue "${SLOW}" is not one this deployment lets steps name; allowed: ${FAST}` },
    ];
    const runsBefore = await ctx.trellis.db.selectFrom('runs').select('id').where('definition_name', '=', name).execute();

    const start = narrowed.startRun(DEFAULT_TENANT, { definition: name, trigger: { type: 'api', id: 'operator' } });
    await expect(start).rejects.toBeInstanceOf(BadUserInputError);
    await expect(start).rejects.toMatchObject({
      // A schedule's lastError shows the message alone: it says which steps too.
      message: expect.stringMatching(new RegExp(`^"${name}" v1 cannot start: steps name task queues this deployment does not let steps name \\(any more\\): /steps/slow/taskQueue .*/steps/deep/taskQueue in sub-workflow`)),
      errors: refused,
    });
    await expect(narrowed.retryRun(DEFAULT_TENANT, done.id, { fromStep: 'slow', actor: { type: 'api', id: 'operator' } })).rejects.toMatchObject({ errors: refused });
    expect(await ctx.trellis.db.selectFrom('runs').select('id').where('definition_name', '=', name).execute()).toEqual(runsBefore);
  });
});
