import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../src/config';

const key = () => randomBytes(32).toString('base64');

describe('configuration', () => {
  it('refuses to start in production without TRELLIS_SECRET_KEY, saying why and how to make one', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/TRELLIS_SECRET_KEY: required when NODE_ENV=production .*openssl rand -base64 32/);
    expect(() => loadConfig({ NODE_ENV: 'production', TRELLIS_SECRET_KEY: key() })).not.toThrow();
  });

  it('generates a key outside production, where TRELLIS_SECRET_KEY may be missing', () => {
    expect(loadConfig({}).secretKey).toBeUndefined();
  });

  it('reads previous keys for decryption only, and never serves them as secrets', () => {
    const [first, second] = [key(), randomBytes(32).toString('hex')];
    const config = loadConfig({ TRELLIS_SECRET_KEY: key(), TRELLIS_SECRET_KEY_PREVIOUS: `${first}, ${second}`, TRELLIS_SECRET_PAY: 'x' });
    expect(config.previousSecretKeys.map((buffer) => buffer.length)).toEqual([32, 32]);
    expect(Object.keys(config.environmentSecrets)).toEqual(['PAY']);
    expect(() => loadConfig({ TRELLIS_SECRET_KEY_PREVIOUS: 'short' })).toThrow(/TRELLIS_SECRET_KEY_PREVIOUS: must be a comma-separated list of 32-byte keys/);
  });

  it('reads worker pools: the queues a worker polls, the ones steps may name, and the queue of each step type', () => {
    const plain = loadConfig({ TRELLIS_TASK_QUEUE: 'main' });
    expect(plain.workerQueues).toEqual(['main']);
    expect(plain.taskQueues).toEqual({ allowed: [], byStepType: {} });
    const pools = loadConfig({ TRELLIS_TASK_QUEUES: 'trellis-code, internal,internal', TRELLIS_TASK_QUEUES_ALLOWED: 'internal', TRELLIS_STEP_QUEUES: 'code=trellis-code, send-email=mail' });
    expect(pools.workerQueues).toEqual(['trellis-code', 'internal']);
    expect(pools.taskQueues).toEqual({ allowed: ['internal'], byStepType: { code: 'trellis-code', 'send-email': 'mail' } });
    expect(() => loadConfig({ TRELLIS_TASK_QUEUES: 'a b' })).toThrow(/TRELLIS_TASK_QUEUES: invalid task queue "a b"/);
    expect(() => loadConfig({ TRELLIS_STEP_QUEUES: 'code' })).toThrow(/TRELLIS_STEP_QUEUES: "code" is not <step type>=<task queue>/);
    expect(() => loadConfig({ TRELLIS_STEP_QUEUES: 'code=a,code=b' })).toThrow(/step type "code" is given two queues/);
  });

  it('takes an operator tenant only if it is a tenant name', () => {
    expect(loadConfig({ TRELLIS_OPERATOR_TENANT: 'ops' }).operatorTenant).toBe('ops');
    expect(() => loadConfig({ TRELLIS_OPERATOR_TENANT: 'Ops Team' })).toThrow(/TRELLIS_OPERATOR_TENANT/);
  });
});
