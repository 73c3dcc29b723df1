import type { Definition } from '../../definition/definition-schema';
import { planRetry, type RecordedStep } from '../../src/runs/retry-plan';

// a → b → c, a → d; e independent.
const definition = {
  name: 'plan',
  steps: {
    a: { type: 'transform', value: 1 },
    b: { type: 'transform', needs: ['a'], value: 2 },
    c: { type: 'transform', needs: ['b'], value: 3 },
    d: { type: 'transform', needs: ['a'], value: 4 },
    e: { type: 'transform', value: 5 },
  },
} as Definition;

const succeeded = (stepId: string, succeededSeq: number): RecordedStep => ({ stepId, status: 'SUCCEEDED', output: `${stepId}-out`, succeededSeq });

describe('planRetry', () => {
  it('reuses succeeded steps in the order they finished and re-runs the failed one and what follows it', () => {
    const plan = planRetry(definition, [succeeded('e', 2), succeeded('a', 3), succeeded('d', 5), { stepId: 'b', status: 'FAILED', output: null, succeededSeq: null }]);
    expect(plan).toEqual({
      fromStep: null,
      reused: [
        { stepId: 'e', output: 'e-out' },
        { stepId: 'a', output: 'a-out' },
        { stepId: 'd', output: 'd-out' },
      ],
      rerun: ['b', 'c'],
    });
  });

  it('re-runs a compensated step and everything downstream of it, even what succeeded', () => {
    const plan = planRetry(definition, [
      { stepId: 'a', status: 'COMPENSATED', output: 'a-out', succeededSeq: 3 },
      succeeded('b', 4),
      succeeded('d', 5),
      succeeded('e', 6),
      { stepId: 'c', status: 'FAILED', output: null, succeededSeq: null },
    ]);
    expect(plan.reused.map((step) => step.stepId)).toEqual(['e']);
    expect(plan.rerun).toEqual(['a', 'b', 'c', 'd']);
  });

  it('re-runs fromStep and its downstream steps of a run where every step succeeded', () => {
    const plan = planRetry(definition, ['a', 'b', 'c', 'd', 'e'].map((id, i) => succeeded(id, i + 2)), 'b');
    expect(plan).toMatchObject({ fromStep: 'b', rerun: ['b', 'c'] });
    expect(plan.reused.map((step) => step.stepId)).toEqual(['a', 'd', 'e']);
  });

  it('re-runs steps that never started, were skipped or cancelled', () => {
    const plan = planRetry(definition, [succeeded('a', 2), { stepId: 'd', status: 'CANCELLED', output: null, succeededSeq: null }, { stepId: 'e', status: 'SKIPPED', output: null, succeededSeq: null }]);
    expect(plan.reused.map((step) => step.stepId)).toEqual(['a']);
    expect(plan.rerun).toEqual(['b', 'c', 'd', 'e']);
  });
});
