import { STATUS_CODES } from 'node:http';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { Headers, type Response } from 'undici';
import type { RedirectMode } from '../definition/definition-schema';
import type { DeferredTemplates } from '../interpreter/deferred-templates';
import { EgressDeniedError } from '../src/net/egress-denied-error';
import type { GuardedFetch } from '../src/net/guarded-fetch';
import { RedirectRefusedError } from '../src/net/redirect-refused-error';
import type { VerifiedRun } from '../src/runs/run-verifier';
import { CHAIN_HEADER } from '../src/triggers/trigger-chain';
import { resolveDeferred, type SecretResolver } from './deferred-values';
import { secretBearingParts } from './secret-bearing';
import { SecretRedactor } from './secret-redactor';

/** A fully resolved `http` step or compensation, as the interpreter hands it over. */
export type HttpRequest = {
  method: string;
  url: string;
  query?: Record<string, unknown>;
  headers?: Record<string, string>;
  body?: unknown;
  /** Statuses that count as success; default: any 2xx. */
  expectStatus?: number | number[];
  /** Which redirects to follow; default `same-origin`. */
  followRedirects?: RedirectMode;
  /** Sent as `Idempotency-Key`: `<run id>:<step id>`, stable across retries and worker crashes. */
  idempotencyKey: string;
  /** Strings that read secrets, resolved here rather than in the workflow. */
  deferred?: DeferredTemplates;
  /** Whose secrets `deferred` reads. */
  tenantId?: string;
};

export type HttpResponse = { status: number; headers: Record<string, string>; body: unknown };

/** Bodies larger than this fail the step: they would bloat Temporal history (2 MB payload limit). */
export const MAX_RESPONSE_BYTES = 1024 * 1024;

/**
 * `details[0]` of the `HttpStatusError` a non-expected status fails with. Small whatever the
 * body's size: it reaches Temporal history, the audit trail and GraphQL.
 */
export type HttpStatusErrorDetails = {
  status: number;
  /** The parsed JSON value (or text) when its JSON text is at most {@link MAX_ERROR_BODY_CHARS} long, otherwise the raw text's first {@link MAX_ERROR_BODY_CHARS} characters. */
  body: unknown;
  /** Present when `body` is an excerpt. */
  bodyTruncated?: true;
  /** How long the target asked to wait before the next attempt (`Retry-After` on a 408, 429 or 503), at most {@link MAX_RETRY_AFTER_MS}. */
  retryAfterMs?: number;
};

/** Longest body kept in a failure's details. */
export const MAX_ERROR_BODY_CHARS = 2048;

/** Longest `Retry-After` honoured: a target asking for more must not park a step for days. */
export const MAX_RETRY_AFTER_MS = 60 * 60 * 1000;

const RETRYABLE_4XX = new Set([408, 429]);
const RETRY_AFTER_STATUSES = new Set([408, 429, 503]);
const MESSAGE_EXCERPT_CHARS = 200;

/**
 * The `httpRequest` activity, able to resolve the secrets a request reads; every request goes
 * out through `fetch`, the egress-guarded client. With `chainHeaderOf`, each request carries
 * `Trellis-Chain` for the run it is made for (loop prevention, see `trigger-chain.ts`).
 */
