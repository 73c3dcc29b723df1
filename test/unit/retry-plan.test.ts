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

  describe('skipped steps', () => {
    // The walkthrough's shape: check → ship (then) | hold (else); cooldown needs either (join any); summary.
    const branching = {
      name: 'branching',
      steps: {
        check: { type: 'condition', if: '{% true %}', then: ['ship'], else: ['hold'] },
        ship: { type: 'transform', needs: ['check'], value: 1 },
        hold: { type: 'transform', needs: ['check'], value: 2 },
        cooldown: { type: 'delay', needs: ['ship', 'hold'], join: 'any', duration: '1s' },
        summary: { type: 'transform', needs: ['cooldown'], value: 3 },
      },
    } as Definition;
    const skipped = (stepId: string): RecordedStep => ({ stepId, status: 'SKIPPED', output: null, succeededSeq: null });
    const completed = [succeeded('check', 2), succeeded('ship', 3), skipped('hold'), succeeded('cooldown', 5), succeeded('summary', 6)];

    it('leave a COMPLETED run nothing to retry without fromStep, whatever was skipped', () => {
      expect(planRetry(branching, completed, undefined, 'COMPLETED')).toEqual({
        fromStep: null,
        reused: ['check', 'ship', 'cooldown', 'summary'].map((stepId) => ({ stepId, output: `${stepId}-out` })),
        rerun: [],
      });
    });

    it('leave a COMPLETED run nothing to retry even with a step that failed with onError: continue', () => {
      const continued = [...completed.slice(0, 4), { stepId: 'summary', status: 'FAILED', output: null, succeededSeq: null }];
      expect(planRetry(branching, continued, undefined, 'COMPLETED').rerun).toEqual([]);
    });

    it('do not make the steps after them run again: a failed run re-runs what failed, and decides the skipped branch again', () => {
      const failed = [succeeded('check', 2), succeeded('ship', 3), skipped('hold'), succeeded('cooldown', 5), { stepId: 'summary', status: 'FAILED', output: null, succeededSeq: null }];
      const plan = planRetry(branching, failed, undefined, 'FAILED');
      expect(plan.reused.map((step) => step.stepId)).toEqual(['check', 'ship', 'cooldown']);
      expect(plan.rerun).toEqual(['hold', 'summary']);
    });

    it('are decided again with fromStep of a COMPLETED run, which re-runs that step and what follows it', () => {
      const plan = planRetry(branching, completed, 'cooldown', 'COMPLETED');
      expect(plan.reused.map((step) => step.stepId)).toEqual(['check', 'ship']);
      expect(plan.rerun).toEqual(['hold', 'cooldown', 'summary']);
    });

    it('leave a failed run whose steps all succeeded or were skipped (its output failed) nothing to retry', () => {
      const outputFailed = completed;
      expect(planRetry(branching, outputFailed, undefined, 'FAILED').rerun).toEqual([]);
    });
  });
});
