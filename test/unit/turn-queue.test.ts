import { TurnQueue } from '../../src/support/turn-queue';

describe('TurnQueue', () => {
  it('runs work in the order asked, one piece per turn of the event loop, letting other callbacks run in between', async () => {
    const queue = new TurnQueue();
    const log: string[] = [];
    const done = Promise.all(
      ['a', 'b', 'c'].map((name) =>
        queue.run(() => {
          log.push(name);
          // Stands for I/O that arrives while a piece of work holds the event loop.
          setImmediate(() => log.push(`after ${name}`));
          return name;
        }),
      ),
    );
    expect(await done).toEqual(['a', 'b', 'c']);
    await new Promise((resolve) => setImmediate(resolve));
    expect(log).toEqual(['a', 'after a', 'b', 'after b', 'c', 'after c']);
  });

  it('rejects with the error of a piece of work and goes on with the next', async () => {
    const queue = new TurnQueue();
    const failed = queue.run(() => {
      throw new Error('boom');
    });
    const next = queue.run(() => 'next');
    await expect(failed).rejects.toThrow('boom');
    expect(await next).toBe('next');
  });
});
