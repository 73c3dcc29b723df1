const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;
type Unit = keyof typeof UNIT_MS;

/**
 * Longest timer a definition may ask for — a `delay` (its `duration`, or how far ahead its
 * `until` lies when it runs), a `wait` step's `timeout`, a run's `timeout`: 365 days. Temporal
 * refuses timers over 100 years (the workflow task then fails again and again, and the run never
 * moves); a run left open for more than a year outlives any sensible retention, deployment or
 * versioning plan, and should be a schedule instead.
 */
export const MAX_TIMER_MS = 365 * UNIT_MS.d;

/**
 * Longest time one attempt may take (the `timeout` of `http` steps, custom steps, compensations
 * and `defaults`) and longest wait between attempts (`initialInterval`, `maxInterval`): 1 day.
 * Activities do not heartbeat, so an attempt lost with its worker is noticed only when its
 * timeout expires; work that takes longer belongs behind a `wait` for a signal.
 */
export const MAX_ATTEMPT_MS = UNIT_MS.d;

// Units must appear largest first and at most once, so "30m1h" and "1h1h" are rejected.
const SHORT_FORM = /^(?:(\d+(?:\.\d+)?)d)?(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+(?:\.\d+)?)ms)?$/;
const SHORT_UNITS: readonly Unit[] = ['d', 'h', 'm', 's', 'ms'];

// ISO-8601 without years and months: those have no fixed length, so a timer could not honour them.
const ISO_FORM = /^P(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?=\d)(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;
const ISO_UNITS_MS: readonly number[] = [7 * UNIT_MS.d, UNIT_MS.d, UNIT_MS.h, UNIT_MS.m, UNIT_MS.s];

/**
 * Parses a duration into milliseconds.
 *
 * Accepts the short form (`"500ms"`, `"90s"`, `"15m"`, `"2h"`, `"3d"`, combined largest unit
 * first as in `"1h30m"`, decimals allowed as in `"1.5h"`) and ISO-8601 durations without years or
 * months (`"PT2H"`, `"P1DT2H30M5S"`, `"P2W"`). Fractions of a millisecond are rounded.
 *
 * @returns the duration in whole milliseconds, or `undefined` when the text is not a duration,
 * is zero, or is too large to represent exactly.
 * @example
 * ```ts
 * parseDuration('1h30m'); // 5_400_000
 * parseDuration('PT0.5S'); // 500
 * parseDuration('0s');     // undefined
 * ```
 */
export function parseDuration(text: string): number | undefined {
  if (typeof text !== 'string' || text.length === 0 || text.length > 64) return undefined;
  const short = SHORT_FORM.exec(text);
  if (short) return total(short, SHORT_UNITS.map((unit) => UNIT_MS[unit]));
  const iso = ISO_FORM.exec(text);
  if (iso) return total(iso, ISO_UNITS_MS);
  return undefined;
}

function total(match: RegExpExecArray, unitsMs: readonly number[]): number | undefined {
  let ms = 0;
  let anyPart = false;
  unitsMs.forEach((unitMs, index) => {
    const part = match[index + 1];
    if (part === undefined) return;
    anyPart = true;
    ms += Number(part) * unitMs;
  });
  if (!anyPart) return undefined;
  const rounded = Math.round(ms);
  return rounded > 0 && Number.isSafeInteger(rounded) ? rounded : undefined;
}
