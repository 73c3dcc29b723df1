import { CodeSandbox } from '../../src/code-steps/code-sandbox';

const sandbox = new CodeSandbox();
const args = { input: {}, steps: {}, run: { id: 'r', definition: 'd', version: 1, startedAt: '2026-01-01T00:00:00Z', attempt: 1 } };

describe('the code sandbox', () => {
  it('returns what the code returns', async () => {
    expect(await sandbox.run('return 1 + 1', args)).toEqual({ ok: true, output: 2, logs: [] });
  });
});
