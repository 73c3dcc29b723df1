import { CliError, EXIT_CODES } from '../cli-error';
import { printJson, stringOption, type CliCommand } from '../command';
import { formatDateTime, formatTable } from '../format';

const ACTIONS = ['list', 'create', 'rotate', 'delete', 'deliveries'] as const;

const FIELDS = 'id url definition input createdAt';
const LIST = `query { webhooks { ${FIELDS} } }`;
const CREATE = `mutation($definition: String!, $input: String) { createWebhook(definition: $definition, input: $input) { id url secret definition } }`;
const ROTATE = `mutation($id: ID!) { rotateWebhookSecret(id: $id) { id url secret webhook { previousSecretExpiresAt } } }`;
const DELETE = `mutation($id: ID!) { deleteWebhook(id: $id) }`;
const DELIVERIES = `query($id: ID!, $first: Int, $after: String) { webhookDeliveries(webhookId: $id, first: $first, after: $after) {
  edges { node { id receivedAt statusCode latencyMs runId error } } pageInfo { hasNextPage endCursor } } }`;

type Webhook = { id: string; url: string; definition: string; input: string | null; createdAt: string };
type Delivery = { id: string; receivedAt: string; statusCode: number; latencyMs: number; runId: string | null; error: { message?: string } | null };

/** `trellis webhooks list|create|rotate|delete|deliveries`: a tenant's webhooks (SPEC §6). */
export const webhooksCommand: CliCommand = {
  name: 'webhooks',
  args: ['<list|create|rotate|delete|deliveries>'],
  summary: 'manage webhooks: URLs that start runs for signed deliveries',
  options: { definition: { type: 'string' }, input: { type: 'string' }, id: { type: 'string' }, first: { type: 'string' }, after: { type: 'string' } },
  optionHelp: [
    ['--definition <name>', 'create: the definition each delivery runs'],
    ['--input <jsonata>', 'create: JSONata on $body giving the run input (default: the body)'],
    ['--id <webhook id>', 'rotate, delete, deliveries: the webhook'],
    ['--first <n>, --after <cursor>', 'deliveries: page size (default 50) and the page after a cursor'],
  ],
  async run({ api, io, args, options, json }) {
    const action = args[0] as (typeof ACTIONS)[number];
    if (!ACTIONS.includes(action)) throw new CliError(`unknown action "${args[0]}": use ${ACTIONS.join(', ')}`);
    const id = stringOption(options, 'id');
    if (action !== 'list' && action !== 'create' && id === undefined) throw new CliError(`webhooks ${action} needs --id <webhook id> (see trellis webhooks list)`);
    if (action === 'list') {
      const { webhooks } = await api.request<{ webhooks: Webhook[] }>(LIST);
      if (json) {
        printJson(io, { webhooks });
        return EXIT_CODES.ok;
      }
      if (webhooks.length === 0) io.out('no webhooks');
      else formatTable(['WEBHOOK', 'DEFINITION', 'URL', 'CREATED'], webhooks.map((w) => [w.id, w.definition, w.url, formatDateTime(w.createdAt)])).forEach((line) => io.out(line));
    } else if (action === 'create') {
      const definition = stringOption(options, 'definition');
      if (definition === undefined) throw new CliError('webhooks create needs --definition <name>');
      const { createWebhook: hook } = await api.request<{ createWebhook: { id: string; url: string; secret: string } }>(CREATE, { definition, input: stringOption(options, 'input') });
      if (json) {
        printJson(io, hook);
        return EXIT_CODES.ok;
      }
      io.out(`created webhook ${hook.id} of ${definition}`);
      io.out(`url     ${hook.url}`);
      io.out(`secret  ${hook.secret}`);
      io.out('Store the secret now: it is not shown again. Senders sign with Trellis-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">.');
    } else if (action === 'rotate') {
      const { rotateWebhookSecret: hook } = await api.request<{ rotateWebhookSecret: { id: string; secret: string; webhook: { previousSecretExpiresAt: string | null } } }>(ROTATE, { id });
      if (json) {
        printJson(io, hook);
        return EXIT_CODES.ok;
      }
      io.out(`new secret of webhook ${hook.id}: ${hook.secret}`);
      io.out(hook.webhook.previousSecretExpiresAt ? `the previous secret is accepted until ${formatDateTime(hook.webhook.previousSecretExpiresAt)}` : 'the previous secret is no longer accepted');
    } else if (action === 'delete') {
      const { deleteWebhook } = await api.request<{ deleteWebhook: boolean }>(DELETE, { id });
      if (!deleteWebhook) throw new CliError(`no webhook ${id}`, { code: 'NOT_FOUND' });
      if (json) {
        printJson(io, { deleted: id });
        return EXIT_CODES.ok;
      }
      io.out(`deleted webhook ${id}`);
    } else {
      const first = stringOption(options, 'first');
      const { webhookDeliveries: page } = await api.request<{ webhookDeliveries: { edges: Array<{ node: Delivery }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } } }>(DELIVERIES, {
        id,
        first: first === undefined ? undefined : Number(first),
        after: stringOption(options, 'after'),
      });
      if (json) {
        printJson(io, { deliveries: page.edges.map((edge) => edge.node), nextCursor: page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null });
        return EXIT_CODES.ok;
      }
      if (page.edges.length === 0) io.out('no deliveries');
      const rows = page.edges.map(({ node: d }) => [formatDateTime(d.receivedAt), String(d.statusCode), `${Math.round(d.latencyMs)} ms`, d.runId ?? '-', d.error?.message ?? '']);
      if (rows.length > 0) formatTable(['RECEIVED', 'STATUS', 'LATENCY', 'RUN', 'ERROR'], rows).forEach((line) => io.out(line));
      if (page.pageInfo.hasNextPage && page.pageInfo.endCursor) io.out(`more: trellis webhooks deliveries --id ${id} --after ${page.pageInfo.endCursor}`);
    }
    return EXIT_CODES.ok;
  },
};
