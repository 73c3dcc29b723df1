import type { WebSocket, WebSocketServer } from 'ws';
import { logger } from '../observability/logger';

/**
 * Errors a client causes on its own socket are the client's, not the server's. graphql-ws
 * (`use/ws`) prints every WebSocket error with `console.error` as an "Internal error … Please
 * check your implementation", stack trace included, and closes the socket again with 1011:
 * anyone able to open a socket, before authenticating, could fill the server's stderr with them
 * (a message over the size limit is one each). Such an error (an oversized or malformed frame,
 * which `ws` answers itself by closing the socket with 1009 or 1002) is logged at debug level
 * instead.
 *
 * Call after graphql-ws's `useServer`: its `'connection'` listener has attached its own error
 * listener to the socket by then, which this one replaces.
 */
export function quietClientSocketErrors(wsServer: WebSocketServer): void {
  wsServer.on('connection', (socket: WebSocket) => {
    socket.removeAllListeners('error');
    // `ws` needs a listener: an 'error' without one would throw.
    socket.on('error', (err) => logger.debug({ component: 'graphql-ws', err: { message: err.message, code: (err as { code?: unknown }).code } }, 'a client socket failed'));
  });
}
