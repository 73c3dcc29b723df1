import { createHash } from 'node:crypto';
import { createApiKey } from '../../src/api/api-keys';
import { graphql } from '../support/graphql-client';
import { HttpStub } from '../support/http-stub';
import { captureOutput, leaks, placesOf } from '../support/leak-search';
import { runToEnd, stepOf, type RunView } from '../support/runs';
import { createTestContext, type TestContext } from '../support/test-context';
import { until } from '../support/until';

let ctx: TestContext;
let stub: HttpStub;
let output: ReturnType<typeof captureOutput>;

const STORED = 'sk_live_9d2e7a4c1b8f3e6a';
const FROM_ENV = 'env-only-token-4b7e1c9a';

/** Every form of the stored secret that must never be found anywhere. */
function formsOf(secret: string): string[] {
  const bytes = Buffer.from(secret);
  return [secret, secret.toUpperCase(), bytes.toString('base64'), bytes.toString('base64url'), bytes.toString('hex'), encodeURIComponent(`${secret}/x`)];
}

beforeAll(async () => {
  output = captureOutput();
  [ctx, stub] = await Promise.all([createTestContext({ env: { TRELLIS_SECRET_ENV_ONLY: FROM_ENV } }), new HttpStub().start()]);
  await ctx.gql(`mutation { setSecret(name: "PAY_TOKEN", value: "${STORED}") }`);
});

afterAll(async () => {
  await Promise.all([ctx?.stop(), stub?.stop()]);
  output?.restore();
});

async function expectNoLeak(run: RunView): Promise<void> {
  const places = await placesOf(ctx, run, output.text());
  expect(leaks(places, [...formsOf(STORED), FROM_ENV])).toEqual([]);
  // The searches looked at real content.
  expect(places['Temporal history']).toContain(run.id);
}

describe('secrets in expressions that fail', () => {
  it.each([
    ['a cast that quotes its argument', "{% $number($secret('PAY_TOKEN')) %}"],
    ['an assertion that quotes it', "{% $assert(false, 'bad token ' & $secret('PAY_TOKEN')) %}"],
    ['an encoding of the value in an error', "{% $error('no: ' & $base64encode($secret('PAY_TOKEN'))) %}"],
    ['an upper-cased value in an error', "{% $error($uppercase($secret('PAY_TOKEN'))) %}"],
    ['a url-encoded value in an error', "{% $error($encodeUrlComponent($secret('PAY_TOKEN') & '/x')) %}"],
  ])('fail their step with the secret redacted: %s', async (_what, header) => {
    const run = await runToEnd(ctx, {
      name: 'failing-secret',
      steps: { call: { type: 'http', url: `${stub.url}/never`, headers: { 'X-Token': header }, retry: { maxAttempts: 1 } } },
    });
    expect(run.status).toBe('FAILED');
    expect(stepOf(run, 'call').error.message).toContain('[secret PAY_TOKEN]');
    expect(stub.received('GET /never')).toEqual([]);
    await expectNoLeak(run);
  });
});

describe('secrets a target sends back in another form', () => {
  it('are redacted from the output whatever the common encoding or letter case', async () => {
    stub.on('POST /echo', (request) => {
      const token = String(request.headers['x-token']);
      return {
        status: 200,
        body: {
          basic: request.headers.authorization,
          hex: Buffer.from(token).toString('hex').toUpperCase(),
          base64url: Buffer.from(token).toString('base64url'),
          lower: token.toLowerCase(),
          query: request.url,
          body: request.body,
          digest: createHash('sha256').update(token).digest('hex'),
        },
      };
    });
    const run = await runToEnd(ctx, {
      name: 'echoed-secret',
      steps: {
        call: {
          type: 'http',
          method: 'POST',
          url: `${stub.url}/echo`,
          query: { t: "{% $secret('PAY_TOKEN') & '/x' %}" },
          headers: { Authorization: "Basic {% $base64encode('merchant:' & $secret('PAY_TOKEN')) %}", 'X-Token': "{% $secret('PAY_TOKEN') %}" },
          body: { token: "{% $uppercase($secret('PAY_TOKEN')) %}" },
        },
      },
    });
    expect(run.status).toBe('COMPLETED');
    const body = stepOf(run, 'call').output.body;
    expect(body).toMatchObject({ hex: '[secret PAY_TOKEN]', base64url: '[secret PAY_TOKEN]', lower: '[secret PAY_TOKEN]', body: { token: '[secret PAY_TOKEN]' } });
    expect(body.basic).toMatch(/^Basic .*\[secret PAY_TOKEN\]/);
    expect(body.query).toContain('[secret PAY_TOKEN]');
    // A one-way hash is not the secret and is left alone (the README says what is covered).
    expect(body.digest).toBe(createHash('sha256').update(STORED).digest('hex'));
    await expectNoLeak(run);
  });
});

describe('environment secrets', () => {
  it('serve the default tenant, and no other tenant unless TRELLIS_SECRET_SCOPES says so', async () => {
    stub.on('GET /env', (request) => ({ status: 200, body: { ok: request.headers['x-env'] === FROM_ENV } }));
    const spec = { name: 'env-secret', steps: { call: { type: 'http', url: `${stub.url}/env`, headers: { 'X-Env': "{% $secret('ENV_ONLY') %}" } } } };
    const asDefault = await runToEnd(ctx, spec);
    expect(stepOf(asDefault, 'call').output.body).toEqual({ ok: true });

    // From here on the API needs keys: the tenant "globex" runs the same definition.
    const globex = await createApiKey(ctx.trellis.db, 'globex', 'test', true);
    const as = (query: string, variables: Record<string, unknown> = {}) => graphql<any>(ctx.graphqlUrl, query, variables, globex.secret);
    await as(`mutation($spec: JSON!) { saveDefinition(spec: $spec) { version } }`, { spec });
    const started = await as(`mutation { startRun(definition: "env-secret") { id } }`);
    const runId = started.data.startRun.id as string;
    let step: unknown;
    await until('the run of tenant globex has finished', async () => {
      const { data } = await as(`query($id: ID!) { run(id: $id) { status steps { id status error } } }`, { id: runId });
      step = data.run.steps[0];
      return data.run.status !== 'RUNNING';
    });
    expect(step).toMatchObject({ status: 'FAILED', error: { type: 'SecretNotFoundError', message: expect.stringContaining('secret "ENV_ONLY" not set for tenant "globex"') } });
    expect(stub.received('GET /env')).toHaveLength(1);
  });
});
