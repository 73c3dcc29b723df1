import type { HttpRequest } from '../activities/http.activity';
import type { HttpAction, HttpStep } from '../definition/definition-schema';
import { setOwn } from '../definition/prototype-keys';
import { deferSecretTemplates } from './deferred-templates';
import { nonRetryable } from './step-failure';

/** Evaluates templates (a stand-in for the graph's own evaluator, with its bindings and budget): a value, or a promise of it. */
export type Evaluate = (value: unknown) => unknown;

/**
 * Resolves an `http` step or action into the request the activity performs. Strings that read
 * `$secret()` are left for the activity to resolve (see {@link deferSecretTemplates}).
 */
export async function resolveHttpRequest(
  action: HttpStep | HttpAction,
  evaluate: Evaluate,
  bindings: Record<string, unknown>,
  idempotencyKey: string,
): Promise<HttpRequest> {
  const fields = { method: action.method ?? 'GET', url: action.url, query: action.query, headers: action.headers, body: action.body };
  const { value, deferred } = deferSecretTemplates(fields, bindings);
  const resolved = (await evaluate(value)) as Record<string, unknown>;
  const { method, url, query, headers, body } = resolved;
  if (typeof method !== 'string') throw nonRetryable(`method evaluated to ${JSON.stringify(method)}, not a string`, 'ExpressionError');
  if (typeof url !== 'string') throw nonRetryable(`url evaluated to ${JSON.stringify(url)}, not a string`, 'ExpressionError');
  const request: HttpRequest = { method, url, idempotencyKey };
  if (query !== undefined && query !== null) request.query = query as Record<string, unknown>;
  if (headers !== undefined && headers !== null) request.headers = stringifyValues(headers as Record<string, unknown>);
  if (body !== undefined) request.body = body;
  if (action.expectStatus !== undefined) request.expectStatus = action.expectStatus;
  // Only when set, so the activity input of definitions without it stays as recorded in history.
  if (action.followRedirects !== undefined) request.followRedirects = action.followRedirects;
  if (deferred) request.deferred = deferred;
  return request;
}

function stringifyValues(record: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(record)) {
    if (value === undefined || value === null) continue;
    setOwn(out, key, typeof value === 'string' ? value : JSON.stringify(value));
  }
  return out;
}
