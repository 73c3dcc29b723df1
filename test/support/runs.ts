import type { TestContext } from './test-context';

export const RUN_FIELDS = `
  id definition version status input output error trigger startedAt finishedAt
  temporal { workflowId runId uiUrl }
  steps { id type status attempts startedAt finishedAt output error }
  events(first: 1000) { edges { cursor node { seq at type stepId attempt inputHash output error message level actor } } }
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
  level: string | null;
  actor: any;
};

export type RunView = {
  id: string;
  definition: string;
  version: number;
  trigger: any;
  status: string;
  output: any;
  error: any;
  finishedAt: string | null;
  steps: Array<{ id: string; type: string; status: string; attempts: number; output: any; error: any }>;
  events: AuditEventView[];
  temporal: { workflowId: string; runId: string; uiUrl: string };
};

/** A run just started: its id and its Temporal workflow id. */
export type StartedRun = { id: string; temporal: { workflowId: string } };

/** Saves `spec` and returns the version saved. */
export async function save(ctx: TestContext, spec: Record<string, unknown>): Promise<number> {
  const { saveDefinition } = await ctx.gql<{ saveDefinition: { version: number } }>(`mutation($spec: JSON!) { saveDefinition(spec: $spec) { version } }`, { spec });
  return saveDefinition.version;
}

/** Saves `spec` and starts a run of it with `input`, without waiting for it. */
export async function startRunOf(ctx: TestContext, spec: Record<string, unknown>, input: unknown = {}): Promise<StartedRun> {
  await save(ctx, spec);
  const { startRun } = await ctx.gql<{ startRun: StartedRun }>(
    `mutation($name: String!, $input: JSON) { startRun(definition: $name, input: $input) { id temporal { workflowId } } }`,
    { name: spec.name, input },
  );
  return startRun;
}

/** Waits for a run's workflow to close and returns the run. */
export async function finished(ctx: TestContext, run: StartedRun): Promise<RunView> {
  await ctx.trellis.client.workflow.getHandle(run.temporal.workflowId).result().catch(() => undefined);
  return getRun(ctx, run.id);
}

/** Saves `spec`, starts a run with `input`, waits for its workflow to close and returns the run. */
export async function runToEnd(ctx: TestContext, spec: Record<string, unknown>, input: unknown = {}): Promise<RunView> {
  return finished(ctx, await startRunOf(ctx, spec, input));
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
