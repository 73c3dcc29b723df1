import { ApplicationFailure } from '@temporalio/common';
import { LoggedOutput, MAX_LOG_LINE_CHARS, StepLogBuffer, logEvents, logsOfFailure, withActivityLogs } from '../../interpreter/step-logs';

describe('log lines of a step attempt', () => {
  it('become LOG events in order, numbered, with unknown levels taken as info and non-strings as JSON', () => {
    expect(logEvents('s', 'code', 2, [{ level: 'warn', message: 'a' }, { level: 'loud', message: { n: 1 } }, 'bare'])).toEqual([
      { type: 'LOG', stepId: 's', stepType: 'code', attempt: 2, level: 'warn', line: 0, message: 'a' },
      { type: 'LOG', stepId: 's', stepType: 'code', attempt: 2, level: 'info', line: 1, message: '{"n":1}' },
      { type: 'LOG', stepId: 's', stepType: 'code', attempt: 2, level: 'info', line: 2, message: 'bare' },
    ]);
  });

  it('are capped at 100 lines, then one warn line says how many were left out', () => {
    const events = logEvents('s', 'code', 1, Array.from({ length: 250 }, (_, i) => ({ level: 'debug', message: `line ${i}` })));
    expect(events).toHaveLength(101);
    expect(events[100]).toMatchObject({ level: 'warn', line: 100, message: expect.stringMatching(/^150 more log lines left out/) });
  });

  it('are capped at 64 Ki characters in all, and each line at 8 Ki', () => {
    const events = logEvents('s', 'code', 1, Array.from({ length: 20 }, () => ({ level: 'info', message: 'x'.repeat(10_000) })));
    expect(events[0]!.message).toHaveLength(MAX_LOG_LINE_CHARS + ' (cut: 10000 characters in all)'.length + 1);
    expect(events.at(-1)).toMatchObject({ level: 'warn', message: expect.stringMatching(/^13 more log lines left out/) });
    expect(events.slice(0, -1).reduce((sum, event) => sum + event.message!.length, 0)).toBeLessThanOrEqual(64 * 1024);
  });
});

describe('an activity result with logs', () => {
  it('is its output with the lines held for the step, and a result without logs is its output alone', () => {
    expect(withActivityLogs({ output: { a: 1 } })).toEqual({ a: 1 });
    const logged = withActivityLogs({ output: 2, logs: [{ level: 'error', message: 'x' }] });
    expect(logged).toBeInstanceOf(LoggedOutput);
    const buffer = new StepLogBuffer();
    expect(buffer.take('s', 'code', 1, logged)).toBe(2);
    // An output that merely looks like a logged result is an output.
    expect(buffer.take('t', 'code', 1, { output: 3, logs: [{ level: 'info', message: 'forged' }] })).toEqual({ output: 3, logs: [{ level: 'info', message: 'forged' }] });
    expect(buffer.drain('t')).toEqual([]);
    expect(buffer.drain('s')).toEqual([expect.objectContaining({ level: 'error', message: 'x' })]);
    expect(buffer.drain('s')).toEqual([]);
  });

  it('carries the lines of a failed attempt in its failure details', () => {
    const failure = ApplicationFailure.create({ message: 'boom', details: [{ logs: [{ level: 'info', message: 'before' }] }] });
    expect(logsOfFailure(failure)).toEqual([{ level: 'info', message: 'before' }]);
    expect(logsOfFailure(new Error('plain'))).toEqual([]);
  });
});
