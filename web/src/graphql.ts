import { createClient, type Client } from 'graphql-ws';
import { authorization, onApiKeyChange } from './api-key';

/** One `{path, message}` of a BAD_USER_INPUT error (a JSON pointer and what is wrong there). */
export type InputError = { path: string; message: string };

/** A GraphQL error answer: the first error's message and `extensions.code`, and every input error. */
export class GraphQLRequestError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
    readonly errors: InputError[] = [],
  ) {
    super(message);
    this.name = 'GraphQLRequestError';
  }
}

type Listener = () => void;
const unauthenticatedListeners = new Set<Listener>();

/** Called whenever the API answers UNAUTHENTICATED (over HTTP or by closing the socket with 4403). */
export function onUnauthenticated(listener: Listener): () => void {
  unauthenticatedListeners.add(listener);
  return () => unauthenticatedListeners.delete(listener);
}

const ENDPOINT = '/graphql';

type ErrorPayload = { message: string; extensions?: { code?: string; errors?: InputError[] } };

function errorOf(errors: readonly ErrorPayload[]): GraphQLRequestError {
  const first = errors[0]!;
  const error = new GraphQLRequestError(first.message, first.extensions?.code, first.extensions?.errors ?? []);
  if (error.code === 'UNAUTHENTICATED') unauthenticatedListeners.forEach((listener) => listener());
  return error;
}

/**
 * POSTs one operation to the API with the stored key.
 * @throws GraphQLRequestError with the first error's code (UNAUTHENTICATED also tells the key prompt)
 */
export async function request<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const auth = authorization();
  if (auth) headers.authorization = auth;
  const response = await fetch(ENDPOINT, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  let body: { data?: T; errors?: ErrorPayload[] };
  try {
    body = (await response.json()) as typeof body;
  } catch {
    throw new GraphQLRequestError(`the API answered ${response.status} ${response.statusText}`, undefined);
  }
  if (body.errors?.length) throw errorOf(body.errors);
  if (!body.data) throw new GraphQLRequestError('the API answered no data', undefined);
  return body.data;
}

let socket: Client | undefined;

/** The shared graphql-ws client; recreated with the new key when the key changes. */
function socketClient(): Client {
  if (!socket) {
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${ENDPOINT}`;
    socket = createClient({
      url,
      lazy: true,
      retryAttempts: Infinity,
      // The key travels in the connection's init payload, as the API expects.
      connectionParams: () => {
        const auth = authorization();
        return auth ? { Authorization: auth } : {};
      },
      shouldRetry: (event) => !(isCloseEvent(event) && event.code === 4403),
      on: {
        closed: (event) => {
          if (isCloseEvent(event) && event.code === 4403) unauthenticatedListeners.forEach((listener) => listener());
        },
      },
    });
  }
  return socket;
}

function isCloseEvent(event: unknown): event is CloseEvent {
  return typeof event === 'object' && event !== null && 'code' in event;
}

onApiKeyChange(() => {
  const old = socket;
  socket = undefined;
  void old?.dispose();
  resubscribeListeners.forEach((listener) => listener());
});

const resubscribeListeners = new Set<Listener>();

/** Called when subscriptions must be opened again (a new key means a new socket). */
export function onResubscribe(listener: Listener): () => void {
  resubscribeListeners.add(listener);
  return () => resubscribeListeners.delete(listener);
}

/**
 * Subscribes over graphql-ws; `next` gets each payload's data. Returns the function that stops it.
 * `variables` may be changed in place before a reconnect (to resume after the last event seen).
 */
export function subscribe<T>(
  query: string,
  variables: Record<string, unknown>,
  handlers: { next: (data: T) => void; error?: (error: GraphQLRequestError) => void; complete?: () => void },
): () => void {
  const payload = { query, variables };
  return socketClient().subscribe<T>(payload, {
    next: (value) => {
      if (value.errors?.length) handlers.error?.(errorOf(value.errors as ErrorPayload[]));
      else if (value.data) handlers.next(value.data as T);
    },
    error: (err) => {
      if (Array.isArray(err)) handlers.error?.(errorOf(err as ErrorPayload[]));
      else handlers.error?.(new GraphQLRequestError(err instanceof Error ? err.message : 'the live connection closed', isCloseEvent(err) && err.code === 4403 ? 'UNAUTHENTICATED' : undefined));
    },
    complete: () => handlers.complete?.(),
  });
}
