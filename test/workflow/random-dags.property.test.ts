import fc from 'fast-check';
import { runToEnd, type RunView } from '../support/runs';
import { createTestContext, type TestContext } from '../support/test-context';

// Random acyclic graphs run on the real Temporal server: each completes, every step runs once and
// only after its needs succeeded, and every transform computes what the graph says it should.

const NUM_RUNS = 10;

let ctx: TestContext;

beforeAll(async () => {
  ctx = await createTestContext();
});

afterAll(async () => {
  await ctx?.stop();
});

type StepPlan = { id: string; type: 'transform' | 'delay'; needs: string[]; join?: 'all' | 'any' };
type DagPlan = { steps: StepPlan[]; bonus: number };

/**
 * 3–12 steps, each needing only earlier ones (so the graph is acyclic); about one in six is a
 * 1–5 ms `delay`, and some steps with needs join `any`.
 */
const dagPlanArb: fc.Arbitrary<DagPlan> = fc.integer({ min: 3, max: 12 }).chain((count) =>
  fc.record({
    bonus: fc.integer({ min: 1, max: 5 }),
    steps: fc.tuple(
      ...Array.from({ length: count }, (_, i) =>
        fc
          .record({
            isDelay: fc.nat(5).map((n) => n === 0),
            needs: fc.subarray(Array.from({ length: i }, (__, j) => `s${j}`), { maxLength: Math.min(i, 3) }),
            joinAny: fc.nat(3).map((n) => n === 0),
          })
          .map(({ isDelay, needs, joinAny }): StepPlan => ({
            id: `s${i}`,
            type: isDelay ? 'delay' : 'transform',
            needs,
            ...(joinAny && needs.length > 0 ? { join: 'any' as const } : {}),
          })),
      ),
    ),
  }),
);

/** The definition of a plan: a transform outputs `$input.bonus` plus the outputs of its transform needs. */
function definitionOf(name: string, plan: DagPlan): Record<string, unknown> {
  const transforms = new Set(plan.steps.filter((s) => s.type === 'transform').map((s) => s.id));
  const steps = Object.fromEntries(
    plan.steps.map((step, i) => {
      const base = { needs: step.needs.length > 0 ? step.needs : undefined, join: step.join };
      if (step.type === 'delay') return [step.id, { type: 'delay', ...base, duration: `${1 + (i % 5)}ms` }];
      const read = step.needs.filter((need) => transforms.has(need)).map((need) => `$steps.${need}.output`);
      return [step.id, { type: 'transform', ...base, value: `{% $sum([${read.join(', ')}]) + $input.bonus %}` }];
    }),
  );
  const output = Object.fromEntries([...transforms].map((id) => [id, `{% $steps.${id}.output %}`]));
  return JSON.parse(JSON.stringify({ name, output, steps })) as Record<string, unknown>;
}

/** What each transform should output, computed here without the interpreter. */
function expectedOutputs(plan: DagPlan): Record<string, number> {
  const outputs: Record<string, number> = {};
  for (const step of plan.steps) {
    if (step.type !== 'transform') continue;
    outputs[step.id] = plan.bonus + step.needs.reduce((sum, need) => sum + (outputs[need] ?? 0), 0);
  }
  return outputs;
}

/** The seq of the only event of `type` for `stepId`; fails when there is not exactly one. */
function onlySeq(run: RunView, type: string, stepId: string): number {
  const events = run.events.filter((e) => e.type === type && e.stepId === stepId);
  expect({ stepId, type, count: events.length }).toEqual({ stepId, type, count: 1 });
  return events[0]!.seq;
}

describe('random acyclic graphs on Temporal', () => {
  it('complete, run every step once after the steps it needs succeeded, and compute what the graph says', async () => {
    let index = 0;
    await fc.assert(
      fc.asyncProperty(dagPlanArb, async (plan) => {
        index += 1;
        const run = await runToEnd(ctx, definitionOf(`random-dag-${index}`, plan), { bonus: plan.bonus });
        expect(run.error).toBeNull();
        expect(run.status).toBe('COMPLETED');
        expect(run.events.map((e) => e.seq)).toEqual(run.events.map((_, i) => i + 1));

        const stepIds = plan.steps.map((s) => s.id);
        const ranSteps = new Set(run.events.filter((e) => e.stepId !== null).map((e) => e.stepId));
        expect([...ranSteps].sort()).toEqual([...stepIds].sort());
        for (const step of plan.steps) {
          const started = onlySeq(run, 'STEP_STARTED', step.id);
          for (const need of step.needs) {
            const needSucceeded = onlySeq(run, 'STEP_SUCCEEDED', need);
            expect({ step: step.id, need, startedAfterNeedSucceeded: started > needSucceeded }).toEqual({
              step: step.id,
              need,
              startedAfterNeedSucceeded: true,
            });
          }
        }
        expect(run.steps.map((s) => [s.id, s.status, s.attempts]).sort()).toEqual(stepIds.map((id) => [id, 'SUCCEEDED', 1]).sort());

        const expected = expectedOutputs(plan);
        expect(run.output).toEqual(expected);
        expect(Object.fromEntries(run.steps.filter((s) => s.id in expected).map((s) => [s.id, s.output]))).toEqual(expected);
      }),
      // Every shrinking step would be another workflow run; the report's seed and counterexample replay it.
      { numRuns: NUM_RUNS, endOnFailure: true },
    );
  }, 120_000);
});
