import type { Socket } from 'node:net';
import { buildSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocket, type WebSocketServer } from 'ws';
import { quietClientSocketErrors } from '../../src/api/client-socket-errors';
import { startGraphQLWsServer } from '../support/graphql-ws-server';

// graphql-ws and ws wired as the API wires them (src/api/api-server.ts), on a schema of their
// own. A write to a client that is gone fails: graphql-ws printed that as an "Internal error …
// Please check your implementation" (seen as "write EPIPE" when a dashboard tab closed while a
// message was on its way). The server side of the socket is at hand here, which the API's is not.

const schema = buildSchema('type Query { ok: Boolean }');

let server: Awaited<ReturnType<typeof startGraphQLWsServer>>;
let wss: WebSocketServer;
let url: string;

beforeAll(async () => {
  server = await startGraphQLWsServer((socketServer) => {
    useServer({ schema, isProd: true }, socketServer);
    quietClientSocketErrors(socketServer);
  });
  ({ wss, url } = server);
});

afterAll(() => server.stop());

it('a write to a client whose connection is gone ends quietly', async () => {
  const logged = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  try {
    const accepted = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
    const client = new WebSocket(url, 'graphql-transport-ws');
    await new Promise((resolve, reject) => client.once('open', resolve).once('error', reject));
    const server = await accepted;
    const acked = new Promise((resolve) => client.once('message', resolve));
    client.send(JSON.stringify({ type: 'connection_init' }));
    await acked;
    const closed = new Promise((resolve) => server.once('close', resolve));
    // The connection breaks, and in the same turn a ping arrives that graphql-ws answers: ws has
    // not seen the close yet, so the socket still looks open and the pong's write fails.
    (server as unknown as { _socket: Socket })._socket.destroy();
    server.emit('message', Buffer.from(JSON.stringify({ type: 'ping' })), false);
    await closed;
    await new Promise((resolve) => setImmediate(resolve));
    expect(logged).not.toHaveBeenCalled();
  } finally {
    logged.mockRestore();
  }
});
