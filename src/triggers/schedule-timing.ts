import { parseDuration } from '../../definition/duration';
import type { FieldError } from '../errors';

/** The shortest `every` a schedule may have: shorter is a busy loop, not a schedule. */
export const MIN_EVERY_MS = 1_000;

/** The longest `every` a schedule may have. */
export const MAX_EVERY_MS = 366 * 24 * 3_600_000;

/** The five fields of a cron expression, with their ranges and the names they accept. */
const CRON_FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] },
  { name: 'day of week', min: 0, max: 7, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] },
] as const;

/**
 * Why `cron` is not a 5-field cron expression (minute hour day-of-month month day-of-week, each
 * `*`, a value, a range `a-b`, a list `a,b`, with an optional step `/n`; months and days by number
 * or three-letter name), located at `/cron`; empty when it is one. Temporal's own extensions
 * (seconds, `@every`, `CRON_TZ=`) are not accepted: `every` and `timezone` say those.
 */
export function cronProblems(cron: string): FieldError[] {
  const fields = cron.trim().split(/\s+/);
  if (cron.length > 200 || fields.length !== 5) {
    return [{ path: '/cron', message: `must have 5 fields (minute hour day-of-month month day-of-week), such as "0 3 * * MON-FRI"; got ${fields.length}` }];
  }
  const problems: FieldError[] = [];
  fields.forEach((field, index) => {
    const spec = CRON_FIELDS[index]!;
    const value = (text: string): number | undefined => {
      if (/^\d{1,2}$/.test(text)) return Number(text);
      const position = 'names' in spec ? (spec.names as readonly string[]).indexOf(text.toUpperCase()) : -1;
      return position < 0 ? undefined : position + spec.min;
    };
    const fine = field.split(',').every((part) => {
      const [range, step, ...rest] = part.split('/');
      if (rest.length > 0 || range === undefined || range === '' || (step !== undefined && !/^[1-9]\d{0,1}$/.test(step))) return false;
      if (range === '*') return true;
      const bounds = range.split('-').map(value);
      if (bounds.length > 2 || bounds.some((bound) => bound === undefined || bound < spec.min || bound > spec.max)) return false;
      return bounds.length === 1 || bounds[0]! <= bounds[1]!;
    });
    if (!fine) problems.push({ path: '/cron', message: `field ${index + 1} (${spec.name}) ${JSON.stringify(field)} is not "*", a value from ${spec.min} to ${spec.max}, a range, a list or a step` });
  });
  return problems;
}

/**
 * `every` in milliseconds (`"30s"`, `"5m"`, `"1h30m"`, `"PT30S"`), or the problem at `/every`.
 */
export function readEvery(every: string): number | FieldError {
  const ms = parseDuration(every.trim());
  if (ms === undefined || ms < MIN_EVERY_MS || ms > MAX_EVERY_MS) {
    return { path: '/every', message: `must be a duration from 1s to 366 days, such as "30s", "5m" or "1h"; got ${JSON.stringify(every)}` };
  }
  return ms;
}

/** Why `timezone` is not an IANA time zone name (`Europe/Paris`, `UTC`), at `/timezone`. */
export function timezoneProblems(timezone: string): FieldError[] {
  try {
    if (timezone.length <= 64 && /^[A-Za-z0-9_+\-/]+$/.test(timezone)) {
      new Intl.DateTimeFormat('en', { timeZone: timezone });
      return [];
    }
  } catch {
    // not a zone this runtime knows
  }
  return [{ path: '/timezone', message: `must be an IANA time zone name such as "Europe/Paris" or "UTC"; got ${JSON.stringify(timezone)}` }];
}
