import type { temporal } from '@temporalio/proto';

/** A protobuf int64 as the Temporal client decodes it: a `Long`, a number or a decimal string. */
type Int64 = number | string | { toNumber(): number } | null | undefined;

/** An int64 (event ids, seconds) as a number; undefined when absent. */
export function int64(value: Int64): number | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'object') return value.toNumber();
  return Number(value);
}

/** A protobuf Timestamp as a Date; undefined when absent or at its zero value. */
export function timestampToDate(timestamp: temporal.api.history.v1.IHistoryEvent['eventTime']): Date | undefined {
  const seconds = int64(timestamp?.seconds);
  if (seconds === undefined || seconds <= 0) return undefined;
  return new Date(seconds * 1000 + Math.floor((timestamp?.nanos ?? 0) / 1e6));
}
