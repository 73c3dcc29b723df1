import { TokenBuckets } from '../../src/api/token-buckets';

function clock() {
  let now = 0;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('TokenBuckets', () => {
  it('lets a key spend a full bucket at once, then refuses with the whole seconds until enough tokens are back', () => {
    const time = clock();
    const buckets = new TokenBuckets({ ratePerSecond: 2, capacity: 5 }, time.now);
    for (let i = 0; i < 5; i++) expect(buckets.take('a')).toBe(0);
    expect(buckets.take('a')).toBe(1);
    expect(buckets.take('a', 4)).toBe(2);
    time.advance(500);
    expect(buckets.take('a')).toBe(0);
    expect(buckets.take('a')).toBe(1);
  });

  it('keeps keys apart', () => {
    const buckets = new TokenBuckets({ ratePerSecond: 1, capacity: 1 }, clock().now);
    expect(buckets.take('a')).toBe(0);
    expect(buckets.take('a')).toBe(1);
    expect(buckets.take('b')).toBe(0);
  });

  it('never refills past the capacity, and charges at most a full bucket for anything', () => {
    const time = clock();
    const buckets = new TokenBuckets({ ratePerSecond: 10, capacity: 3 }, time.now);
    time.advance(60_000);
    expect(buckets.take('a', 100)).toBe(0);
    expect(buckets.take('a')).toBe(1);
  });

  it('checks without taking', () => {
    const buckets = new TokenBuckets({ ratePerSecond: 1, capacity: 1 }, clock().now);
    expect(buckets.check('a')).toBe(0);
    expect(buckets.check('a')).toBe(0);
    buckets.take('a');
    expect(buckets.check('a')).toBe(1);
  });

  it('takes nothing when the rate is 0 (limits off)', () => {
    const buckets = new TokenBuckets({ ratePerSecond: 0, capacity: 1 }, clock().now);
    for (let i = 0; i < 10; i++) expect(buckets.take('a', 5)).toBe(0);
  });

  it('forgets full buckets, then the oldest, past the most buckets it keeps', () => {
    const time = clock();
    const buckets = new TokenBuckets({ ratePerSecond: 1, capacity: 2, maxBuckets: 4 }, time.now);
    for (const key of ['a', 'b', 'c', 'd']) buckets.take(key, 2);
    // A fifth key: every bucket is empty, so the oldest half goes (a, b), which start full again.
    buckets.take('e', 2);
    expect(buckets.take('a', 2)).toBe(0);
    expect(buckets.take('d', 2)).toBe(2);
  });
});
