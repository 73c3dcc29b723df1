import { makeExecutableSchema } from '@graphql-tools/schema';
import { GraphQLScalarType } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocket } from 'ws';
import { sharedPayload, subscribeSharingResults } from '../../graphql/shared-subscription-results';
import { quietClientSocketErrors } from '../../src/api/client-socket-errors';
import { shareResultJson, sharedNextPayload } from '../../src/api/shared-messages';
import type { Client, FormattedExecutionResult } from 'graphql-ws';
import { wsClient } from '../support/graphql-client';
import { startGraphQLWsServer } from '../support/graphql-ws-server';

// graphql-ws and ws wired as the API wires them (src/api/api-server.ts), on a schema of their
// own: subscribers of one tenant share each event's result, and its JSON. The event carries a
// value that counts how often it is serialized.

let serializations = 0;
const counted = {
  toJSON() {
    serializations++;
    return { n: 1 };
  },
};
// The same event objects for every subscriber, as a shared read gives them.
const EVENTS = [{ value: counted }, { value: 'second "quoted" \u2028 line' }];

const schema = makeExecutableSchema({
  typeDefs: `
    scalar Raw
    type Query { unused: Int }
    type Event { value: Raw fails: Int }
    type Subscription { events: Event! }`,
  resolvers: {
    // Passes values through as they are (as the API's JSON scalar does), toJSON included.
    Raw: new GraphQLScalarType({ name: 'Raw', serialize: (value) => value }),
    Subscription: {
      events: {
        subscribe: async function* () {
          for (const event of EVENTS) yield sharedPayload('events', event);
        },
      },
    },
    Event: {
      fails: () => {
        throw new Error('this field always fails');
      },
    },
  },
});

/** Every result a subscription sends, errors included, until it completes. */
function allResults(client: Client, query: string): Promise<FormattedExecutionResult<Record<string, unknown>, unknown>[]> {
  const results: FormattedExecutionResult<Record<string, unknown>, unknown>[] = [];
  return new Promise((resolve, reject) => {
    client.subscribe({ query }, { next: (result) => void results.push(result), error: reject, complete: () => resolve(results) });
  });
}

let server: Awaited<ReturnType<typeof startGraphQLWsServer>>;
let url: string;

beforeAll(async () => {
  server = await startGraphQLWsServer((wss) => {
    useServer({ schema, isProd: true, subscribe: subscribeSharingResults, context: { tenantId: 'acme' }, onNext: sharedNextPayload }, wss);
    quietClientSocketErrors(wss);
    shareResultJson(wss);
  });
  url = server.url;
});

afterAll(() => server.stop());

it('serializes a result shared by many sockets once, and each gets it whole, errors included', async () => {
  const clients = Array.from({ length: 5 }, () => wsClient(url));
  try {
    const results = await Promise.all(clients.map((client) => allResults(client, 'subscription { events { value fails } }')));
    for (const result of results) {
      expect(result).toEqual([
        { data: { events: { value: { n: 1 }, fails: null } }, errors: [expect.objectContaining({ message: 'this field always fails', path: ['events', 'fails'] })] },
        { data: { events: { value: 'second "quoted" \u2028 line', fails: null } }, errors: [expect.objectContaining({ message: 'this field always fails' })] },
      ]);
    }
    expect(serializations).toBe(1);
  } finally {
    await Promise.all(clients.map((client) => client.dispose()));
  }
});

it('answers a ping whose payload looks like a placeholder with that payload', async () => {
  const client = new WebSocket(url, 'graphql-transport-ws');
  try {
    await new Promise((resolve, reject) => client.once('open', resolve).once('error', reject));
    const messages: string[] = [];
    const next = () => new Promise<string>((resolve) => client.once('message', (data) => resolve(String(data))));
    client.send(JSON.stringify({ type: 'connection_init' }));
    messages.push(await next());
    const payload = { '\u0000trellis-shared-result': 1 };
    client.send(JSON.stringify({ type: 'ping', payload }));
    messages.push(await next());
    expect(messages.map((message) => JSON.parse(message))).toEqual([{ type: 'connection_ack' }, { type: 'pong', payload }]);
  } finally {
    client.terminate();
  }
});
