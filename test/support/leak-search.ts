import { decodePayloads } from './history-payloads';
import type { TestContext } from './test-context';
import { RUN_FIELDS } from './runs';

/**
 * Captures everything this process writes from now on (stdout, stderr and the console, Trellis's
 * and the Temporal SDK's logs included), still passing it through. Call `restore` when done.
 */
export function captureOutput(): { text: () => string; restore: () => void } {
  const output: string[] = [];
  const restores: Array<() => void> = [];
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      output.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write;
    restores.push(() => (stream.write = write));
  }
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    const spy = jest.spyOn(console, method).mockImplementation((...args: unknown[]) => void output.push(args.map(String).join(' ')));
    restores.push(() => spy.mockRestore());
  }
  return { text: () => output.join('\n'), restore: () => restores.splice(0).forEach((restore) => restore()) };
}

/** Every string in a value, byte arrays decoded as UTF-8 (a Temporal history's payloads, database rows). */
export function allText(value: unknown): string {
  const parts: string[] = [];
  const visit = (node: unknown): void => {
    if (typeof node === 'string') parts.push(node);
    else if (node instanceof Uint8Array) parts.push(Buffer.from(node).toString('utf8'));
    else if (Array.isArray(node)) node.forEach(visit);
    else if (node !== null && typeof node === 'object') Object.values(node).forEach(visit);
  };
  visit(value);
  return parts.join('\n');
}

/**
 * The text of every place a run's data can reach, by place: its Temporal history (payloads
 * decoded), its audit trail and run-index rows, the run through GraphQL, and the process's output.
 */
export async function placesOf(ctx: TestContext, run: { id: string; temporal: { workflowId: string } }, output: string): Promise<Record<string, string>> {
  // Decoded as Trellis reads it: stored, its payloads are ciphertext (test/security/payload-codec.test.ts).
  const history = await decodePayloads(await ctx.trellis.client.workflow.getHandle(run.temporal.workflowId).fetchHistory(), ctx.trellis.codec);
  const events = await ctx.trellis.db.selectFrom('audit_events').selectAll().where('run_id', '=', run.id).execute();
  const runs = await ctx.trellis.db.selectFrom('runs').selectAll().where('id', '=', run.id).execute();
  const steps = await ctx.trellis.db.selectFrom('run_steps').selectAll().where('run_id', '=', run.id).execute();
  const viaGraphql = await ctx.gql(`query($id: ID!) { run(id: $id) { ${RUN_FIELDS} } }`, { id: run.id });
  return {
    'Temporal history': allText(history),
    'the audit trail': JSON.stringify(events),
    'the run index': JSON.stringify([runs, steps]),
    GraphQL: JSON.stringify(viaGraphql),
    logs: output,
  };
}

/** The places (of {@link placesOf}) where any of `needles` appears; `[]` when none leaks. */
export function leaks(places: Record<string, string>, needles: readonly string[]): string[] {
  return Object.entries(places).flatMap(([place, text]) => needles.filter((needle) => text.includes(needle)).map((needle) => `${place} holds ${JSON.stringify(needle)}`));
}
