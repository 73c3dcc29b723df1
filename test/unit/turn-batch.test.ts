import { TurnBatch } from '../../src/support/turn-batch';

/** A fetch that records each call's keys and answers when told to. */
function recordingFetch() {
  const calls: Array<{ keys: string[]; answer: (values: Record<string, number>) => void; fail: (err: Error) => void }> = [];
  const fetch = (keys: string[]) =>
    new Promise<ReadonlyMap<string, number>>((resolve, reject) => {
      calls.push({ keys, answer: (values) => resolve(new Map(Object.entries(values))), fail: reject });
    });
  return { calls, fetch };
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('TurnBatch', () => {
  it('makes the lookups of one turn one fetch, each distinct key once, and answers each', async () => {
    const { calls, fetch } = recordingFetch();
    const batch = new TurnBatch(fetch);
    const answers = Promise.all(['a', 'b', 'a', 'c'].map((key) => batch.load(key)));
    // Asked from separate microtasks of the same turn (as sockets' messages are): still one fetch.
    const late = Promise.resolve().then(() => batch.load('b'));
    expect(calls).toHaveLength(0); // not in the turn that asked
    await nextTurn();
    expect(calls.map((call) => call.keys)).toEqual([['a', 'b', 'c']]);
    calls[0]!.answer({ a: 1, b: 2 });
    // A key the fetch leaves out has no value.
    await expect(answers).resolves.toEqual([1, 2, 1, undefined]);
    await expect(late).resolves.toBe(2);
  });

  it('never answers a lookup with a fetch that started before it was asked', async () => {
    const { calls, fetch } = recordingFetch();
    const batch = new TurnBatch(fetch);
    const first = batch.load('key');
    await nextTurn();
    expect(calls).toHaveLength(1);
    // Asked while the first fetch is under way: what it reads may predate this question.
    const second = batch.load('key');
    calls[0]!.answer({ key: 1 });
    await expect(first).resolves.toBe(1);
    await nextTurn();
    expect(calls).toHaveLength(2);
    calls[1]!.answer({ key: 2 });
    await expect(second).resolves.toBe(2);
  });

  it('rejects every lookup of a failed fetch, one that throws too, and fetches again afterwards', async () => {
    const { calls, fetch } = recordingFetch();
    const batch = new TurnBatch(fetch);
    const both = [batch.load('a'), batch.load('b')];
    await nextTurn();
    calls[0]!.fail(new Error('connection lost'));
    for (const lookup of both) await expect(lookup).rejects.toThrow('connection lost');

    const throwing = new TurnBatch<string, number>(() => {
      throw new Error('cannot start');
    });
    await expect(throwing.load('a')).rejects.toThrow('cannot start');

    const again = batch.load('a');
    await nextTurn();
    calls[1]!.answer({ a: 3 });
    await expect(again).resolves.toBe(3);
  });
});
