import type { WebSocket, WebSocketServer } from 'ws';
import { errorFields, logger } from '../observability/logger';

type SendCallback = (err?: Error) => void;

/**
 * Errors a client causes on its own socket are the client's, not the server's. graphql-ws
 * (`use/ws`) prints every WebSocket error, and every write that fails, with `console.error` as an
 * "Internal error … Please check your implementation", stack trace included, and closes the
 * socket again with 1011: anyone able to open a socket, before authenticating, could fill the
 * server's stderr with them (a message over the size limit is one each), and a dashboard tab
 * closed while a message was on its way printed "write EPIPE". Instead, logged at debug level:
 * - a socket's `'error'` (an oversized or malformed frame, which `ws` answers itself by closing
 *   the socket with 1009 or 1002);
 * - a write that fails because the connection is gone: it resolves as sent, and the socket's
 *   `'close'`, which follows, ends its subscriptions.
 *
 * Call after graphql-ws's `useServer`: its `'connection'` listener has attached its own error
 * listener to the socket by then, which this one replaces.
 */
export function quietClientSocketErrors(wsServer: WebSocketServer): void {
  wsServer.on('connection', (socket: WebSocket) => {
    socket.removeAllListeners('error');
    // `ws` needs a listener: an 'error' without one would throw.
    socket.on('error', (err) => logger.debug({ component: 'graphql-ws', ...errorFields(err, false) }, 'a client socket failed'));
    const send = socket.send.bind(socket) as (data: unknown, options: object, callback: SendCallback) => void;
    socket.send = ((data: unknown, optionsOrCallback?: object | SendCallback, callback?: SendCallback) => {
      const done = typeof optionsOrCallback === 'function' ? optionsOrCallback : callback;
      send(data, typeof optionsOrCallback === 'object' ? optionsOrCallback : {}, (err) => {
        if (err) logger.debug({ component: 'graphql-ws', ...errorFields(err, false) }, 'a message could not reach its client');
        done?.();
      });
    }) as WebSocket['send'];
  });
}
