import WebSocket from 'ws';
import { until } from './until';

/** A message of the graphql-transport-ws protocol, as the server sent it. */
export type ServerMessage = { type: string; id?: string; payload?: any };

/**
 * A graphql-ws connection driven message by message (unlike graphql-ws's client, which hides the
 * protocol), so a test can send an operation at an exact moment and see every answer and the
 * close code.
 */
export class GraphQLSocket {
  readonly messages: ServerMessage[] = [];
  /** Set once the server closed the socket (or the connection was cut: code 1006). */
  closed: { code: number; reason: string } | undefined;
  private nextId = 1;

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => this.messages.push(JSON.parse(String(data)) as ServerMessage));
    socket.on('close', (code, reason) => (this.closed = { code, reason: String(reason) }));
  }

  /**
   * Opens a socket to the API at `url` (http:// becomes ws://) and sends `connection_init` with
   * `apiKey` as the Authorization parameter. Resolves once acknowledged.
   * @throws when the server refuses the upgrade or closes the socket instead of acknowledging
   */
  static async connect(url: string, apiKey?: string, options: { headers?: Record<string, string>; origin?: string } = {}): Promise<GraphQLSocket> {
    const socket = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws', { headers: options.headers, origin: options.origin });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
      socket.once('unexpected-response', (_request, response) => reject(new Error(`upgrade refused: HTTP ${response.statusCode}`)));
    });
    const connection = new GraphQLSocket(socket);
    socket.send(JSON.stringify({ type: 'connection_init', payload: apiKey ? { Authorization: `Bearer ${apiKey}` } : {} }));
    await until('the connection is acknowledged or closed', () => connection.closed !== undefined || connection.messages.some((m) => m.type === 'connection_ack'));
    if (connection.closed) throw new Error(`connection closed with ${connection.closed.code} ${connection.closed.reason}`);
    return connection;
  }

  /** Sends an operation; returns its id. */
  subscribe(query: string, variables: Record<string, unknown> = {}): string {
    const id = String(this.nextId++);
    this.socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables } }));
    return id;
  }

  /** Ends an operation from the client's side. */
  complete(id: string): void {
    this.socket.send(JSON.stringify({ id, type: 'complete' }));
  }

  /** The messages about operation `id` so far. */
  about(id: string): ServerMessage[] {
    return this.messages.filter((message) => message.id === id);
  }

  /** Waits until operation `id` has an answer (`next`, `error` or `complete`), or the socket is closed; returns its messages. */
  async settled(id: string, limitMs?: number): Promise<ServerMessage[]> {
    await until(`operation ${id} is answered`, () => this.closed !== undefined || this.about(id).length > 0, limitMs);
    return this.about(id);
  }

  /** Waits until the server closes the socket; returns the code and reason. */
  async closedBy(limitMs?: number): Promise<{ code: number; reason: string }> {
    await until('the server closes the socket', () => this.closed !== undefined, limitMs);
    return this.closed!;
  }

  close(): void {
    this.socket.terminate();
  }
}

/**
 * Tries a WebSocket upgrade and resolves with the HTTP status the server answered: 101 when it
 * switched protocols, else the refusal's status (with its body).
 */
export function upgradeStatus(url: string, options: { headers?: Record<string, string>; origin?: string } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws', { headers: options.headers, origin: options.origin });
    socket.once('open', () => {
      socket.terminate();
      resolve({ status: 101, body: '' });
    });
    socket.once('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    socket.once('error', (err) => reject(err));
  });
}
