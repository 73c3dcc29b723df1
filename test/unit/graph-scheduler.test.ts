import type { Definition, Step } from '../../definition/definition-schema';
import { GraphScheduler, type SkipDecision } from '../../interpreter/graph-scheduler';

function definition(steps: Record<string, Partial<Step>>): Definition {
  const full: Record<string, Step> = {};
  for (const [id, step] of Object.entries(steps)) full[id] = { type: 'transform', value: id, ...step } as Step;
  return { name: 'test', steps: full };
}

/**
 * Does what the workflow does between two step completions: asks for the next decisions, records
 * every skip and asks again until no skip is left. Returns the steps to start and every skip.
 */
function advance(scheduler: GraphScheduler): { start: string[]; skipped: SkipDecision[] } {
  const skipped: SkipDecision[] = [];
  for (;;) {
    const { start, skip } = scheduler.next();
    if (skip.length === 0) return { start, skipped };
    for (const decision of skip) scheduler.markSkipped(decision.stepId);
    skipped.push(...skip);
  }
}

function started(scheduler: GraphScheduler, ...ids: string[]): void {
  for (const id of ids) scheduler.markRunning(id, 1);
}

function succeeded(scheduler: GraphScheduler, ...ids: string[]): void {
  for (const id of ids) scheduler.markSucceeded(id, `${id} output`);
}

const failure = { message: 'boom', type: 'Error', retryable: false };

