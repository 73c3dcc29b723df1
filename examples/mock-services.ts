/**
 * Stand-ins for the payment, stock and shipping services `order-fulfilment.json` calls, so the
 * example runs on a machine with nothing else installed: `npm run example:services`.
 *
 * - a charge's risk is 0.9 when the total is above 1000 (the run holds the order), else 0.1;
 * - reserving stock for an order id starting with `fail-` answers 409, which fails the run and
 *   triggers the saga: the charge is refunded;
 * - every call is logged, so you can watch what the workflow does.
 */
import http from 'node:http';
import { randomUUID } from 'node:crypto';

const port = Number(process.argv[2] ?? 4010);

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
  .listen(port, '127.0.0.1', () => console.log(`example services on http://127.0.0.1:${port}`));
