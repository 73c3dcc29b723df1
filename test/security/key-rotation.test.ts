import { randomBytes, randomUUID } from 'node:crypto';
import { SecretStore } from '../../src/secrets/secret-store';
import { HttpStub } from '../support/http-stub';
import { getRun, startRunOf } from '../support/runs';
import { createTestContext, type TestContext } from '../support/test-context';
import { until } from '../support/until';

/**
 * Rotating TRELLIS_SECRET_KEY (README "Key rotation"): a run in flight, whose history was written
 * under the old key, finishes under the new one; stored secrets move to the new key.
 */

const oldKey = randomBytes(32);
const newKey = randomBytes(32);
const SECRET = 'rotated-token-6a2f91';

let before: TestContext | undefined;
let after: TestContext | undefined;
let stub: HttpStub;

afterAll(async () => {
  await Promise.all([before?.stop(), after?.stop(), stub?.stop()]);
});

it('lets a run started under the old key finish under the new one, and moves stored secrets to the new key', async () => {
  stub = await new HttpStub().start();
  stub.on('POST /pay', { body: { ok: true } });
  const taskQueue = `rotation-${randomUUID().slice(0, 8)}`;
  before = await createTestContext({ env: { TRELLIS_SECRET_KEY: oldKey.toString('base64'), TRELLIS_TASK_QUEUE: taskQueue } });
  await before.gql(`mutation { setSecret(name: "PAY", value: "${SECRET}") }`);
  const run = await startRunOf(before, {
    name: 'rotation',
    steps: {
      approve: { type: 'wait', signal: 'go', timeout: '1h' },
      pay: { type: 'http', needs: ['approve'], method: 'POST', url: `${stub.url}/pay`, headers: { authorization: "{% $secret('PAY') %}" }, body: '{% $steps.approve.output %}' },
    },
  });
  await until('the run waits', async () => (await getRun(before!, run.id)).steps.find((step) => step.id === 'approve')?.status === 'WAITING');
  const databaseUrl = before.trellis.databaseUrl;
  await before.stop();
  before = undefined;

  after = await createTestContext({
    rewriteDatabaseUrl: () => new URL(databaseUrl),
    env: { TRELLIS_SECRET_KEY: newKey.toString('base64'), TRELLIS_SECRET_KEY_PREVIOUS: oldKey.toString('base64'), TRELLIS_TASK_QUEUE: taskQueue },
  });
  await after.gql('mutation($id: ID!) { signalRun(id: $id, signal: "go", payload: {amount: 5}) { id } }', { id: run.id });
  await after.trellis.client.workflow.getHandle(run.temporal.workflowId).result();
  expect((await getRun(after, run.id)).status).toBe('COMPLETED');
  expect(stub.received('POST /pay').map((request) => [request.headers.authorization, request.body])).toEqual([[SECRET, { amount: 5 }]]);

  // Re-encrypted at start: the new key alone reads the secret, the old one no longer does.
  expect((await new SecretStore(after.trellis.db, newKey).resolve('default', ['PAY'])).get('PAY')).toBe(SECRET);
  await expect(new SecretStore(after.trellis.db, oldKey).resolve('default', ['PAY'])).rejects.toThrow(/decrypts with neither/);
}, 120_000);
