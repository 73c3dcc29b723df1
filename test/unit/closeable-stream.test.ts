import { closeableStream, Wakeup } from '../../graphql/audit-event-hub';

describe('Wakeup', () => {
  it('coalesces notifications that come before a wait into one wake-up', async () => {
    const wakeup = new Wakeup();
    wakeup.notify();
    wakeup.notify();
    await wakeup.wait();
    let woke = false;
    const waiting = wakeup.wait().then(() => (woke = true));
    await Promise.resolve();
    expect(woke).toBe(false);
    wakeup.notify();
    await waiting;
    expect(woke).toBe(true);
  });

  it('returns every wait at once after close', async () => {
    const wakeup = new Wakeup();
    wakeup.close();
    await wakeup.wait();
    await wakeup.wait();
    expect(wakeup.closed).toBe(true);
  });
});

describe('closeableStream', () => {
  it('stops a source that is waiting for a notification that never comes, and runs its clean-up', async () => {
    const cleanedUp = jest.fn();
    const stream = closeableStream(async function* (wakeup) {
      try {
        yield 'first';
        for (;;) {
          await wakeup.wait();
          if (wakeup.closed) return;
          yield 'never';
        }
      } finally {
        cleanedUp();
      }
    });
    expect(await stream.next()).toEqual({ done: false, value: 'first' });
    const pending = stream.next(); // now suspended in wakeup.wait()
    await expect(stream.return(undefined)).resolves.toEqual({ done: true, value: undefined });
    await expect(pending).resolves.toEqual({ done: true, value: undefined });
    expect(cleanedUp).toHaveBeenCalledTimes(1);
  });
});
