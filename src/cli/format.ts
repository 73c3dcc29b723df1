import type { FieldError } from '../errors';

/** An audit event as the CLI selects it from `runEvents`. */
export type EventView = {
  seq: number;
  at: string;
  type: string;
  stepId: string | null;
  attempt: number | null;
  message: string | null;
  error: unknown;
};

/** A step of a run as the CLI selects it. */
export type StepView = { id: string; type: string; status: string; attempts: number };

// The longest AuditEventType (COMPENSATION_STARTED), so the step ids line up.
const TYPE_WIDTH = 20;
const MAX_DETAIL = 240;

/**
 * One line of `run --follow`: `  #<seq> <hh:mm:ss.mmm> <TYPE> <stepId> [attempt n] <message>: <cause>`.
 * The time is local; the attempt shows only for retries (n > 1) whose message does not already
 * say which attempt it is. The cause is the event's error message (an http step's names the
 * status code it answered), added when the message does not hold it already.
 * @example
 * formatEvent({ seq: 7, at: '2025-01-01T10:00:00.123Z', type: 'STEP_FAILED', stepId: 'ping', attempt: 2,
 *   message: 'attempt 2 of 2 failed for good', error: { message: 'POST http://a/ping answered 409 Conflict' } })
 * // '  #7  11:00:00.123 STEP_FAILED          ping attempt 2 of 2 failed for good: POST http://a/ping answered 409 Conflict'  (in UTC+1)
 */
export function formatEvent(event: EventView): string {
  const parts = [`#${event.seq}`.padEnd(3), formatTime(event.at), event.type.padEnd(TYPE_WIDTH)];
  if (event.stepId) parts.push(event.stepId);
  const detail = eventDetail(event);
  if (event.attempt != null && event.attempt > 1 && !detail?.startsWith('attempt ')) parts.push(`attempt ${event.attempt}`);
  if (detail) parts.push(truncate(detail, MAX_DETAIL));
  return `  ${parts.join(' ').trimEnd()}`;
}

/** An event's message with the cause of its error when the message does not say it, on one line. */
function eventDetail(event: EventView): string | null {
  const message = event.message === null ? null : firstLine(event.message);
  const cause = shortError(event.error);
  const causeLine = cause === null ? null : firstLine(cause);
  if (message === null || message === '') return causeLine;
  if (causeLine === null || causeLine === '' || message.includes(causeLine)) return message;
  return `${message}: ${causeLine}`;
}

/** `hh:mm:ss.mmm` in local time; the input unchanged when it is not a timestamp. */
export function formatTime(iso: string): string {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  return `${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}.${pad(at.getMilliseconds(), 3)}`;
}

/** The message of an error snapshot (`{message, type, …}`), or its JSON; null for no error. */
export function shortError(error: unknown): string | null {
  if (error == null) return null;
  if (typeof error === 'string') return error;
  if (typeof error === 'object' && typeof (error as { message?: unknown }).message === 'string') return (error as { message: string }).message;
  return JSON.stringify(error);
}

/**
 * Located problems one a line, paths aligned: `  /steps/a/needs/0  names a missing step`.
 * An empty path (the whole document) shows as `/`.
 */
export function formatFieldErrors(errors: FieldError[]): string[] {
  const paths = errors.map((e) => e.path || '/');
  const width = Math.max(0, ...paths.map((p) => p.length));
  return errors.map((e, i) => `  ${paths[i]!.padEnd(width)}  ${e.message}`);
}

/** A left-aligned text table with a header row, columns two spaces apart. */
export function formatTable(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}

/** The steps of a run as a table: id, type, status, attempts. */
export function formatSteps(steps: StepView[]): string[] {
  return formatTable(['STEP', 'TYPE', 'STATUS', 'ATTEMPTS'], steps.map((s) => [s.id, s.type, s.status, String(s.attempts)]));
}

/** Pretty JSON, two-space indent; `null` for undefined. */
export function formatJson(value: unknown): string {
  return JSON.stringify(value ?? null, null, 2);
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0]!;
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** `label  value` lines with the values aligned; entries whose value is null or undefined are left out. */
export function formatFields(fields: Array<[label: string, value: string | null | undefined]>): string[] {
  const shown = fields.filter((f): f is [string, string] => f[1] != null);
  const width = Math.max(0, ...shown.map(([label]) => label.length));
  return shown.map(([label, value]) => `${label.padEnd(width)}  ${value}`);
}

/** How a run ended: `output:` and its JSON when it has output, `error:` and its JSON when it has an error. */
export function formatRunResult(run: { output: unknown; error: unknown }): string[] {
  const lines: string[] = [];
  if (run.output !== null && run.output !== undefined) lines.push('output:', ...formatJson(run.output).split('\n'));
  if (run.error !== null && run.error !== undefined) lines.push('error:', ...formatJson(run.error).split('\n'));
  return lines;
}

/** `YYYY-MM-DD hh:mm:ss` in local time; the input unchanged when it is not a timestamp. */
export function formatDateTime(iso: string): string {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  const pad = (n: number) => String(n).padStart(2, '0');
  const date = `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}`;
  return `${date} ${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}`;
}

/**
 * The time from `startIso` to `endIso`, short: `850ms`, `12.3s`, `4m 05s`, `2h 05m`, `3d 04h`.
 * @example formatDuration('2025-01-01T10:00:00Z', '2025-01-01T10:04:05Z') // '4m 05s'
 */
export function formatDuration(startIso: string, endIso: string): string {
  const ms = new Date(endIso).getTime() - new Date(startIso).getTime();
  if (Number.isNaN(ms)) return '?';
  if (ms < 1000) return `${Math.max(0, ms)}ms`;
  if (ms < 60_000) return `${(Math.floor(ms / 100) / 10).toFixed(1)}s`;
  const pad = (n: number) => String(n).padStart(2, '0');
  const seconds = Math.floor(ms / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${pad(seconds % 60)}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 24 * 60) return `${Math.floor(minutes / 60)}h ${pad(minutes % 60)}m`;
  const hours = Math.floor(minutes / 60);
  return `${Math.floor(hours / 24)}d ${pad(hours % 24)}h`;
}