describe('GraphScheduler', () => {
  it('starts every root first and nothing that needs another step', () => {
    const scheduler = new GraphScheduler(
      definition({ a: {}, b: {}, c: { needs: ['a'] }, d: { needs: ['b', 'c'] } }),
    );
    expect(scheduler.next()).toEqual({ start: ['a', 'b'], skip: [] });
    expect(scheduler.state('c').status).toBe('PENDING');
  });

  it('does not offer a step again once it is running', () => {
    const scheduler = new GraphScheduler(definition({ a: {}, b: { needs: ['a'] } }));
    started(scheduler, 'a');
    expect(scheduler.next()).toEqual({ start: [], skip: [] });
  });

  it('starts a step only once every one of its needs is settled', () => {
    const scheduler = new GraphScheduler(definition({ a: {}, b: {}, c: { needs: ['a', 'b'] } }));
    started(scheduler, 'a', 'b');
    succeeded(scheduler, 'a');
    expect(scheduler.next().start).toEqual([]);
    succeeded(scheduler, 'b');
    expect(scheduler.next().start).toEqual(['c']);
  });

  it('skips a join "all" step when one of its needs failed, and says which', () => {
    const scheduler = new GraphScheduler(definition({ a: {}, b: {}, c: { needs: ['a', 'b'] } }));
    started(scheduler, 'a', 'b');
    succeeded(scheduler, 'a');
    scheduler.markFailed('b', failure);
    expect(scheduler.next()).toEqual({ start: [], skip: [{ stepId: 'c', reason: 'skipped: "b" failed' }] });
  });

  it('skips a join "all" step when one of its needs was skipped', () => {
    const scheduler = new GraphScheduler(definition({ a: {}, b: {}, c: { needs: ['a', 'b'] } }));
    started(scheduler, 'a', 'b');
    succeeded(scheduler, 'a');
    scheduler.markSkipped('b');
    expect(scheduler.next().skip).toEqual([{ stepId: 'c', reason: 'skipped: "b" skipped' }]);
  });

  it('runs a join "any" step once all its needs are settled and at least one succeeded', () => {
    const scheduler = new GraphScheduler(
      definition({ a: {}, b: {}, c: { needs: ['a', 'b'], join: 'any' } }),
    );
    started(scheduler, 'a', 'b');
    succeeded(scheduler, 'a');
    // One success is not enough while another need is still running.
    expect(scheduler.next().start).toEqual([]);
    scheduler.markFailed('b', failure);
    expect(scheduler.next()).toEqual({ start: ['c'], skip: [] });
  });

  it('skips a join "any" step when none of its needs succeeded', () => {
    const scheduler = new GraphScheduler(
      definition({ a: {}, b: {}, c: { needs: ['a', 'b'], join: 'any' } }),
    );
    started(scheduler, 'a', 'b');
    scheduler.markSkipped('a');
    scheduler.markFailed('b', failure);
    expect(scheduler.next().skip).toEqual([
      { stepId: 'c', reason: 'skipped: "a" skipped, "b" failed (join: any, no need succeeded)' },
    ]);
  });

  it('skips the branch a condition did not take and, transitively, what depends only on skipped steps', () => {
    const scheduler = new GraphScheduler(
      definition({
        check: { type: 'condition', if: 'x', then: ['review'], else: ['approve'] },
        review: { needs: ['check'] },
        notify: { needs: ['review'] },
        audit: { needs: ['notify'] },
        approve: { needs: ['check'] },
        done: { needs: ['review', 'approve'], join: 'any' },
      }),
    );
    expect(advance(scheduler).start).toEqual(['check']);
    started(scheduler, 'check');
    scheduler.markSucceeded('check', { result: false, branch: 'else' });

    const { start, skipped } = advance(scheduler);
    expect(start).toEqual(['approve']);
    expect(skipped).toEqual([
      { stepId: 'review', reason: 'skipped: condition "check" took its else branch' },
      { stepId: 'notify', reason: 'skipped: "review" skipped' },
      { stepId: 'audit', reason: 'skipped: "notify" skipped' },
    ]);

    started(scheduler, 'approve');
    succeeded(scheduler, 'approve');
    // `done` needs a skipped and a succeeded step: join "any" lets it run.
    expect(advance(scheduler)).toEqual({ start: ['done'], skipped: [] });
  });

  it('skips a step listed in the branch not taken even when join "any" has another need that succeeded', () => {
    const scheduler = new GraphScheduler(
      definition({
        check: { type: 'condition', if: 'x', then: ['ship'], else: [] },
        paid: {},
        ship: { needs: ['check', 'paid'], join: 'any' },
      }),
    );
    for (const id of ['check', 'paid']) started(scheduler, id);
    scheduler.markSucceeded('paid', {});
    scheduler.markSucceeded('check', { result: false, branch: 'else' });
    expect(advance(scheduler)).toEqual({
      start: [],
      skipped: [{ stepId: 'ship', reason: 'skipped: condition "check" took its else branch' }],
    });
  });

  it('skips the "else" list when a condition takes its "then" branch', () => {
    const scheduler = new GraphScheduler(
      definition({
        check: { type: 'condition', if: 'x', then: ['yes'], else: ['no'] },
        yes: { needs: ['check'] },
        no: { needs: ['check'] },
      }),
    );
    started(scheduler, 'check');
    scheduler.markSucceeded('check', { result: true, branch: 'then' });
    expect(advance(scheduler)).toEqual({
      start: ['yes'],
      skipped: [{ stepId: 'no', reason: 'skipped: condition "check" took its then branch' }],
    });
  });

  it('runs a step that needs a condition but is named in neither branch, whichever branch was taken', () => {
    for (const branch of ['then', 'else'] as const) {
      const scheduler = new GraphScheduler(
        definition({
          check: { type: 'condition', if: 'x', then: ['yes'], else: ['no'] },
          yes: { needs: ['check'] },
          no: { needs: ['check'] },
          always: { needs: ['check'] },
        }),
      );
      started(scheduler, 'check');
      scheduler.markSucceeded('check', { result: branch === 'then', branch });
      expect(advance(scheduler).start).toEqual([branch === 'then' ? 'yes' : 'no', 'always']);
    }
  });

  it('skips every step of a branch when the condition itself failed', () => {
    const scheduler = new GraphScheduler(
      definition({
        check: { type: 'condition', if: 'x', then: ['yes'] },
        yes: { needs: ['check'] },
        other: { needs: ['check'] },
      }),
    );
    started(scheduler, 'check');
    scheduler.markFailed('check', failure);
    expect(advance(scheduler).skipped.map((s) => s.stepId)).toEqual(['yes', 'other']);
  });

  it('orders compensation by finish time, latest first, and only for succeeded steps with `compensate`', () => {
    const compensate = { type: 'http', url: 'http://undo.test' } as const;
    const scheduler = new GraphScheduler(
      definition({
        first: { compensate },
        second: { compensate },
        plain: {},
        third: { compensate },
        broken: { compensate },
        never: { compensate, needs: ['broken'] },
      }),
    );
    started(scheduler, 'first', 'second', 'plain', 'third', 'broken');
    // Finish order differs from declaration order on purpose.
    succeeded(scheduler, 'third', 'plain', 'first', 'second');
    scheduler.markFailed('broken', failure);
    advance(scheduler);
    expect(scheduler.compensationOrder()).toEqual(['second', 'first', 'third']);
  });

  it('lists as sinks the steps nothing else needs', () => {
    const scheduler = new GraphScheduler(
      definition({ a: {}, b: { needs: ['a'] }, c: { needs: ['a'] }, d: { needs: ['b'] } }),
    );
    expect(scheduler.sinks()).toEqual(['c', 'd']);
  });

  it('is idle only when no step can start, none must be skipped and none is running', () => {
    const scheduler = new GraphScheduler(definition({ a: {}, b: { needs: ['a'] }, c: { needs: ['b'] } }));
    expect(scheduler.isIdle()).toBe(false);
    started(scheduler, 'a');
    expect(scheduler.isIdle()).toBe(false);
    scheduler.markFailed('a', failure);
    // `b` and `c` still have to be recorded as skipped.
    expect(scheduler.isIdle()).toBe(false);
    advance(scheduler);
    expect(scheduler.isIdle()).toBe(true);
    expect(['a', 'b', 'c'].map((id) => scheduler.state(id).status)).toEqual(['FAILED', 'SKIPPED', 'SKIPPED']);
  });

  it('drives a whole diamond to the end when every step succeeds', () => {
    const scheduler = new GraphScheduler(
      definition({ a: {}, b: { needs: ['a'] }, c: { needs: ['a'] }, d: { needs: ['b', 'c'] } }),
    );
    const order: string[][] = [];
    for (let wave = advance(scheduler).start; wave.length > 0; wave = advance(scheduler).start) {
      order.push(wave);
      started(scheduler, ...wave);
      succeeded(scheduler, ...wave);
    }
    expect(order).toEqual([['a'], ['b', 'c'], ['d']]);
    expect(scheduler.isIdle()).toBe(true);
    expect(scheduler.state('d')).toMatchObject({ status: 'SUCCEEDED', attempts: 1, output: 'd output', finishedOrder: 4 });
  });

  it('refuses a step id the definition does not have', () => {
    const scheduler = new GraphScheduler(definition({ a: {} }));
    expect(() => scheduler.state('nope')).toThrow('unknown step "nope"');
    expect(() => scheduler.step('nope')).toThrow('unknown step "nope"');
  });
});
