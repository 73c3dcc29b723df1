import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { DeferredTemplates } from '../interpreter/deferred-templates';
import { redactSecrets, resolveDeferred, type SecretResolver } from './deferred-values';

/** A fully resolved `http` step or compensation, as the interpreter hands it over. */
export type HttpRequest = {
  method: string;
  url: string;
  query?: Record<string, unknown>;
  headers?: Record<string, string>;
  body?: unknown;
  /** Statuses that count as success; default: any 2xx. */
  expectStatus?: number | number[];
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

const RETRYABLE_4XX = new Set([408, 429]);

/** The `httpRequest` activity, able to resolve the secrets a request reads. */
export function createHttpActivity(secrets: SecretResolver | undefined): (request: HttpRequest) => Promise<HttpResponse> {
  return async (request) => {
    let used = new Map<string, string>();
    try {
      const { deferred, tenantId, ...rest } = request;
      const resolved = await resolveDeferred(rest, deferred, tenantId, secrets);
      used = resolved.used;
      return redactSecrets(await httpRequest(resolved.value), used);
    } catch (err) {
      if (Context.current().cancellationSignal.aborted) throw err;
      throw redactFailure(err, used);
    }
  };
}

/** A failure whose message and details carry no secret value (they reach history and the audit trail). */
export function redactFailure(err: unknown, used: ReadonlyMap<string, string>): unknown {
  if (used.size === 0 && !(err instanceof Error && err.name === 'SecretNotFoundError')) return err;
  if (err instanceof ApplicationFailure) {
    return ApplicationFailure.create({
      message: redactSecrets(err.message, used),
      type: err.type ?? undefined,
      nonRetryable: err.nonRetryable ?? undefined,
      details: redactSecrets(err.details ?? [], used) as unknown[],
    });
  }
  const message = redactSecrets(err instanceof Error ? err.message : String(err), used);
  const type = err instanceof Error && err.name !== 'Error' ? err.name : 'SecretResolutionError';
  return ApplicationFailure.create({ message, type, nonRetryable: true });
}

/**
 * Performs one HTTP request (one attempt: the interpreter owns retries, so that every attempt is
 * audited). Non-2xx answers (unless `expectStatus` lists them) fail; 4xx other than 408 and 429
 * fail with a non-retryable `HttpStatusError`, 5xx and network errors with a retryable one.
 */
export async function httpRequest(request: HttpRequest): Promise<HttpResponse> {
  const url = buildUrl(request);
  const method = request.method.toUpperCase();
  const headers = new Headers(request.headers ?? {});
  headers.set('Idempotency-Key', request.idempotencyKey);
  let body: string | undefined;
  if (request.body !== undefined && request.body !== null && method !== 'GET' && method !== 'HEAD') {
    if (typeof request.body === 'string') {
      body = request.body;
    } else {
      body = JSON.stringify(request.body);
      if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    }
  }

  let response: Response;
  try {
    response = await fetch(url, { method, headers, body, signal: Context.current().cancellationSignal, redirect: 'follow' });
  } catch (err) {
    if (Context.current().cancellationSignal.aborted) throw err;
    const reason = err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
    throw ApplicationFailure.retryable(`${method} ${url.origin}${url.pathname} failed: ${reason}`, 'HttpNetworkError');
  }

  const text = await readCapped(response, `${method} ${url.origin}${url.pathname}`);
  const parsed = parseBody(text, response.headers.get('content-type'));
  const result: HttpResponse = { status: response.status, headers: Object.fromEntries(response.headers), body: parsed };

  if (!isExpected(response.status, request.expectStatus)) {
    const message = `${method} ${url.origin}${url.pathname} answered ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
    const nonRetryable = response.status >= 400 && response.status < 500 && !RETRYABLE_4XX.has(response.status);
    throw ApplicationFailure.create({
      message,
      type: 'HttpStatusError',
      nonRetryable,
      details: [{ status: response.status, body: typeof parsed === 'string' ? parsed.slice(0, 2048) : parsed }],
    });
  }
  return result;
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

function parseBody(text: string, contentType: string | null): unknown {
  if (text === '') return null;
  if (contentType && /\bjson\b/i.test(contentType)) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}
