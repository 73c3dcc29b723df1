import { createSourceEventStream, execute, type ExecutionArgs, type ExecutionResult } from 'graphql';

type PromiseOrValue<T> = T | Promise<T>;

/**
 * Results of subscription events already executed, by the event (its payload object), then by
 * {@link shareKey}. Entries go with their event once no subscriber holds it.
 */
const results = new WeakMap<object, Map<string, PromiseOrValue<ExecutionResult>>>();

/**
 * The key under which subscribers share an event's result: the same operation (document text,
 * operation name, variables) of the same tenant. Undefined when the operation cannot be shared:
 * no tenant in its context, or a document without its source text.
 *
 * Nothing a subscription's fields resolve depends on the caller beyond its tenant (the caller's
 * key and whether it is an admin only matter to queries and mutations), so subscribers of one
 * tenant may share a result; the authorization of each subscriber happens before its stream
 * starts (the subscribe resolver reads the run as the subscriber's tenant) and at every operation
 * and key change of its socket (request-guard.ts, socket-registry.ts).
 */
function shareKey(args: ExecutionArgs): string | undefined {
  const tenantId = (args.contextValue as { tenantId?: unknown } | undefined)?.tenantId;
  const text = args.document.loc?.source.body;
  if (typeof tenantId !== 'string' || text === undefined) return undefined;
  return JSON.stringify([tenantId, args.operationName ?? null, text, args.variableValues ?? null]);
}

/**
 * graphql-ws's `subscribe`: graphql-js `subscribe`, except that each event is executed once for
 * all the subscribers of one tenant that run the same operation and receive the same event
 * object, who then get the same result. 50 dashboards watching one run cost one execution of each
 * of its updates instead of 50. The streams must yield one object per event to all its
 * subscribers for this to help ({@link sharedPayload}); other events are executed for each.
 */
export async function subscribeSharingResults(args: ExecutionArgs): Promise<AsyncGenerator<ExecutionResult> | ExecutionResult> {
  const source = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in source)) return source;
  const key = shareKey(args);
  const executeEvent = (payload: unknown): PromiseOrValue<ExecutionResult> => {
    const run = () => execute({ ...args, rootValue: payload });
    if (key === undefined || typeof payload !== 'object' || payload === null) return run();
    let byKey = results.get(payload);
    if (!byKey) results.set(payload, (byKey = new Map()));
    let result = byKey.get(key);
    if (!result) byKey.set(key, (result = run()));
    return result;
  };
  return mapStream(source[Symbol.asyncIterator](), executeEvent);
}

/**
 * `source` with each value mapped; `return()` and `throw()` reach the source at once (a
 * subscription stopped by its client or its socket's closing stops its source).
 */
function mapStream<T, R>(source: AsyncIterator<T>, map: (value: T) => PromiseOrValue<R>): AsyncGenerator<R> {
  const close = async () => {
    await source.return?.();
  };
  const stream: AsyncGenerator<R> = {
    async next() {
      const step = await source.next();
      if (step.done) return { done: true, value: undefined };
      try {
        return { done: false, value: await map(step.value) };
      } catch (err) {
        await close().catch(() => undefined);
        throw err;
      }
    },
    async return() {
      await close();
      return { done: true, value: undefined };
    },
    async throw(error: unknown) {
      await close();
      throw error;
    },
    [Symbol.asyncIterator]: () => stream,
    [Symbol.asyncDispose]: close,
  };
  return stream;
}

const payloads = new WeakMap<object, Map<string, object>>();

/**
 * The payload `{ [field]: value }` of a subscription event, the same object for the same `value`
 * object, so that subscribers given one value (from a shared read, see SharedRunReads) share its
 * result ({@link subscribeSharingResults}).
 */
export function sharedPayload<F extends string, V extends object>(field: F, value: V): { [K in F]: V } {
  let byField = payloads.get(value);
  if (!byField) payloads.set(value, (byField = new Map()));
  let payload = byField.get(field);
  if (!payload) byField.set(field, (payload = { [field]: value }));
  return payload as { [K in F]: V };
}
