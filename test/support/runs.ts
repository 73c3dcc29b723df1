import type { TestContext } from './test-context';

export const RUN_FIELDS = `
  id definition version status input output error trigger startedAt finishedAt
  temporal { workflowId runId uiUrl }
  steps { id type status attempts startedAt finishedAt output error }
  events(first: 1000) { edges { cursor node { seq at type stepId attempt inputHash output error message actor } } }
`;

export type AuditEventView = {
  seq: number;
  at: string;
  type: string;
  stepId: string | null;
  attempt: number | null;
  inputHash: string | null;
  output: any;
  error: any;
  message: string | null;
  actor: any;
};

export type RunView = {
  id: string;
  status: string;
  output: any;
  error: any;
  steps: Array<{ id: string; type: string; status: string; attempts: number; output: any; error: any }>;
  events: AuditEventView[];
  temporal: { workflowId: string; runId: string; uiUrl: string };
};

/** Saves `spec`, starts a run with `input`, waits for its workflow to close and returns the run. */
export async function runToEnd(ctx: TestContext, spec: Record<string, unknown>, input: unknown = {}): Promise<RunView> {
  await ctx.gql(`mutation($spec: JSON!) { saveDefinition(spec: $spec) { version } }`, { spec });
  const { startRun } = await ctx.gql<{ startRun: { id: string; temporal: { workflowId: string } } }>(
    `mutation($name: String!, $input: JSON) { startRun(definition: $name, input: $input) { id temporal { workflowId } } }`,
    { name: spec.name, input },
  );
  await ctx.trellis.client.workflow.getHandle(startRun.temporal.workflowId).result().catch(() => undefined);
  return getRun(ctx, startRun.id);
}

export async function getRun(ctx: TestContext, id: string): Promise<RunView> {
  const { run } = await ctx.gql<{ run: any }>(`query($id: ID!) { run(id: $id) { ${RUN_FIELDS} } }`, { id });
  return { ...run, events: run.events.edges.map((e: { node: AuditEventView }) => e.node) };
}

export function stepOf(run: RunView, id: string) {
  const step = run.steps.find((s) => s.id === id);
  if (!step) throw new Error(`run has no step ${id}`);
  return step;
}

/** Event types in order, as `TYPE` or `TYPE:step`. */
export function eventTrail(run: RunView): string[] {
  return run.events.map((e) => (e.stepId ? `${e.type}:${e.stepId}` : e.type));
}
