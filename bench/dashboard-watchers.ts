import { createInterface } from 'node:readline';
import type { Client } from 'graphql-ws';
import { wsClient } from '../test/support/graphql-client';
import { RUN_WATCH } from '../web/src/queries';

/**
 * The watchers of bench/dashboard-scale.ts, in a process of their own as browser tabs would be
 * (their clients' work must not count as the API's): `tsx bench/dashboard-watchers.ts <graphql
 * URL> <count>` opens `count` sockets; for each run id read from stdin, each socket subscribes to
 * what a tab of the run page opens (runWatch, the dashboard's own document),
 * prints `{"watching":true}` once each has the run's first state and, once every stream has
 * ended, one JSON line: what the watchers received.
 */
const [url, countText] = process.argv.slice(2);
const clients: Client[] = Array.from({ length: Number(countText) }, () => wsClient(url!));

type Received = { updates: number; finalStatus: string | undefined; steps: Record<string, string>; events: number; inOrder: boolean; bytes: number };

function watch(client: Client, runId: string, firstAnswer: () => void): Promise<Received> {
  const received: Received = { updates: 0, finalStatus: undefined, steps: {}, events: 0, inOrder: true, bytes: 0 };
  const stream = (query: string, variables: Record<string, unknown>, next: (data: any) => void) =>
    new Promise<void>((resolve, reject) => {
      client.subscribe(
        { query, variables },
        {
          next: ({ data }) => {
            // The payload's size as JSON: what the API serialized and wrote for this watcher.
            received.bytes += JSON.stringify(data).length;
            next(data);
          },
          error: reject,
          complete: resolve,
        },
      );
    });
  return stream(RUN_WATCH, { runId, afterSeq: 0 }, (data) => {
    if (++received.updates === 1) firstAnswer();
    received.finalStatus = data.runWatch.run.status;
    // Each answer lists the steps that changed: merged by id, as the page does.
    for (const step of data.runWatch.run.steps) received.steps[step.id] = step.status;
    for (const event of data.runWatch.events) {
      received.events++;
      if (event.seq !== received.events) received.inOrder = false;
    }
  }).then(() => received);
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (runId) => {
  // A first line once every watcher has the run's first state (they are watching), a second with what they received.
  let waiting = clients.length;
  const firstAnswer = () => {
    if (--waiting === 0) process.stdout.write(`${JSON.stringify({ watching: true })}\n`);
  };
  void Promise.all(clients.map((client) => watch(client, runId, firstAnswer))).then(
    (all) => process.stdout.write(`${JSON.stringify(all)}\n`),
    (err: unknown) => process.stdout.write(`${JSON.stringify({ error: String(err) })}\n`),
  );
});
lines.on('close', () => void Promise.all(clients.map((client) => client.dispose())).then(() => process.exit(0)));
