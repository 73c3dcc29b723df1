import WebSocket from 'ws';
import type { HttpStub } from '../test/support/http-stub';
import type { TestContext } from '../test/support/test-context';
import { summarize, type LatencySummary } from './stats';

/** Steps of the streamed run: after the `go` signal, this many `http` steps in a chain. */
const STEPS = 10;
/** How long one run (or one socket's set-up) may take before the benchmark gives up. */
const LIMIT_MS = 120_000;

/** The definition the stream-lag rows run: a wait for `go` (so every subscriber is listening first), then a chain of http steps. */
export function streamDefinition(url: string): Record<string, unknown> {
  const steps: Record<string, unknown> = { go: { type: 'wait', signal: 'go', timeout: '10m' } };
  for (let i = 1; i <= STEPS; i++) {
    steps[`s${i}`] = { type: 'http', method: 'POST', url: `${url}/stream`, needs: [i === 1 ? 'go' : `s${i - 1}`], body: { run: '{% $run.id %}', step: `s${i}` } };
  }
  return { name: 'bench-stream', steps };
}

/**
 * Live-stream lag: `runs` runs of {@link streamDefinition}, each watched by `subscribers`
 * graphql-ws subscriptions to `runEvents` (one socket each). A sample is, per subscriber and
 * per http step, the time from the HTTP stub's answer to the step's request (the step's work is
 * done) to that subscriber receiving the step's `STEP_SUCCEEDED`: the activity's completion
 * reaching the workflow, the audit write, PostgreSQL's notification and the fan-out.
 * Both clocks are this process's `Date.now()` (millisecond resolution).
 */
export async function measureStreamLag(ctx: TestContext, stub: HttpStub, subscribers: number, runs: number): Promise<LatencySummary> {
  stub.on('POST /stream', (request) => ({ body: request.body ?? {} }));
  const sockets = await Promise.all(Array.from({ length: subscribers }, () => Subscriber.connect(ctx.graphqlUrl)));
  const samples: number[] = [];
  try {
    for (let run = 0; run < runs; run++) {
      const { startRun } = await ctx.gql<{ startRun: { id: string } }>(`mutation { startRun(definition: "bench-stream", input: {}) { id } }`);
      const runId = startRun.id;
      const streams = sockets.map((socket) => socket.subscribe(runId));
      // Every subscriber has the stored events (at least RUN_STARTED) before the steps begin.
      await waitFor(`${subscribers} subscribers see run ${runId}`, () => streams.every((stream) => unfailed(stream).events.length > 0));
      await ctx.gql(`mutation($id: ID!) { signalRun(id: $id, signal: "go") { id } }`, { id: runId });
      await waitFor(`run ${runId} streams to its end`, () => streams.every((stream) => unfailed(stream).done));
      const answered = new Map<string, number>();
      for (const request of stub.received('POST /stream')) {
        const body = request.body as { run?: string; step?: string };
        if (body.run === runId && body.step && request.answeredAt !== undefined) answered.set(body.step, request.answeredAt);
      }
      for (const stream of streams) {
        for (const event of stream.events) {
          if (event.type !== 'STEP_SUCCEEDED' || event.stepId === 'go') continue;
          const at = answered.get(String(event.stepId));
          if (at === undefined) throw new Error(`no stub answer recorded for step ${event.stepId} of run ${runId}`);
          samples.push(event.receivedAt - at);
        }
      }
    }
  } finally {
    for (const socket of sockets) socket.close();
  }
  if (samples.length !== runs * subscribers * STEPS) throw new Error(`expected ${runs * subscribers * STEPS} lag samples, got ${samples.length}`);
  return summarize(samples);
}

type Received = { type: string; stepId: string | null; receivedAt: number };
/** One subscription's events; `failed` holds the server's error, if it sent one. */
type Stream = { events: Received[]; done: boolean; failed?: string };

/** One graphql-ws socket (graphql-transport-ws protocol), timestamping what it receives. */
class Subscriber {
  private nextId = 1;
  private readonly streams = new Map<string, Stream>();

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const receivedAt = Date.now();
      const message = JSON.parse(String(data)) as { type: string; id?: string; payload?: { data?: { runEvents?: { type: string; stepId: string | null } }; errors?: unknown } };
      const stream = message.id === undefined ? undefined : this.streams.get(message.id);
      if (!stream) return;
      if (message.type === 'next' && message.payload?.data?.runEvents) stream.events.push({ ...message.payload.data.runEvents, receivedAt });
      else if (message.type === 'complete') stream.done = true;
      else if (message.type === 'error' || message.payload?.errors) stream.failed = JSON.stringify(message.payload);
    });
  }

  static async connect(url: string): Promise<Subscriber> {
    const socket = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws');
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    const acknowledged = new Promise<void>((resolve, reject) => {
      socket.on('message', (data) => {
        if ((JSON.parse(String(data)) as { type: string }).type === 'connection_ack') resolve();
      });
      socket.once('close', (code, reason) => reject(new Error(`socket closed with ${code} ${String(reason)}`)));
    });
    socket.send(JSON.stringify({ type: 'connection_init', payload: {} }));
    await acknowledged;
    return new Subscriber(socket);
  }

  subscribe(runId: string): Stream {
    const id = String(this.nextId++);
    const stream: Stream = { events: [], done: false };
    this.streams.set(id, stream);
    this.socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query: `subscription($runId: ID!) { runEvents(runId: $runId) { type stepId } }`, variables: { runId } } }));
    return stream;
  }

  close(): void {
    this.socket.terminate();
  }
}

function unfailed(stream: Stream): Stream {
  if (stream.failed !== undefined) throw new Error(`subscription failed: ${stream.failed}`);
  return stream;
}

async function waitFor(what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + LIMIT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
