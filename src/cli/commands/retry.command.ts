import { EXIT_CODES } from '../cli-error';
import { printJson, stringOption, type CliCommand } from '../command';
import { followRun } from '../follow-run';
import { formatFields } from '../format';

const RETRY = `mutation Retry($id: ID!, $fromStep: String, $dryRun: Boolean) {
  retryRun(id: $id, fromStep: $fromStep, dryRun: $dryRun) {
    id definition version status retryOf retryPlan { fromStep reused { stepId } rerun } temporal { workflowId uiUrl } } }`;

type RetriedRun = {
  id: string;
  definition: string;
  version: number;
  status: string;
  retryOf: string;
  retryPlan: { fromStep: string | null; reused: Array<{ stepId: string }>; rerun: string[] };
  temporal: { workflowId: string; uiUrl: string | null };
};

/**
 * `trellis retry <runId> [--from <step>] [--dry-run] [--follow]`: starts a new run that reuses
 * the outputs of the steps that succeeded and runs the rest again.
 */
export const retryCommand: CliCommand = {
  name: 'retry',
  args: ['<runId>'],
  summary: 'retry a finished run from its failure point (or --from a step), reusing what succeeded',
  options: { from: { type: 'string' }, 'dry-run': { type: 'boolean' }, follow: { type: 'boolean', short: 'f' } },
  optionHelp: [
    ['--from <step>', 'run this step and everything after it again, even if it succeeded'],
    ['--dry-run', 'only print which outputs would be reused and which steps would run again'],
    ['-f, --follow', 'print events until the new run ends; exit 0 only if it COMPLETED'],
  ],
  async run({ api, io, args, options, json }) {
    const dryRun = options['dry-run'] === true;
    const { retryRun: run } = await api.request<{ retryRun: RetriedRun }>(RETRY, {
      id: args[0]!,
      fromStep: stringOption(options, 'from') ?? null,
      dryRun,
    });
    const follow = !dryRun && options.follow === true;
    if (json) {
      printJson(io, follow ? { run } : run);
      return follow ? followRun(api, io, run.id, { json }) : EXIT_CODES.ok;
    }
    const plan = run.retryPlan;
    const list = (ids: string[]): string => (ids.length > 0 ? ids.join(', ') : '(none)');
    const fields: Parameters<typeof formatFields>[0] = dryRun
      ? [['retry of', run.retryOf], ['definition', `${run.definition} v${run.version}`]]
      : [['run', run.id], ['retry of', run.retryOf], ['definition', `${run.definition} v${run.version}`], ['status', run.status]];
    fields.push(['reuses', list(plan.reused.map((step) => step.stepId))], ['runs again', list(plan.rerun)]);
    if (!dryRun) fields.push(['temporal', run.temporal.uiUrl ?? `workflow ${run.temporal.workflowId}`]);
    if (dryRun) io.out('dry run: nothing was started');
    formatFields(fields).forEach((line) => io.out(line));
    if (dryRun || options.follow !== true) return EXIT_CODES.ok;
    return followRun(api, io, run.id, { json });
  },
};
