import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export type GraphQLResponse<T> = { data?: T; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };

/** POSTs one operation to `url` (with `apiKey` as a Bearer token) and returns the parsed response, errors included. */
export async function graphql<T = Record<string, unknown>>(url: string, query: string, variables: Record<string, unknown> = {}, apiKey?: string): Promise<GraphQLResponse<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as GraphQLResponse<T>;
}

/** Like {@link graphql} but fails the test on any GraphQL error. */
export async function graphqlData<T = Record<string, unknown>>(url: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const result = await graphql<T>(url, query, variables);
  if (result.errors?.length || !result.data) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
  return result.data;
}

/** A graphql-ws client for the API at `url` (http:// is turned into ws://), sending `apiKey` when given. */
export function wsClient(url: string, apiKey?: string): Client {
  const connectionParams = apiKey ? { Authorization: `Bearer ${apiKey}` } : undefined;
  return createClient({ url: url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, lazy: true, connectionParams });
}

/**
 * Runs a subscription until the server completes it and returns every `next` payload.
 * Rejects with the server's errors.
 */
export function collectSubscription<T>(client: Client, query: string, variables: Record<string, unknown>, onNext?: (value: T) => void): Promise<T[]> {
  const values: T[] = [];
  return new Promise((resolve, reject) => {
    client.subscribe<T>(
      { query, variables },
      {
        next: (value) => {
          if (value.errors) return reject(new Error(JSON.stringify(value.errors)));
          values.push(value.data as T);
          onNext?.(value.data as T);
        },
        error: (err) => reject(err instanceof Error ? err : new Error(JSON.stringify(err))),
        complete: () => resolve(values),
      },
    );
  });
}

/**
 * POSTs a request body given as JSON text, for bodies `JSON.stringify` cannot write (values nested
 * thousands of levels); returns the HTTP status and the parsed response.
 */
export async function graphqlText<T = Record<string, unknown>>(url: string, body: string): Promise<{ status: number; response: GraphQLResponse<T> }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { status: response.status, response: (await response.json()) as GraphQLResponse<T> };
}

/**
 * Runs one operation over the graphql-ws protocol with the `payload` of its `subscribe` message
 * given as JSON text (see {@link graphqlText}), and returns what the server answered: the
 * `next` results' errors and data, or the errors of an `error` message.
 */
export function graphqlWsText<T = Record<string, unknown>>(url: string, payload: string): Promise<GraphQLResponse<T>> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws');
    const result: GraphQLResponse<T> = {};
    const finish = (): void => {
      socket.close();
      resolve(result);
    };
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init' })));
    socket.on('error', reject);
    socket.on('close', (code, reason) => reject(new Error(`socket closed (${code} ${reason.toString()}) before the operation ended`)));
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string; payload?: any };
      if (message.type === 'connection_ack') socket.send(`{"id": "1", "type": "subscribe", "payload": ${payload}}`);
      else if (message.type === 'next') Object.assign(result, message.payload);
      else if (message.type === 'error') {
        result.errors = message.payload;
        finish();
      } else if (message.type === 'complete') finish();
    });
  });
}
