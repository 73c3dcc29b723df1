/**
 * Stand-ins for the payment, stock and shipping services `order-fulfilment.json` calls, so the
 * example runs on a machine with nothing else installed: `npm run example:services` (port 4010),
 * or `npm run example:services -- --port 4011`. The definition finds them through the variable
 * `SERVICES_URL` (`trellis vars set SERVICES_URL http://127.0.0.1:4010`).
 *
 * - a charge's risk is 0.9 when the total is above 1000 (the run holds the order), else 0.1;
 * - reserving stock for an order id starting with `fail-` answers 409, which fails the run and
 *   triggers the saga: the charge is refunded;
 * - every call is logged, so you can watch what the workflow does.
 */
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';

const DEFAULT_PORT = 4010;

/** `--port <n>` (0: any free port), default 4010. */
function portOption(): number {
  let text: string | undefined;
  try {
    text = parseArgs({ options: { port: { type: 'string', short: 'p' } } }).values.port;
  } catch (err) {
    console.error(`${(err as Error).message}\nusage: npm run example:services -- [--port <n>]`);
    process.exit(2);
  }
  const port = text === undefined ? DEFAULT_PORT : /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(port >= 0 && port <= 65535)) {
    console.error(`--port must be a port number (0 to 65535), not "${text}"`);
    process.exit(2);
  }
  return port;
}

const port = portOption();

type Reply = { status: number; body: unknown };

function route(method: string, path: string, body: Record<string, unknown>): Reply {
  if (method === 'POST' && path === '/payments/charges') {
    const amount = Number(body.amount);
    return { status: 201, body: { id: `ch_${randomUUID().slice(0, 8)}`, amount, risk: amount > 1000 ? 0.9 : 0.1 } };
  }
  if (method === 'POST' && path === '/payments/refunds') return { status: 201, body: { id: `re_${randomUUID().slice(0, 8)}`, charge: body.charge } };
  if (method === 'POST' && path === '/stock/reservations') {
    if (String(body.order).startsWith('fail-')) return { status: 409, body: { error: 'out of stock' } };
    return { status: 201, body: { id: `rs_${randomUUID().slice(0, 8)}` } };
  }
  if (method === 'DELETE' && path.startsWith('/stock/reservations/')) return { status: 204, body: null };
  if (method === 'POST' && path === '/shipping/shipments') return { status: 201, body: { trackingNumber: `TRK${Date.now()}` } };
  return { status: 404, body: { error: `no route ${method} ${path}` } };
}

http
  .createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: Record<string, unknown> = {};
      try {
        body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>) : {};
      } catch {
        // not JSON: route with an empty body
      }
      const reply = route(req.method ?? 'GET', req.url ?? '/', body);
      console.log(`${req.method} ${req.url} ${JSON.stringify(body)} -> ${reply.status} (Idempotency-Key: ${req.headers['idempotency-key'] ?? '-'})`);
      res.writeHead(reply.status, { 'content-type': 'application/json' });
      res.end(reply.body === null ? '' : JSON.stringify(reply.body));
    });
  })
  .listen(port, '127.0.0.1', function (this: http.Server) {
    const url = `http://127.0.0.1:${(this.address() as { port: number }).port}`;
    console.log(`example services on ${url}`);
    console.log(`the definition finds them with: npm run trellis -- vars set SERVICES_URL ${url}`);
  });
