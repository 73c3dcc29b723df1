import { CliError, EXIT_CODES } from '../cli-error';
import { printJson, stringOption, type CliCommand } from '../command';
import { parseDocumentArgument } from '../document-file';
import { formatDateTime, formatTable } from '../format';

const ACTIONS = ['list', 'create', 'pause', 'resume', 'trigger', 'delete'] as const;

const FIELDS = 'id definition cron every timezone overlap paused nextFireTimes lastError';
const LIST = `query { schedules { ${FIELDS} } }`;
const CREATE = `mutation($definition: String!, $cron: String, $every: String, $timezone: String, $input: JSON, $overlap: ScheduleOverlap) {
  createSchedule(definition: $definition, cron: $cron, every: $every, timezone: $timezone, input: $input, overlap: $overlap) { ${FIELDS} } }`;
const PAUSE = `mutation($id: ID!) { pauseSchedule(id: $id) { ${FIELDS} } }`;
const RESUME = `mutation($id: ID!) { resumeSchedule(id: $id) { ${FIELDS} } }`;
const TRIGGER = `mutation($id: ID!) { triggerSchedule(id: $id) { id status } }`;
const DELETE = `mutation($id: ID!) { deleteSchedule(id: $id) }`;

type Schedule = { id: string; definition: string; cron: string | null; every: string | null; timezone: string | null; overlap: string; paused: boolean; nextFireTimes: string[]; lastError: string | null };

const OVERLAPS = ['SKIP', 'BUFFER_ONE', 'ALLOW_ALL'];

/** `trellis schedules list|create|pause|resume|trigger|delete`: a tenant's schedules (SPEC §7a). */
export const schedulesCommand: CliCommand = {
  name: 'schedules',
  args: ['<list|create|pause|resume|trigger|delete>'],
  summary: 'manage schedules: runs started by cron or every an interval (Temporal Schedules)',
  options: {
    definition: { type: 'string' },
    cron: { type: 'string' },
    every: { type: 'string' },
    timezone: { type: 'string' },
    input: { type: 'string' },
    overlap: { type: 'string' },
    id: { type: 'string' },
  },
  optionHelp: [
    ['--definition <name>', 'create: the definition each fire runs'],
    ['--cron "<m h dom mon dow>"', 'create: a 5-field cron expression (or --every)'],
    ['--every <duration>', 'create: an interval such as 30s, 5m, 1h'],
    ['--timezone <IANA name>', 'create: the time zone of --cron (default UTC)'],
    ['--input <json>', 'create: the input of every run, JSON or YAML (default {})'],
    ['--overlap <policy>', `create: ${OVERLAPS.join(', ')} (default SKIP)`],
    ['--id <schedule id>', 'pause, resume, trigger, delete: the schedule'],
  ],
  async run({ api, io, args, options, json }) {
    const action = args[0] as (typeof ACTIONS)[number];
    if (!ACTIONS.includes(action)) throw new CliError(`unknown action "${args[0]}": use ${ACTIONS.join(', ')}`);
    const id = stringOption(options, 'id');
    if (action !== 'list' && action !== 'create' && id === undefined) throw new CliError(`schedules ${action} needs --id <schedule id> (see trellis schedules list)`);
    const show = (schedules: Schedule[]) =>
      formatTable(
        ['SCHEDULE', 'DEFINITION', 'WHEN', 'STATE', 'NEXT FIRE'],
        schedules.map((s) => [s.id, s.definition, s.cron ? `cron ${s.cron}${s.timezone ? ` (${s.timezone})` : ''}` : `every ${s.every}`, s.paused ? 'paused' : s.lastError ? `error: ${s.lastError}` : 'active', s.nextFireTimes[0] ? formatDateTime(s.nextFireTimes[0]) : '-']),
      ).forEach((line) => io.out(line));
    if (action === 'list') {
      const { schedules } = await api.request<{ schedules: Schedule[] }>(LIST);
      if (json) {
        printJson(io, { schedules });
        return EXIT_CODES.ok;
      }
      if (schedules.length === 0) io.out('no schedules');
      else show(schedules);
    } else if (action === 'create') {
      const definition = stringOption(options, 'definition');
      if (definition === undefined) throw new CliError('schedules create needs --definition <name> and one of --cron or --every');
      const overlap = stringOption(options, 'overlap')?.toUpperCase();
      if (overlap !== undefined && !OVERLAPS.includes(overlap)) throw new CliError(`--overlap must be one of ${OVERLAPS.join(', ')}`);
      const text = stringOption(options, 'input');
      const { createSchedule } = await api.request<{ createSchedule: Schedule }>(CREATE, {
        definition,
        cron: stringOption(options, 'cron'),
        every: stringOption(options, 'every'),
        timezone: stringOption(options, 'timezone'),
        input: text === undefined ? undefined : parseDocumentArgument(text, '--input'),
        overlap,
      });
      if (json) {
        printJson(io, createSchedule);
        return EXIT_CODES.ok;
      }
      show([createSchedule]);
    } else if (action === 'pause' || action === 'resume') {
      const result = await api.request<Record<string, Schedule>>(action === 'pause' ? PAUSE : RESUME, { id });
      if (json) {
        printJson(io, Object.values(result)[0]);
        return EXIT_CODES.ok;
      }
      show(Object.values(result));
    } else if (action === 'trigger') {
      const { triggerSchedule: run } = await api.request<{ triggerSchedule: { id: string; status: string } }>(TRIGGER, { id });
      if (json) {
        printJson(io, { run });
        return EXIT_CODES.ok;
      }
      io.out(`fired schedule ${id}: run ${run.id} (${run.status}); \`trellis status ${run.id}\` shows where it is`);
    } else {
      const { deleteSchedule } = await api.request<{ deleteSchedule: boolean }>(DELETE, { id });
      if (!deleteSchedule) throw new CliError(`no schedule ${id}`, { code: 'NOT_FOUND' });
      if (json) {
        printJson(io, { deleted: id });
        return EXIT_CODES.ok;
      }
      io.out(`deleted schedule ${id}`);
    }
    return EXIT_CODES.ok;
  },
};
