/**
 * Graph helpers over a definition's steps, where each step's `needs` are its incoming edges.
 * They accept any record of `{ needs? }` so the validator can use them on unchecked input and the
 * interpreter on a parsed definition. Needs naming missing steps are ignored; order follows the
 * steps' declaration order, so results are deterministic.
 */

/** The part of a step the graph is made of. */
export type GraphSteps = Readonly<Record<string, { readonly needs?: readonly string[] | undefined }>>;

/** The existing steps `id` needs, without duplicates, in declaration order of `needs`. */
export function needsOf(steps: GraphSteps, id: string): string[] {
  const needs = steps[id]?.needs;
  if (!Array.isArray(needs)) return [];
  return [...new Set(needs.filter((need) => typeof need === 'string' && Object.hasOwn(steps, need)))];
}

/** Steps with no (existing) needs. */
export function roots(steps: GraphSteps): string[] {
  return Object.keys(steps).filter((id) => needsOf(steps, id).length === 0);
}

/** For every step, the steps that need it directly. */
export function dependents(steps: GraphSteps): Map<string, string[]> {
  const result = new Map<string, string[]>(Object.keys(steps).map((id) => [id, []]));
  for (const id of Object.keys(steps)) {
    for (const need of needsOf(steps, id)) result.get(need)?.push(id);
  }
  return result;
}

/**
 * Every step `id` needs, directly or transitively (its upstream). Does not include `id` itself
 * unless it lies on a cycle.
 */
export function ancestors(steps: GraphSteps, id: string): Set<string> {
  const found = new Set<string>();
  const pending = needsOf(steps, id);
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if (found.has(next)) continue;
    found.add(next);
    pending.push(...needsOf(steps, next));
  }
  return found;
}

/**
 * Cycles among `needs`, each reported once as the path of ids in the direction of `needs`, ending
 * where it started: `["a", "b", "a"]` means a needs b and b needs a. A step needing itself gives
 * `["a", "a"]`.
 */
export function findCycles(steps: GraphSteps): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (id: string): void => {
    state.set(id, 'open');
    path.push(id);
    for (const need of needsOf(steps, id)) {
      const seen = state.get(need);
      if (seen === 'open') cycles.push([...path.slice(path.indexOf(need)), need]);
      else if (seen === undefined) visit(need);
    }
    path.pop();
    state.set(id, 'done');
  };
  for (const id of Object.keys(steps)) if (!state.has(id)) visit(id);
  return cycles;
}

/**
 * Step ids ordered so that every step comes after the steps it needs; among steps that are ready
 * together, declaration order wins.
 *
 * @throws {Error} when the steps form a cycle (validated definitions never do).
 */
export function topologicalOrder(steps: GraphSteps): string[] {
  const ids = Object.keys(steps);
  const remaining = new Map(ids.map((id) => [id, needsOf(steps, id).length]));
  const downstream = dependents(steps);
  const order: string[] = [];
  const ready = ids.filter((id) => remaining.get(id) === 0);
  while (ready.length > 0) {
    ready.sort((a, b) => ids.indexOf(a) - ids.indexOf(b));
    const id = ready.shift() as string;
    order.push(id);
    for (const next of downstream.get(id) ?? []) {
      const left = (remaining.get(next) ?? 0) - 1;
      remaining.set(next, left);
      if (left === 0) ready.push(next);
    }
  }
  if (order.length < ids.length) {
    throw new Error(`steps form a cycle: ${ids.filter((id) => !order.includes(id)).join(', ')}`);
  }
  return order;
}
