import { cronProblems, readEvery, timezoneProblems } from '../../src/triggers/schedule-timing';

describe('schedule timing checks', () => {
  it('accepts 5-field cron expressions with values, ranges, lists, steps and names', () => {
    for (const cron of ['* * * * *', '0 3 * * MON-FRI', '*/15 0-6,22-23 1,15 JAN-jun 0', '5 4 * * 7', '0 0 1 1 *']) expect([cron, cronProblems(cron)]).toEqual([cron, []]);
  });

  it('refuses other field counts, out-of-range values, reversed ranges and Temporal extensions, naming the field', () => {
    expect(cronProblems('0 3 * *')[0]!.message).toMatch(/5 fields/);
    expect(cronProblems('0 0 3 * * *')[0]!.message).toMatch(/5 fields/);
    expect(cronProblems('@every 30s')[0]!.message).toMatch(/5 fields/);
    expect(cronProblems('60 * * * *')[0]!.message).toMatch(/field 1 \(minute\)/);
    expect(cronProblems('* 24 * * *')[0]!.message).toMatch(/field 2 \(hour\)/);
    expect(cronProblems('* * 0 * *')[0]!.message).toMatch(/field 3 \(day of month\)/);
    expect(cronProblems('* * * 5-2 *')[0]!.message).toMatch(/field 4 \(month\)/);
    expect(cronProblems('* * * * FUNDAY')[0]!.message).toMatch(/field 5 \(day of week\)/);
    expect(cronProblems('*/0 * * * *')).toHaveLength(1);
  });

  it('reads every from 1 s to 366 days', () => {
    expect(readEvery('30s')).toBe(30_000);
    expect(readEvery('PT5M')).toBe(300_000);
    expect(readEvery('500ms')).toMatchObject({ path: '/every' });
    expect(readEvery('400d')).toMatchObject({ path: '/every' });
    expect(readEvery('soon')).toMatchObject({ path: '/every' });
  });

  it('accepts IANA time zones only', () => {
    expect(timezoneProblems('Europe/Paris')).toEqual([]);
    expect(timezoneProblems('UTC')).toEqual([]);
    expect(timezoneProblems('Mars/Olympus')).toEqual([expect.objectContaining({ path: '/timezone' })]);
    expect(timezoneProblems('Europe/Paris; drop')).toEqual([expect.objectContaining({ path: '/timezone' })]);
  });
});
