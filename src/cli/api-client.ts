import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { FieldError } from '../errors';
import { CliError, EXIT_CODES } from './cli-error';

/** One error of a GraphQL response, as the Trellis API formats it. */
type GraphQLErrorPayload = { message: string; extensions?: { code?: unknown; errors?: unknown } };
type GraphQLResponse<T> = { data?: T | null; errors?: GraphQLErrorPayload[] };

/** A client for the Trellis GraphQL API: queries and mutations over HTTP, subscriptions over graphql-ws. */
export type ApiClient = {
  readonly url: string;
  /**
   * Runs a query or mutation and returns its `data`.
   * @throws CliError with the API's message, code and field errors, or with
   * {@link EXIT_CODES.unreachable} when the API cannot be reached.
   */
  request<T>(query: string, variables?: Record<string, unknown>): Promise<T>;
  /**
   * Runs a subscription, calling `onNext` with each payload's `data`, and resolves when the
   * server completes it.
   * @throws CliError as {@link ApiClient.request} does.
   */
  subscribe<T>(query: string, variables: Record<string, unknown>, onNext: (data: T) => void): Promise<void>;
  /** Closes the subscription socket, if one was opened. */
  close(): Promise<void>;
};

/**
 * A client for the API at `url` (`http(s)://host:port/graphql`); the WebSocket for subscriptions
 * opens on first use. With `apiKey`, every request and the WebSocket carry it.
 * @throws CliError when `url` is not an http(s) URL.
 */
export function createApiClient(url: string, apiKey?: string): ApiClient {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CliError(`--url: "${url}" is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new CliError(`--url: "${url}" is not an http(s) URL`);
  let ws: Client | undefined;

  return {
    url,
    async request<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
      let response: Response;
      try {
        response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
          body: JSON.stringify({ query, variables }),
        });
      } catch (err) {
        throw unreachable(url, err);
      }
      let body: GraphQLResponse<T>;
      try {
        body = (await response.json()) as GraphQLResponse<T>;
      } catch {
        throw new CliError(`the server at ${url} did not answer GraphQL (HTTP ${response.status}): is it the Trellis API?`, { exitCode: EXIT_CODES.unreachable });
      }
      if (body.errors?.length) throw fromGraphQLErrors(body.errors);
      if (body.data == null) throw new CliError(`the API at ${url} answered neither data nor errors (HTTP ${response.status})`);
      return body.data;
    },

    subscribe<T>(query: string, variables: Record<string, unknown>, onNext: (data: T) => void): Promise<void> {
      ws ??= createClient({
        url: url.replace(/^http/, 'ws'),
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        lazy: true,
        connectionParams: apiKey ? { Authorization: `Bearer ${apiKey}` } : undefined,
      });
      const client = ws;
      return new Promise((resolve, reject) => {
        let settled = false;
        let dispose: (() => void) | undefined;
        const fail = (err: CliError) => {
          if (settled) return;
          settled = true;
          dispose?.();
          reject(err);
        };
        dispose = client.subscribe<T>(
          { query, variables },
          {
            next: (value) => {
              if (value.errors?.length) return fail(fromGraphQLErrors(value.errors as GraphQLErrorPayload[]));
              try {
                onNext(value.data as T);
              } catch (err) {
                fail(err instanceof CliError ? err : new CliError(err instanceof Error ? err.message : String(err)));
              }
            },
            error: (err) => fail(fromSubscriptionError(url, err)),
            complete: () => {
              if (settled) return;
              settled = true;
              resolve();
            },
          },
        );
      });
    },

    async close(): Promise<void> {
      await ws?.dispose();
    },
  };
}

function unreachable(url: string, err: unknown): CliError {
  // fetch (undici) reports network failures as TypeError('fetch failed') with the socket error as
  // its cause; ws hands over the socket error itself.
  const socketError = (err instanceof Error && err.cause !== undefined ? err.cause : err) as { code?: unknown; message?: unknown } | undefined;
  const reason = typeof socketError?.code === 'string' ? socketError.code : typeof socketError?.message === 'string' ? socketError.message : undefined;
  const detail = reason ? ` (${reason})` : '';
  return new CliError(`cannot reach the Trellis API at ${url}: is \`npm start\` running?${detail}`, { exitCode: EXIT_CODES.unreachable });
}

function fromGraphQLErrors(errors: GraphQLErrorPayload[]): CliError {
  const first = errors[0]!;
  const code = typeof first.extensions?.code === 'string' ? first.extensions.code : undefined;
  const fieldErrors = errors.flatMap((e) => toFieldErrors(e.extensions?.errors));
  const message = errors.map((e) => withoutFieldErrors(e.message, toFieldErrors(e.extensions?.errors))).join('; ');
  return new CliError(message, { code, fieldErrors });
}

function toFieldErrors(value: unknown): FieldError[] {
  if (!Array.isArray(value)) return [];
  return value
    .filter((e): e is FieldError => typeof e === 'object' && e !== null && typeof e.path === 'string' && typeof e.message === 'string')
    .map(({ path, message }) => ({ path, message }));
}

/**
 * The API spells every field error out in the message too ("invalid definition: /steps/a x; …")
 * for clients that show only messages; the CLI lists them one a line, so it keeps the head.
 */
function withoutFieldErrors(message: string, fieldErrors: FieldError[]): string {
  if (fieldErrors.length === 0) return message;
  const suffix = `: ${fieldErrors.map((e) => `${e.path || '/'} ${e.message}`).join('; ')}`;
  return message.endsWith(suffix) ? message.slice(0, -suffix.length) : message;
}

/** graphql-ws hands `error` a list of GraphQL errors, or the socket's error or close event. */
function fromSubscriptionError(url: string, err: unknown): CliError {
  if (Array.isArray(err)) return fromGraphQLErrors(err as GraphQLErrorPayload[]);
  if (err instanceof CliError) return err;
  if (isCloseEvent(err)) {
    const reason = err.reason ? `: ${err.reason}` : '';
    return new CliError(`the Trellis API at ${url} closed the subscription (${err.code}${reason})`, { exitCode: EXIT_CODES.unreachable });
  }
  return unreachable(url, err instanceof Error ? err : (err as { error?: unknown }).error);
}

function isCloseEvent(err: unknown): err is { code: number; reason: string } {
  return typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'number' && 'reason' in err;
}