export function createHttpActivity(
  secrets: SecretResolver | undefined,
  fetch: GuardedFetch,
  chainHeaderOf?: (run: VerifiedRun) => string,
): (request: HttpRequest, run?: VerifiedRun) => Promise<HttpResponse> {
  return async (request, run) => {
    const redactor = new SecretRedactor();
    try {
      const { deferred, tenantId, ...rest } = request;
      const secretParts = secretBearingParts(rest);
      const resolved = await resolveDeferred(rest, deferred, tenantId, secrets, redactor);
      const response = await httpRequest(resolved, {
        fetch,
        redactText: (text) => redactor.text(text),
        secretHeaders: secretParts.headers,
        secretBody: secretParts.body,
        carriesSecret: (text) => redactor.text(text) !== text,
        chainHeader: run && chainHeaderOf ? chainHeaderOf(run) : undefined,
      });
      return redactor.value(response);
    } catch (err) {
      if (Context.current().cancellationSignal.aborted) throw err;
      if (!redactor.active && !(err instanceof Error && err.name === 'SecretNotFoundError')) throw err;
      // Not retried when it is not an ApplicationFailure: resolving secrets failed.
      throw redactor.failure(err instanceof ApplicationFailure ? err : Object.assign(toError(err), { retryable: false }), 'SecretResolutionError');
    }
  };
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** How {@link httpRequest} sends a request. */
export type HttpRequestOptions = {
  /** The egress-guarded client (SPEC §7b): the only way out. */
  fetch: GuardedFetch;
  /**
   * Applied to the response text before excerpts are cut from it, so that a secret the target
   * echoes is not cut in half where the later, whole-value redaction misses it.
   */
  redactText?: (text: string) => string;
  /** Headers whose value read a secret: never sent to another origin on a redirect. */
  secretHeaders?: string[];
  /** The body read a secret: never sent to another origin on a redirect. */
  secretBody?: boolean;
  /** Whether text holds a secret value the request used. */
  carriesSecret?: (text: string) => boolean;
  /** Sent as `Trellis-Chain`, in place of any header of that name the step set. */
  chainHeader?: string;
};

/**
 * Performs one HTTP request (one attempt: the interpreter owns retries, so that every attempt is
 * audited) through the egress-guarded client, following redirects as `followRedirects` says.
 * Non-2xx answers (unless `expectStatus` lists them) fail with an `HttpStatusError` whose
 * message carries the status and a body excerpt and whose `details[0]` is
 * {@link HttpStatusErrorDetails}; 4xx other than 408 and 429 are non-retryable, 5xx retryable.
 * A redirect not followed is the response, so a 3xx fails unless `expectStatus` lists it.
 * @throws `HttpNetworkError` (retryable) when no answer arrives; `EgressDenied` when the policy
 * refuses an address (SPEC §7b), `RedirectRefused` when a redirect cannot be followed safely,
 * `HttpResponseTooLarge` and `HttpRequestError` for an oversized body or an unusable url (all
 * non-retryable)
 */
export async function httpRequest(request: HttpRequest, options: HttpRequestOptions): Promise<HttpResponse> {
  const redactText = options.redactText ?? ((text: string) => text);
  const url = buildUrl(request);
  const method = request.method.toUpperCase();
  const headers = new Headers(request.headers ?? {});
  headers.set('Idempotency-Key', request.idempotencyKey);
  // Set by Trellis only: a step cannot shorten the chain its requests carry (loop prevention).
  headers.delete(CHAIN_HEADER);
  if (options.chainHeader !== undefined) headers.set(CHAIN_HEADER, options.chainHeader);
  let body: string | undefined;
  if (request.body !== undefined && request.body !== null && method !== 'GET' && method !== 'HEAD') {
    if (typeof request.body === 'string') {
      body = request.body;
    } else {
      body = JSON.stringify(request.body);
      if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    }
  }

  const followRedirects = request.followRedirects ?? 'same-origin';
  let response: Response;
  try {
    response = await options.fetch(url, {
      method,
      headers,
      body,
      signal: Context.current().cancellationSignal,
      followRedirects,
      secretHeaders: options.secretHeaders,
      secretBody: options.secretBody,
      carriesSecret: options.carriesSecret,
    });
  } catch (err) {
    if (Context.current().cancellationSignal.aborted) throw err;
    if (err instanceof EgressDeniedError || err instanceof RedirectRefusedError) throw ApplicationFailure.nonRetryable(err.message, err.name);
    const reason = err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
    throw ApplicationFailure.retryable(`${method} ${url.origin}${url.pathname} failed: ${reason}`, 'HttpNetworkError');
  }

  const text = await readCapped(response, `${method} ${url.origin}${url.pathname}`);
  const parsed = parseBody(text, response.headers.get('content-type'));
  const result: HttpResponse = { status: response.status, headers: Object.fromEntries(response.headers), body: parsed };

  if (!isExpected(response.status, request.expectStatus)) {
    const status = response.status;
    const statusText = response.statusText || STATUS_CODES[status] || '';
    const shown = redactText(text);
    const excerpt = shown.replace(/\s+/g, ' ').trim();
    const message =
      `${method} ${url.origin}${url.pathname} answered ${status}${statusText ? ` ${statusText}` : ''}` +
      notFollowed(url, response.headers.get('location'), status, followRedirects) +
      `${excerpt ? `: ${cut(excerpt, MESSAGE_EXCERPT_CHARS)}` : ''}`;
    const details: HttpStatusErrorDetails = { status, body: parsed };
    if ((typeof parsed === 'string' ? parsed.length : JSON.stringify(parsed).length) > MAX_ERROR_BODY_CHARS) {
      details.body = cut(shown, MAX_ERROR_BODY_CHARS, '');
      details.bodyTruncated = true;
    }
    if (RETRY_AFTER_STATUSES.has(status)) {
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), Date.now());
      if (retryAfterMs !== undefined) details.retryAfterMs = retryAfterMs;
    }
    const nonRetryable = status >= 400 && status < 500 && !RETRYABLE_4XX.has(status);
    throw ApplicationFailure.create({ message, type: 'HttpStatusError', nonRetryable, details: [details] });
  }
  return result;
}

/** Why a redirect came back as the response: ` (a redirect to https://other.example, not followed: followRedirects is "same-origin")`. */
function notFollowed(url: URL, location: string | null, status: number, mode: RedirectMode): string {
  if (location === null || ![301, 302, 303, 307, 308].includes(status)) return '';
  let target: URL;
  try {
    target = new URL(location, url);
  } catch {
    return ' (a redirect to an unreadable Location, not followed)';
  }
  const where = target.origin === url.origin ? 'the same origin' : target.origin;
  return ` (a redirect to ${where}, not followed: followRedirects is "${mode}")`;
}

