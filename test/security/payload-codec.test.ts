import { randomBytes, randomUUID } from 'node:crypto';
import { temporal } from '@temporalio/proto';
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { createApiKey } from '../../src/api/api-keys';
import { PayloadEncryptionCodec } from '../../src/temporal/payload-codec';
import { decodePayloads } from '../support/history-payloads';
import { allText as textOf } from '../support/leak-search';
import { HttpStub } from '../support/http-stub';
import { rawTemporalClient } from '../support/raw-temporal';
import { runToEnd, stepOf } from '../support/runs';
import { createTestContext, type TestContext } from '../support/test-context';
import { until } from '../support/until';

/**
 * Temporal history holds payloads encrypted: whoever reads it without TRELLIS_SECRET_KEY (a raw
 * client, the Web UI without the codec endpoint) sees no input, secret name, output or error.
 * The codec endpoint decodes for operators only.
 */

const UI_ORIGIN = 'http://temporal-ui.test';
const MARKS = { input: 'input-mark-4f1c', output: 'output-mark-9b2e', error: 'error-mark-71d3', secretName: 'CODEC_TEST_TOKEN' };

let ctx: TestContext;
let stub: HttpStub;
let raw: { client: Client; close(): Promise<void> };
/** A payload of a real run, as stored in Temporal. */
let storedInput: Payload;
/** This file's worker's task queue. */
let taskQueue: string;

beforeAll(async () => {
  [ctx, stub, raw] = await Promise.all([
    createTestContext({ env: { TRELLIS_OPERATOR_TENANT: 'ops', TEMPORAL_UI_URL: UI_ORIGIN } }),
    new HttpStub().start(),
    rawTemporalClient(),
  ]);
});

afterAll(async () => {
  await Promise.all([ctx?.stop(), stub?.stop(), raw?.close()]);
});

const codecUrl = (operation: 'encode' | 'decode'): string => ctx.graphqlUrl.replace(/\/graphql$/, `/codec/${operation}`);
const wire = (payload: Payload) => ({
  metadata: Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([key, value]) => [key, Buffer.from(value).toString('base64')])),
  data: Buffer.from(payload.data ?? new Uint8Array()).toString('base64'),
});
const fromWire = (item: { metadata: Record<string, string>; data: string }): Payload => ({
  metadata: Object.fromEntries(Object.entries(item.metadata).map(([key, value]) => [key, Buffer.from(value, 'base64')])),
  data: Buffer.from(item.data, 'base64'),
});

async function callCodec(operation: 'encode' | 'decode', payloads: Payload[], headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const response = await fetch(codecUrl(operation), {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-namespace': process.env.TEMPORAL_NAMESPACE ?? 'default', ...headers },
    body: JSON.stringify({ payloads: payloads.map(wire) }),
  });
  return { status: response.status, body: await response.json().catch(() => null), headers: response.headers };
}

describe('Temporal history', () => {
  it('holds no plaintext input, secret name, output or failure message of a run, while Trellis reads them all', async () => {
    await ctx.gql(`mutation { setSecret(name: "${MARKS.secretName}", value: "s3cr3t-value-0c7e") }`);
    stub.on('POST /echo', { body: { said: MARKS.output } });
    stub.on('POST /broken', { status: 400, body: { error: MARKS.error } });
    const run = await runToEnd(
      ctx,
      {
        name: 'codec-history',
        steps: {
          echo: { type: 'http', method: 'POST', url: `${stub.url}/echo`, headers: { authorization: `{% $secret('${MARKS.secretName}') %}` }, body: { note: '{% $input.note %}' } },
          broken: { type: 'http', method: 'POST', url: `${stub.url}/broken`, onError: 'continue', retry: { maxAttempts: 1 } },
        },
      },
      { note: MARKS.input },
    );
    expect(stepOf(run, 'echo').output.body).toEqual({ said: MARKS.output });
    expect(stepOf(run, 'broken').error.message).toContain(MARKS.error);

    const workflowId = `default/codec-history/${run.id}`;
    const stored = await raw.client.workflow.getHandle(workflowId).fetchHistory();
    const storedText = textOf(stored);
    for (const mark of Object.values(MARKS)) expect({ mark, inHistory: storedText.includes(mark) }).toEqual({ mark, inHistory: false });
    // The searches look at real content: the history names the run, and decoded it holds every mark.
    expect(storedText).toContain(workflowId);
    const decodedText = textOf(await decodePayloads(stored, ctx.trellis.codec));
    for (const mark of Object.values(MARKS)) expect({ mark, decoded: decodedText.includes(mark) }).toEqual({ mark, decoded: true });

    const started = stored.events?.find((event) => event.workflowExecutionStartedEventAttributes)?.workflowExecutionStartedEventAttributes;
    storedInput = started!.input!.payloads![0]! as Payload;
    taskQueue = started!.taskQueue!.name!;
    expect(Buffer.from(storedInput.metadata!.encoding!).toString()).toBe('binary/encrypted');
  });
});

