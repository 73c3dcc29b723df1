import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

/**
 * A WebSocket server on a free loopback port, for tests that wire graphql-ws and ws as the API
 * does (src/api/api-server.ts) on a schema of their own: `wire` installs graphql-ws and what the
 * API installs after it. `stop()` drops every client and closes the server.
 */
export async function startGraphQLWsServer(wire: (wss: WebSocketServer) => void): Promise<{ url: string; wss: WebSocketServer; stop(): Promise<void> }> {
  const http = createServer();
  const wss = new WebSocketServer({ server: http, path: '/graphql' });
  wire(wss);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    url: `ws://127.0.0.1:${(http.address() as AddressInfo).port}/graphql`,
    wss,
    async stop() {
      for (const client of wss.clients) client.terminate();
      await new Promise((resolve) => wss.close(resolve));
      await new Promise((resolve) => http.close(resolve));
    },
  };
}