/** The first `max` characters of `text` (not splitting a surrogate pair), with `ellipsis` when cut. */
function cut(text: string, max: number, ellipsis = '…'): string {
  if (text.length <= max) return text;
  const end = /[\uD800-\uDBFF]/.test(text.charAt(max - 1)) ? max - 1 : max;
  return text.slice(0, end) + ellipsis;
}

const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH = `(${MONTHS.join('|')})`;
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
// The three HTTP-date forms recipients must accept (RFC 9110 §5.6.7).
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`);
const RFC850_DATE = new RegExp(`^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`);
const ASCTIME_DATE = new RegExp(`^${DAY} ${MONTH} ([ \\d]\\d) ${TIME} (\\d{4})$`);

/**
 * Reads a `Retry-After` value, delta-seconds (`120`) or an HTTP-date
 * (`Wed, 21 Oct 2015 07:28:00 GMT`), as milliseconds from `now`.
 * @returns a non-negative integer at most {@link MAX_RETRY_AFTER_MS} (0 for a date in the past),
 * or `undefined` when the value is missing or unparsable
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Math.min(Number(text) * 1000, MAX_RETRY_AFTER_MS);
  const at = parseHttpDate(text, now);
  if (at === undefined) return undefined;
  return Math.min(Math.max(0, Math.ceil(at - now)), MAX_RETRY_AFTER_MS);
}

/** Milliseconds since the epoch of an HTTP-date in any of its three forms, or `undefined`. */
function parseHttpDate(text: string, now: number): number | undefined {
  let fields: { day: string; month: string; year: number; time: string[] } | undefined;
  const imf = IMF_FIXDATE.exec(text);
  const rfc850 = RFC850_DATE.exec(text);
  const asctime = ASCTIME_DATE.exec(text);
  if (imf) {
    fields = { day: imf[1]!, month: imf[2]!, year: Number(imf[3]), time: imf.slice(4, 7) };
  } else if (rfc850) {
    // A two-digit year more than 50 years ahead means the most recent past year ending so.
    const currentYear = new Date(now).getUTCFullYear();
    const year = Math.floor(currentYear / 100) * 100 + Number(rfc850[3]);
    fields = { day: rfc850[1]!, month: rfc850[2]!, year: year > currentYear + 50 ? year - 100 : year, time: rfc850.slice(4, 7) };
  } else if (asctime) {
    fields = { day: asctime[2]!.trim(), month: asctime[1]!, year: Number(asctime[6]), time: asctime.slice(3, 6) };
  }
  if (!fields) return undefined;
  const [hour, minute, second] = fields.time.map(Number) as [number, number, number];
  const day = Number(fields.day);
  const date = new Date(Date.UTC(fields.year, MONTHS.indexOf(fields.month), day, hour, minute, second));
  // Date.UTC rolls 31 Feb over into March and 25:00 into the next day; neither is a date.
  if (date.getUTCDate() !== day || date.getUTCHours() !== hour || date.getUTCMinutes() !== minute || date.getUTCSeconds() !== second) return undefined;
  return date.getTime();
}

function buildUrl(request: HttpRequest): URL {
  let url: URL;
  try {
    url = new URL(request.url);
  } catch {
    throw ApplicationFailure.nonRetryable(`invalid url "${request.url}"`, 'HttpRequestError');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw ApplicationFailure.nonRetryable(`unsupported url scheme "${url.protocol}" (use http or https)`, 'HttpRequestError');
  }
  for (const [key, value] of Object.entries(request.query ?? {})) {
    if (value === undefined || value === null) continue;
    for (const item of Array.isArray(value) ? value : [value]) {
      url.searchParams.append(key, typeof item === 'string' ? item : JSON.stringify(item));
    }
  }
  return url;
}

function isExpected(status: number, expect: number | number[] | undefined): boolean {
  if (expect === undefined) return status >= 200 && status < 300;
  return (Array.isArray(expect) ? expect : [expect]).includes(status);
}

async function readCapped(response: Response, what: string): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > MAX_RESPONSE_BYTES) {
    await response.body?.cancel();
    throw ApplicationFailure.nonRetryable(`${what}: response body of ${declared} bytes exceeds the ${MAX_RESPONSE_BYTES}-byte limit`, 'HttpResponseTooLarge');
  }
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > MAX_RESPONSE_BYTES) {
      throw ApplicationFailure.nonRetryable(`${what}: response body exceeds the ${MAX_RESPONSE_BYTES}-byte limit`, 'HttpResponseTooLarge');
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** `application/json`, `text/json` and any `+json` type (`application/problem+json`, `application/vnd.api+json`). */
const JSON_MEDIA_TYPE = /^(?:application|text)\/(?:[\w.!#$&^`|~-]+\+)?json$/i;

function parseBody(text: string, contentType: string | null): unknown {
  if (text === '') return null;
  if (contentType && JSON_MEDIA_TYPE.test(contentType.split(';')[0]!.trim())) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}