describe('a workflow input that is not encrypted under this deployment\'s key', () => {
  it('is never acted on: the worker cannot decode it, records no event and calls nothing', async () => {
    stub.on('POST /forged', { body: {} });
    const attackerCodec = new PayloadEncryptionCodec(randomBytes(32));
    const runId = randomUUID();
    const [encrypted] = await attackerCodec.encode([defaultPayloadConverter.toPayload({ runId, tenantId: 'default', definitionName: 'x', definitionVersion: 1, definition: { name: 'x', steps: { s: { type: 'http', method: 'POST', url: `${stub.url}/forged` } } }, input: {}, trigger: { type: 'api', id: 'attacker' }, requestedAt: new Date().toISOString() })]);
    const workflowId = `default/x/${runId}`;
    // Through the raw gRPC API, as the Web UI's HTTP API would pass it: the payload goes as given.
    await raw.client.workflowService.startWorkflowExecution({
      namespace: process.env.TEMPORAL_NAMESPACE ?? 'default',
      workflowId,
      workflowType: { name: 'trellisRun' },
      taskQueue: { name: taskQueue },
      input: { payloads: [encrypted!] },
      requestId: randomUUID(),
    });
    const { EVENT_TYPE_WORKFLOW_TASK_FAILED, EVENT_TYPE_MARKER_RECORDED, EVENT_TYPE_ACTIVITY_TASK_SCHEDULED } = temporal.api.enums.v1.EventType;
    const events = async () => (await raw.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
    await until('the worker has refused the workflow task', async () => (await events()).some((event) => event.eventType === EVENT_TYPE_WORKFLOW_TASK_FAILED));
    const failed = (await events()).find((event) => event.eventType === EVENT_TYPE_WORKFLOW_TASK_FAILED)!;
    const failure = (await decodePayloads(failed.workflowTaskFailedEventAttributes!.failure, ctx.trellis.codec)) as { encodedAttributes?: Payload };
    expect(defaultPayloadConverter.fromPayload(failure.encodedAttributes!)).toMatchObject({ message: expect.stringContaining('which is not this process\'s') });
    expect((await events()).filter((event) => event.eventType === EVENT_TYPE_MARKER_RECORDED || event.eventType === EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)).toEqual([]);
    expect(stub.received('POST /forged')).toEqual([]);
    expect(await ctx.trellis.db.selectFrom('runs').select('id').where('id', '=', runId).executeTakeFirst()).toBeUndefined();
    await raw.client.workflow.getHandle(workflowId).terminate('test over');
  });
});

describe('the codec endpoint, while no API key exists', () => {
  it('decodes for a loopback client with no browser origin (the CLI) and for the Web UI\'s origin, with CORS for it', async () => {
    const cli = await callCodec('decode', [storedInput]);
    expect(cli.status).toBe(200);
    expect(defaultPayloadConverter.fromPayload(fromWire(cli.body.payloads[0]))).toMatchObject({ input: { note: MARKS.input }, tenantId: 'default' });
    expect(cli.headers.get('access-control-allow-origin')).toBeNull();

    const ui = await callCodec('decode', [storedInput], { origin: UI_ORIGIN });
    expect(ui.status).toBe(200);
    expect(ui.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    const preflight = await fetch(codecUrl('decode'), { method: 'OPTIONS', headers: { origin: UI_ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-headers')).toContain('x-namespace');
  });

  it('encodes so that what it returns decodes back', async () => {
    const encoded = await callCodec('encode', [defaultPayloadConverter.toPayload({ approve: true })]);
    expect(encoded.status).toBe(200);
    const payload = fromWire(encoded.body.payloads[0]);
    expect(Buffer.from(payload.metadata!.encoding!).toString()).toBe('binary/encrypted');
    expect(defaultPayloadConverter.fromPayload((await ctx.trellis.codec.decode([payload]))[0]!)).toEqual({ approve: true });
  });

  it('refuses a page of another origin, its preflight, another namespace, and a payload it cannot decrypt', async () => {
    const evil = await callCodec('decode', [storedInput], { origin: 'http://evil.example' });
    expect(evil.status).toBe(403);
    expect(JSON.stringify(evil.body)).not.toContain(MARKS.input);
    expect((await fetch(codecUrl('decode'), { method: 'OPTIONS', headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' } })).status).toBe(403);
    expect((await callCodec('decode', [storedInput], { 'x-namespace': 'someone-else' })).status).toBe(400);
    const [foreign] = await new PayloadEncryptionCodec(randomBytes(32)).encode([defaultPayloadConverter.toPayload('x')]);
    const refused = await callCodec('decode', [foreign!]);
    expect(refused.status).toBe(400);
    expect(refused.body.message).toMatch(/key id/);
  });
});

describe('the codec endpoint, once API keys exist', () => {
  const keys = { operator: '', operatorPlain: '', tenantAdmin: '' };
  beforeAll(async () => {
    keys.operator = (await createApiKey(ctx.trellis.db, 'ops', 'codec', true)).secret;
    keys.operatorPlain = (await createApiKey(ctx.trellis.db, 'ops', 'not admin', false)).secret;
    keys.tenantAdmin = (await createApiKey(ctx.trellis.db, 'acme', 'admin', true)).secret;
  });

  it('decodes for an admin key of the operator tenant', async () => {
    const response = await callCodec('decode', [storedInput], { authorization: `Bearer ${keys.operator}`, origin: UI_ORIGIN });
    expect(response.status).toBe(200);
    expect(defaultPayloadConverter.fromPayload(fromWire(response.body.payloads[0]))).toMatchObject({ input: { note: MARKS.input } });
  });

  it('answers 401 without a valid key, and 403 to tenant keys, admin or not, and to the operator tenant\'s other keys', async () => {
    expect((await callCodec('decode', [storedInput])).status).toBe(401);
    expect((await callCodec('decode', [storedInput], { origin: UI_ORIGIN })).status).toBe(401);
    expect((await callCodec('decode', [storedInput], { authorization: 'Bearer trk_not-a-key' })).status).toBe(401);
    for (const key of [keys.tenantAdmin, keys.operatorPlain]) {
      const response = await callCodec('decode', [storedInput], { authorization: `Bearer ${key}` });
      expect(response.status).toBe(403);
      expect(JSON.stringify(response.body)).not.toContain(MARKS.input);
    }
    expect((await callCodec('encode', [defaultPayloadConverter.toPayload(1)], { authorization: `Bearer ${keys.tenantAdmin}` })).status).toBe(403);
  });
});
