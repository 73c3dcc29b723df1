/** The GraphQL operations the dashboard sends; each asks only for what its page shows. */

export const RUN_SUMMARY_FIELDS = 'id definition version status trigger startedAt finishedAt error';

export const RUNS = `query Runs($filter: RunFilter, $first: Int, $after: String) {
  runs(filter: $filter, first: $first, after: $after) {
    edges { node { ${RUN_SUMMARY_FIELDS} } }
    pageInfo { hasNextPage endCursor }
  }
}`;

export const RUN_COUNTS = `query RunCounts($filter: RunFilter) { runCounts(filter: $filter) { status count } }`;

/**
 * runsChanged with the fields of a list row; with `steps { status }` when the list filters on
 * waiting. Test runs come only with `includeTests`, as `runs` lists them only when asked.
 */
export const runsChanged = (withSteps: boolean) => `subscription RunsChanged($definition: String, $includeTests: Boolean) {
  runsChanged(definition: $definition, includeTests: $includeTests) { ${RUN_SUMMARY_FIELDS}${withSteps ? ' steps { status }' : ''} }
}`;

const RUN_FIELDS_BUT_INPUT = `id definition version status output error trigger startedAt finishedAt retryOf
  temporal { workflowId uiUrl }
  steps { id type status attempts input items { done total } startedAt finishedAt output error }`;

export const RUN = `query Run($id: ID!) { run(id: $id) { ${RUN_FIELDS_BUT_INPUT} input spec } }`;

/**
 * The run page's live view, for a page that has read the run (RUN), in one stream: each answer
 * has the run with the steps that changed (every step in the first; merge with mergeRunUpdate),
 * never its input, which does not change, and the events that followed the last one received.
 * One message per change for both, where runUpdated and runEventBatches sent two.
 */
export const RUN_WATCH = `subscription RunWatch($runId: ID!, $afterSeq: Int) {
  runWatch(runId: $runId, afterSeq: $afterSeq) {
    run { ${RUN_FIELDS_BUT_INPUT} }
    events { seq at type stepId attempt inputHash output error message level }
  }
}`;

/** The editor's test run, whole in every answer (its input included): one tab, a small run. */
export const TEST_RUN_UPDATED = `subscription TestRunUpdated($runId: ID!) { runUpdated(runId: $runId) { ${RUN_FIELDS_BUT_INPUT} input } }`;

export const CANCEL_RUN = `mutation CancelRun($id: ID!, $reason: String) { cancelRun(id: $id, reason: $reason) { id status } }`;

export const RETRY_RUN = `mutation RetryRun($id: ID!, $fromStep: String, $dryRun: Boolean) {
  retryRun(id: $id, fromStep: $fromStep, dryRun: $dryRun) {
    id status retryOf
    retryPlan { fromStep reused { stepId } rerun }
  }
}`;

export const SIGNAL_RUN = `mutation SignalRun($id: ID!, $signal: String!, $payload: JSON) { signalRun(id: $id, signal: $signal, payload: $payload) { id status } }`;

export const DEFINITIONS = `query Definitions($first: Int, $after: String, $search: String) {
  definitions(first: $first, after: $after, search: $search) {
    edges { node { name description latestVersion archived updatedAt } }
    pageInfo { hasNextPage endCursor }
  }
}`;

export const DEFINITION = `query Definition($name: String!) {
  definition(name: $name) {
    name description latestVersion archived createdAt updatedAt
    versions { version contentHash createdAt spec }
  }
}`;

export const DEFINITION_NAMES = `query DefinitionNames { definitions(first: 1000) { edges { node { name } } } }`;

export const VALIDATE = `query Validate($spec: JSON!) { validateDefinition(spec: $spec) { valid errors { path message } } }`;

export const SAVE = `mutation Save($spec: JSON!) { saveDefinition(spec: $spec) { name version contentHash } }`;

export const TEST_RUN = `mutation TestRun($spec: JSON!, $input: JSON, $mocks: JSON) { testRun(spec: $spec, input: $input, mocks: $mocks) { id } }`;

/** The latest run of a definition (test runs included: version 0), for the data a step can read. */
export const LAST_RUN = `query LastRun($filter: RunFilter) {
  runs(filter: $filter, first: 1) { edges { node { id version status input steps { id status output } } } }
}`;
