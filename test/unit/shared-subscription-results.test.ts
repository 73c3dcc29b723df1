import { parse, type ExecutionResult } from 'graphql';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { sharedPayload, subscribeSharingResults } from '../../graphql/shared-subscription-results';

// A schema whose subscription yields the events a test pushes, and whose fields count their
// executions and show whose context executed them.
type Thing = { n: number };
type Context = { tenantId: string; caller: string };

let executions = 0;
let events: Thing[] = [];
let closed = 0;
/** Each subscriber gets its own copy of each event. */
let copies = false;
const schema = makeExecutableSchema({
  typeDefs: `
    type Query { unused: Int }
    type Thing { n: Int! tenant: String! times(by: Int!): Int! }
    type Subscription { thing(id: ID!): Thing! }`,
  resolvers: {
    Subscription: {
      thing: {
        subscribe: async function* () {
          try {
            for (const event of events) yield sharedPayload('thing', copies ? { ...event } : event);
          } finally {
            closed++;
          }
        },
      },
    },
    Thing: {
      tenant: (_: Thing, __: unknown, ctx: Context) => {
        executions++;
        return ctx.tenantId;
      },
      times: (thing: Thing, args: { by: number }) => thing.n * args.by,
    },
  },
});

const DOCUMENT = 'subscription($id: ID!) { thing(id: $id) { n tenant times(by: 2) } }';

async function subscribe(tenantId: string, options: { query?: string; id?: string; caller?: string } = {}) {
  const result = await subscribeSharingResults({
    schema,
    document: parse(options.query ?? DOCUMENT),
    variableValues: { id: options.id ?? 'a' },
    contextValue: { tenantId, caller: options.caller ?? 'key-1' } satisfies Context,
  });
  if (!(Symbol.asyncIterator in result)) throw new Error(`not a stream: ${JSON.stringify(result)}`);
  return result;
}

async function all(stream: AsyncGenerator<ExecutionResult>): Promise<ExecutionResult[]> {
  const results: ExecutionResult[] = [];
  for await (const result of stream) results.push(result);
  return results;
}

beforeEach(() => {
  executions = 0;
  closed = 0;
  copies = false;
  events = [{ n: 1 }, { n: 2 }];
});

describe('subscribeSharingResults', () => {
  it('executes an event once for every subscriber of one tenant running the same operation, whatever key each uses', async () => {
    const [first, second] = await Promise.all([all(await subscribe('acme', { caller: 'key-1' })), all(await subscribe('acme', { caller: 'key-2' }))]);
    expect(first.map((r) => r.data)).toEqual([
      { thing: { n: 1, tenant: 'acme', times: 2 } },
      { thing: { n: 2, tenant: 'acme', times: 4 } },
    ]);
    expect(second[0]).toBe(first[0]);
    expect(second[1]).toBe(first[1]);
    expect(executions).toBe(2);
  });

  it('never gives one tenant a result executed for another, even for the same event object and operation', async () => {
    const [acme, globex] = await Promise.all([all(await subscribe('acme')), all(await subscribe('globex'))]);
    expect(acme.map((r) => (r.data as { thing: { tenant: string } }).thing.tenant)).toEqual(['acme', 'acme']);
    expect(globex.map((r) => (r.data as { thing: { tenant: string } }).thing.tenant)).toEqual(['globex', 'globex']);
    expect(executions).toBe(4);
  });

  it('executes separately for other variables or another document', async () => {
    const results = await Promise.all([
      all(await subscribe('acme', { id: 'a' })),
      all(await subscribe('acme', { id: 'b' })),
      all(await subscribe('acme', { query: 'subscription($id: ID!) { thing(id: $id) { tenant times(by: 3) } }' })),
    ]);
    expect(results[2]!.map((r) => r.data)).toEqual([{ thing: { tenant: 'acme', times: 3 } }, { thing: { tenant: 'acme', times: 6 } }]);
    expect(executions).toBe(6);
  });

  it('executes each event for each subscriber when the events are not the same objects', async () => {
    copies = true;
    await Promise.all([all(await subscribe('acme')), all(await subscribe('acme'))]);
    expect(executions).toBe(4);
  });

  it('stops the source when the subscriber returns, running its clean-up', async () => {
    const stream = await subscribe('acme');
    expect((await stream.next()).value).toEqual({ data: { thing: { n: 1, tenant: 'acme', times: 2 } } });
    await stream.return(undefined);
    expect(closed).toBe(1);
    expect(await stream.next()).toEqual({ done: true, value: undefined });
  });
});

describe('sharedPayload', () => {
  it('is the same payload for the same value object and field, another for another', () => {
    const value = { n: 1 };
    expect(sharedPayload('thing', value)).toBe(sharedPayload('thing', value));
    expect(sharedPayload('thing', value)).toEqual({ thing: value });
    expect(sharedPayload('other', value)).not.toBe(sharedPayload('thing', value));
    expect(sharedPayload('thing', { n: 1 })).not.toBe(sharedPayload('thing', value));
  });
});
