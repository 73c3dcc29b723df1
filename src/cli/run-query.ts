import type { ApiClient } from './api-client';
import { CliError } from './cli-error';
import type { StepView } from './format';

/** A run as `status` and `run --follow` show it. */
export type RunView = {
  id: string;
  definition: string;
  version: number;
  status: string;
  output: unknown;
  error: unknown;
  startedAt: string;
  finishedAt: string | null;
  steps: StepView[];
  temporal: { workflowId: string; runId: string | null; uiUrl: string | null };
};

/** The fields of {@link RunView}, for any operation that returns a Run. */
export const RUN_VIEW_FIELDS = `id definition version status output error startedAt finishedAt
  steps { id type status attempts } temporal { workflowId runId uiUrl }`;

const RUN = `query Run($id: ID!) { run(id: $id) { ${RUN_VIEW_FIELDS} } }`;

/**
 * Fetches a run by id.
 * @throws CliError (code NOT_FOUND) when there is no such run
 */
export async function fetchRun(api: ApiClient, id: string): Promise<RunView> {
  const { run } = await api.request<{ run: RunView | null }>(RUN, { id });
  if (!run) throw new CliError(`run "${id}" not found`, { code: 'NOT_FOUND' });
  return run;
}
