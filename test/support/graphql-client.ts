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
