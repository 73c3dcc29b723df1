import { createInterface } from 'node:readline';
import type { Client } from 'graphql-ws';
import { wsClient } from '../test/support/graphql-client';
import { RUN_EVENT_BATCHES, RUN_UPDATED } from '../web/src/queries';

/**
 * The watchers of bench/dashboard-scale.ts, in a process of their own as browser tabs would be
 * (their clients' work must not count as the API's): `tsx bench/dashboard-watchers.ts <graphql
 * URL> <count>` opens `count` sockets; for each run id read from stdin, each socket subscribes to
 * what a tab of the run page opens (runUpdated and runEventBatches, the dashboard's own documents) and, once every stream has ended,
 * prints one JSON line: what the watchers received.
 */
const [url, countText] = process.argv.slice(2);
const clients: Client[] = Array.from({ length: Number(countText) }, () => wsClient(url!));

type Received = { updates: number; finalStatus: string | undefined; events: number; inOrder: boolean };

function watch(client: Client, runId: string): Promise<Received> {
  const received: Received = { updates: 0, finalStatus: undefined, events: 0, inOrder: true };
  const stream = (query: string, variables: Record<string, unknown>, next: (data: any) => void) =>
    new Promise<void>((resolve, reject) => {
      client.subscribe({ query, variables }, { next: ({ data }) => next(data), error: reject, complete: resolve });
    });
  return Promise.all([
    stream(RUN_UPDATED, { runId }, (data) => {
      received.updates++;
      received.finalStatus = data.runUpdated.status;
    }),
    stream(RUN_EVENT_BATCHES, { runId, afterSeq: 0 }, (data) => {
      for (const event of data.runEventBatches) {
        received.events++;
        if (event.seq !== received.events) received.inOrder = false;
      }
    }),
  ]).then(() => received);
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (runId) => {
  void Promise.all(clients.map((client) => watch(client, runId))).then(
    (all) => process.stdout.write(`${JSON.stringify(all)}\n`),
    (err: unknown) => process.stdout.write(`${JSON.stringify({ error: String(err) })}\n`),
  );
});
lines.on('close', () => void Promise.all(clients.map((client) => client.dispose())).then(() => process.exit(0)));
