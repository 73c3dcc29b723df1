import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { HttpRequest, HttpResponse } from '../activities/http.activity';

// The hand-written counterparts of the rows of `npm run bench -- --only table` (see table.ts):
// what one would write with Temporal alone, with the same http activity and the same requests.
const { httpRequest } = proxyActivities<{ httpRequest(request: HttpRequest): Promise<HttpResponse> }>({
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 3, initialInterval: '1s', backoffCoefficient: 2 },
});

const call = (url: string, step: string, body: unknown = { step }) =>
  httpRequest({ method: 'POST', url: `${url}/echo`, body, idempotencyKey: `${workflowInfo().workflowId}:${step}` });

/** `n` http calls, one after the other. */
export async function baselineChain(url: string, n: number): Promise<number> {
  for (let i = 1; i <= n; i++) await call(url, `s${i}`);
  return n;
}

/** `n` http calls at once. */
export async function baselineParallel(url: string, n: number): Promise<number> {
  await Promise.all(Array.from({ length: n }, (_, i) => call(url, `p${i + 1}`)));
  return n;
}

/** `n` times: compute a document from the previous answer, then send it. */
export async function baselineTransformChain(url: string, n: number): Promise<number> {
  let previous = 0;
  for (let i = 1; i <= n; i++) {
    const doc = { n: previous + 1, items: Array.from({ length: 20 }, (_, k) => ({ i: k + 1, sq: (k + 1) * (k + 1) })), label: `step-${previous + 1}` };
    const answer = await call(url, `send${i}`, doc);
    previous = (answer.body as { n: number }).n;
  }
  return previous;
}

/** One http call per item, at most `concurrency` at a time. */
export async function baselineMap(url: string, count: number, concurrency: number): Promise<number> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      await call(url, `item${index}`, { n: index });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  return count;
}

const { computeStep } = proxyActivities<{ computeStep(input: { op: 'add' | 'check'; value: number }): Promise<unknown> }>({
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 3, initialInterval: '1s', backoffCoefficient: 2 },
});

/**
 * The same chain as `n` inline transform/condition steps (see table.ts), each step an activity:
 * what the steps would cost if every one of them were a unit of work scheduled through Temporal.
 */
export async function baselineActivityChain(n: number): Promise<number> {
  let value = 0;
  for (let i = 1; i <= n / 2; i++) {
    value = (await computeStep({ op: 'add', value })) as number;
    await computeStep({ op: 'check', value });
  }
  return value;
}
