import type { ExecutionResult } from 'graphql';
import type { Context } from 'graphql-ws';
import type { Extra } from 'graphql-ws/use/ws';
import type { WebSocket, WebSocketServer } from 'ws';

/**
 * The JSON of each subscription result, serialized once however many sockets it goes to.
 * graphql-ws serializes every `next` message for its socket: the result 50 dashboards watching
 * one run share (shared-subscription-results.ts) was serialized 50 times, ~40 ms of the API's
 * CPU per run of 30 calls. Here graphql-ws serializes a placeholder instead (its `onNext` hook
 * may replace the payload), and the socket's `send` swaps that message, matched exactly, for the
 * real one, made of the placeholder message's envelope and the result's JSON.
 *
 * Install with {@link shareResultJson} after graphql-ws's `useServer`, and pass
 * {@link sharedNextPayload} as its `onNext`.
 */

/** The result's JSON as graphql-ws would send it: its fields, errors as their `toJSON()`. */
const serialized = new WeakMap<ExecutionResult, string>();

/** By socket: the placeholder message graphql-ws will send, and the message to send instead. */
const pending = new WeakMap<WebSocket, Map<string, string>>();

const PLACEHOLDER_FIELD = '\u0000trellis-shared-result';
let placeholders = 0;

function resultJson(result: ExecutionResult): string {
  let json = serialized.get(result);
  if (json === undefined) {
    const { errors, ...rest } = result;
    json = JSON.stringify(errors ? { ...rest, errors: errors.map((error) => error.toJSON()) } : rest);
    serialized.set(result, json);
  }
  return json;
}

/** graphql-ws's `onNext`: a placeholder payload, swapped for the result's shared JSON when sent. */
export function sharedNextPayload(ctx: Context<Record<string, unknown> | undefined, Extra>, id: string, _payload: unknown, _args: unknown, result: ExecutionResult): ExecutionResult {
  const placeholder = { [PLACEHOLDER_FIELD]: ++placeholders };
  // The message graphql-ws sends (graphql-transport-ws: id, type, then payload), as JSON.stringify writes it.
  const envelope = `{"id":${JSON.stringify(id)},"type":"next","payload":`;
  let messages = pending.get(ctx.extra.socket);
  if (!messages) pending.set(ctx.extra.socket, (messages = new Map()));
  messages.set(`${envelope}${JSON.stringify(placeholder)}}`, `${envelope}${resultJson(result)}}`);
  return placeholder as ExecutionResult;
}

/** Makes each socket's `send` swap placeholder messages for the real ones (see {@link sharedNextPayload}). */
export function shareResultJson(wsServer: WebSocketServer): void {
  wsServer.on('connection', (socket: WebSocket) => {
    const send = socket.send.bind(socket);
    socket.send = ((data: unknown, ...rest: unknown[]) => {
      const messages = pending.get(socket);
      const real = typeof data === 'string' ? messages?.get(data) : undefined;
      if (real !== undefined) messages!.delete(data as string);
      return (send as (...args: unknown[]) => void)(real ?? data, ...rest);
    }) as WebSocket['send'];
  });
}
