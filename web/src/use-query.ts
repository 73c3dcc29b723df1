import { useCallback, useEffect, useRef, useState } from 'react';
import { GraphQLRequestError, onResubscribe, request } from './graphql';

/** Answers requested ahead of the page that shows them (see {@link prefetchQuery}), by query and variables. */
const prefetched = new Map<string, { answer: Promise<unknown>; at: number }>();
/** How long a prefetched answer is used: past it (the page never came), the page asks again. */
const PREFETCH_FRESH_MS = 10_000;

/**
 * Starts `query` now, for the page about to show it: its answer then comes while the page's code
 * loads instead of after. The first {@link useQuery} of the same query and variables takes it.
 */
export function prefetchQuery(query: string, variables: Record<string, unknown>): void {
  const answer = request(query, variables);
  answer.catch(() => undefined); // useQuery reports it, when it takes it
  prefetched.set(JSON.stringify([query, variables]), { answer, at: Date.now() });
}

/** A prefetched answer of `query` with `variables`, once: a later load asks again. */
function takePrefetched<T>(query: string, variables: Record<string, unknown>): Promise<T> | undefined {
  const key = JSON.stringify([query, variables]);
  const entry = prefetched.get(key);
  prefetched.delete(key);
  return entry && Date.now() - entry.at < PREFETCH_FRESH_MS ? (entry.answer as Promise<T>) : undefined;
}

/** The state of one query: its data once loaded, or its error. */
export type QueryState<T> = { data: T | undefined; error: GraphQLRequestError | undefined; loading: boolean; reload: () => void };

/**
 * Runs `query` whenever `key` changes (and after a new API key is given); the answer of an older
 * request that arrives late is dropped.
 */
export function useQuery<T>(query: string, variables: Record<string, unknown>, key: string, enabled = true): QueryState<T> {
  const [state, setState] = useState<{ data?: T; error?: GraphQLRequestError; loading: boolean }>({ loading: enabled });
  const generation = useRef(0);
  const variablesRef = useRef(variables);
  variablesRef.current = variables;
  const load = useCallback(() => {
    if (!enabled) return;
    const mine = ++generation.current;
    setState((old) => ({ ...old, loading: true }));
    (takePrefetched<T>(query, variablesRef.current) ?? request<T>(query, variablesRef.current)).then(
      (data) => mine === generation.current && setState({ data, loading: false }),
      (error: unknown) =>
        mine === generation.current &&
        setState((old) => ({ data: old.data, error: error instanceof GraphQLRequestError ? error : new GraphQLRequestError(String(error), undefined), loading: false })),
    );
  }, [query, key, enabled]);
  useEffect(() => {
    load();
    return onResubscribe(load);
  }, [load]);
  return { data: state.data, error: state.error, loading: state.loading, reload: load };
}
