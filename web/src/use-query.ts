import { useCallback, useEffect, useRef, useState } from 'react';
import { GraphQLRequestError, onResubscribe, request } from './graphql';

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
    request<T>(query, variablesRef.current).then(
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
