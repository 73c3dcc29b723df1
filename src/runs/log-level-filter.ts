import { LOG_LEVELS, type LogLevel } from '../../definition/log-levels';

/**
 * The levels a minimum level keeps: `warn` keeps `warn` and `error`; every level when none is given.
 * @throws nothing: an unknown level (not one of LOG_LEVELS) keeps nothing
 */
export function levelsFrom(minimum: LogLevel | null | undefined): LogLevel[] {
  if (minimum === null || minimum === undefined) return [...LOG_LEVELS];
  const index = LOG_LEVELS.indexOf(minimum);
  return index < 0 ? [] : LOG_LEVELS.slice(index);
}

/**
 * Whether an audit event passes a `runEvents` level filter: a LOG event (one with a level) of the
 * minimum level or above; every other event (a transition) always.
 */
export function passesLevel(event: { level: string | null }, minimum: LogLevel | null | undefined): boolean {
  if (event.level === null || minimum === null || minimum === undefined) return true;
  return LOG_LEVELS.indexOf(event.level as LogLevel) >= LOG_LEVELS.indexOf(minimum);
}
