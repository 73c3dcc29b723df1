import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the stub received, with when it arrived and when the stub answered. */
export type StubRequest = {
  method: string;
  path: string;
  /** The request target as sent: path and query. */
  url: string;
  headers: http.IncomingHttpHeaders;
  body: unknown;
  receivedAt: number;
  answeredAt?: number;
};

/** A reply: `body` is sent as JSON, or `text` as it is (for bodies JSON.stringify cannot write). */
export type StubReply = { status?: number; body?: unknown; text?: string; headers?: Record<string, string>; delayMs?: number };
export type StubHandler = (request: StubRequest, callIndex: number) => StubReply | Promise<StubReply>;

/**
 * A local HTTP server standing in for the services a workflow calls (the only thing tests mock).
 * Routes are `"METHOD /path"`; unknown routes answer 404. Every request is recorded.
 */
export class HttpStub {
  readonly requests: StubRequest[] = [];
  private readonly routes = new Map<string, StubHandler>();
  private readonly server = http.createServer((req, res) => void this.handle(req, res));

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Answers `route` with `handler` (or a fixed reply). */
  on(route: string, handler: StubHandler | StubReply): this {
    this.routes.set(route, typeof handler === 'function' ? handler : () => handler);
    return this;
  }

  /** Requests received on one route, in arrival order. */
  received(route: string): StubRequest[] {
    return this.requests.filter((r) => `${r.method} ${r.path}` === route);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: keep the text
    }
    const path = (req.url ?? '/').split('?')[0]!;
    const record: StubRequest = { method: req.method ?? 'GET', path, url: req.url ?? '/', headers: req.headers, body, receivedAt: Date.now() };
    this.requests.push(record);
    const route = `${record.method} ${path}`;
    const handler = this.routes.get(route);
    const reply = handler ? await handler(record, this.received(route).length - 1) : { status: 404, body: { error: `no route ${route}` } };
    // unref: a reply still being delayed when the test ends must not keep jest alive.
    if (reply.delayMs) await new Promise((resolve) => setTimeout(resolve, reply.delayMs).unref());
    if (res.destroyed) return;
    record.answeredAt = Date.now();
    const payload = reply.text ?? (reply.body === undefined ? '' : JSON.stringify(reply.body));
    res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', ...reply.headers });
    res.end(payload);
  }
}
