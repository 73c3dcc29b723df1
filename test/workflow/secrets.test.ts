import { decodePayloads } from '../support/history-payloads';
import { HttpStub } from '../support/http-stub';
import { allText, captureOutput } from '../support/leak-search';
import { RUN_FIELDS, runToEnd, stepOf } from '../support/runs';
import { createTestContext, type TestContext } from '../support/test-context';

let ctx: TestContext;
let stub: HttpStub;
let output: ReturnType<typeof captureOutput>;

const STORED = 'sk_live_7f3b9c2e4a1d8f6b';
const FROM_ENV = 'env-token-5d2c8a9e';

beforeAll(async () => {
  output = captureOutput();
  [ctx, stub] = await Promise.all([createTestContext({ env: { TRELLIS_SECRET_ENV_TOKEN: FROM_ENV } }), new HttpStub().start()]);
});

afterAll(async () => {
  await Promise.all([ctx?.stop(), stub?.stop()]);
  output?.restore();
});

describe('$secret()', () => {
  it('reaches the target, and never Temporal history, the audit trail, logs or GraphQL', async () => {
    await ctx.gql(`mutation { setSecret(name: "PAY_TOKEN", value: "${STORED}") }`);
    // A careless target that echoes the credentials back, in a success and in a failure.
    stub.on('POST /charges', (request) => ({ status: 201, body: { id: 'ch_1', echoed: request.headers.authorization, env: request.headers['x-env-token'] } }));
    stub.on('POST /fails', (request) => ({ status: 500, body: { error: `bad token ${String(request.headers.authorization)}` } }));
    const spec = {
      name: 'secret-charge',
      steps: {
        charge: {
          type: 'http',
          method: 'POST',
          url: `${stub.url}/charges`,
          headers: { Authorization: "Bearer {% $secret('PAY_TOKEN') %}", 'X-Env-Token': "{% $secret('ENV_TOKEN') %}" },
          body: { amount: '{% $input.amount %}', signature: "{% $uppercase($secret('PAY_TOKEN')) %}" },
        },
        audit: {
          type: 'http',
          needs: ['charge'],
          method: 'POST',
          url: `${stub.url}/fails`,
          headers: { Authorization: "{% $secret('PAY_TOKEN') %}" },
          retry: { maxAttempts: 1 },
          onError: 'continue',
        },
      },
    };
    const run = await runToEnd(ctx, spec, { amount: 12 });
    expect(run.status).toBe('COMPLETED');

    const [charge] = stub.received('POST /charges');
    expect(charge!.headers.authorization).toBe(`Bearer ${STORED}`);
    expect(charge!.headers['x-env-token']).toBe(FROM_ENV);
    expect(charge!.body).toEqual({ amount: 12, signature: STORED.toUpperCase() });
    // What the target echoed is redacted before it becomes the step's output.
    expect(stepOf(run, 'charge').output.body).toMatchObject({ echoed: 'Bearer [secret PAY_TOKEN]', env: '[secret ENV_TOKEN]' });
    expect(stepOf(run, 'audit').error.details.body).toEqual({ error: 'bad token [secret PAY_TOKEN]' });

    // Decoded as Trellis reads it: stored, it is ciphertext (see test/security/payload-codec.test.ts).
    const history = await decodePayloads(await ctx.trellis.client.workflow.getHandle(`default/secret-charge/${run.id}`).fetchHistory(), ctx.trellis.codec);
    const stored = await ctx.trellis.db.selectFrom('audit_events').selectAll().where('run_id', '=', run.id).execute();
    const indexed = await ctx.trellis.db.selectFrom('run_steps').selectAll().where('run_id', '=', run.id).execute();
    const secretRows = await ctx.trellis.db.selectFrom('secrets').selectAll().execute();
    const { run: viaGraphql } = await ctx.gql(`query($id: ID!) { run(id: $id) { ${RUN_FIELDS} } }`, { id: run.id });
    const { secrets } = await ctx.gql(`{ secrets { name } }`);
    const places = {
      'Temporal history': allText(history),
      'the audit trail': JSON.stringify(stored),
      'the run index': JSON.stringify(indexed),
      'the secrets table': allText(secretRows),
      logs: output.text(),
      GraphQL: JSON.stringify([viaGraphql, secrets]),
    };
    for (const [place, text] of Object.entries(places)) {
      for (const secret of [STORED, FROM_ENV, STORED.toUpperCase()]) {
        expect({ place, leaks: text.includes(secret) }).toEqual({ place, leaks: false });
      }
    }
    // The searches looked at real content: the history does hold the run's requests.
    expect(places['Temporal history']).toContain(`${stub.url}/charges`);
    expect(secrets).toEqual([{ name: 'PAY_TOKEN' }]);
  });

  it('fails the step, not retried, naming the secret that is not set', async () => {
    const run = await runToEnd(ctx, {
      name: 'secret-missing',
      steps: { call: { type: 'http', url: `${stub.url}/charges`, headers: { Authorization: "{% $secret('NOT_SET') %}" } } },
    });
    expect(run.status).toBe('FAILED');
    expect(stepOf(run, 'call')).toMatchObject({ attempts: 1, error: { type: 'SecretNotFoundError', message: expect.stringContaining('secret "NOT_SET" not set for tenant "default"') } });
  });

  it('is write-only: deleteSecret removes it and no query returns a value', async () => {
    await ctx.gql(`mutation { setSecret(name: "TEMP", value: "temporary-value") }`);
    expect(await ctx.gql(`mutation { deleteSecret(name: "TEMP") }`)).toEqual({ deleteSecret: true });
    expect(await ctx.gql(`mutation { deleteSecret(name: "TEMP") }`)).toEqual({ deleteSecret: false });
  });
});
