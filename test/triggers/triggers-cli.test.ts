import { runCli } from '../../src/cli/main';
import { createTestContext, type TestContext } from '../support/test-context';
import { deliver } from '../support/webhooks';

/** `trellis webhooks|triggers|schedules|publish` against a real API. */

let ctx: TestContext;

beforeAll(async () => {
  ctx = await createTestContext();
  await ctx.gql('mutation($spec: JSON!) { saveDefinition(spec: $spec) { version } }', { spec: { name: 'cli-hook', steps: { done: { type: 'transform', value: 1 } } } });
});

afterAll(async () => {
  await ctx?.stop();
});

async function cli(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli([...argv, '--url', ctx.graphqlUrl], { out: (line) => out.push(line), err: (line) => err.push(line) });
  return { code, out, err };
}

describe('the trellis CLI for triggers', () => {
  it('creates, lists, rotates and deletes a webhook and lists its deliveries', async () => {
    const created = await cli('webhooks', 'create', '--definition', 'cli-hook');
    expect(created).toMatchObject({ code: 0, err: [] });
    const id = /^created webhook (\S+) of cli-hook$/.exec(created.out[0]!)![1]!;
    const url = created.out[1]!.replace(/^url +/, '');
    const secret = created.out[2]!.replace(/^secret +/, '');
    expect((await deliver(url, {}, { secret })).status).toBe(202);
    expect((await cli('webhooks', 'list')).out.join('\n')).toContain(id);
    const deliveries = await cli('webhooks', 'deliveries', '--id', id);
    expect(deliveries.out[1]).toMatch(/ 202 /);
    const rotated = await cli('webhooks', 'rotate', '--id', id);
    expect(rotated.out[0]).toMatch(/^new secret of webhook \S+: whsec_/);
    expect(rotated.out[1]).toMatch(/previous secret is accepted until/);
    expect((await cli('webhooks', 'delete', '--id', id)).out).toEqual([`deleted webhook ${id}`]);
    expect(await cli('webhooks', 'delete', '--id', id)).toMatchObject({ code: 1, err: [`error: no webhook ${id}`] });
    expect((await cli('webhooks', 'rotate')).err[0]).toMatch(/needs --id/);
  });

  it('creates a trigger, publishes an event that fires it, and deletes it', async () => {
    const created = await cli('triggers', 'create', '--event', 'cli.ping', '--definition', 'cli-hook', '--filter', '$event.payload.go = true');
    expect(created.code).toBe(0);
    const id = /^created trigger (\S+):/.exec(created.out[0]!)![1]!;
    expect((await cli('triggers', 'list')).out.join('\n')).toContain(id);
    const published = await cli('publish', 'cli.ping', '--payload', '{"go": true}', '--id', 'ping-1');
    expect(published.out[0]).toBe('event ping-1 DISPATCHED');
    expect(published.out[1]).toMatch(new RegExp(`^  trigger ${id}: run [0-9a-f-]{36}$`));
    expect((await cli('publish', 'cli.ping', '--payload', '{"go": false}')).out[1]).toBe('  no trigger fired');
    expect((await cli('triggers', 'delete', '--id', id)).out).toEqual([`deleted trigger ${id}`]);
  });

  it('creates, pauses, resumes, fires and deletes a schedule', async () => {
    const created = await cli('schedules', 'create', '--definition', 'cli-hook', '--cron', '0 4 * * *', '--timezone', 'Europe/Paris');
    expect(created).toMatchObject({ code: 0, err: [] });
    const id = created.out[1]!.split(/\s+/)[0]!;
    expect(created.out[1]).toMatch(/cron 0 4 \* \* \* \(Europe\/Paris\) +active/);
    expect((await cli('schedules', 'pause', '--id', id)).out[1]).toMatch(/paused/);
    expect((await cli('schedules', 'resume', '--id', id)).out[1]).toMatch(/active/);
    expect((await cli('schedules', 'trigger', '--id', id)).out[0]).toMatch(new RegExp(`^fired schedule ${id}: run [0-9a-f-]{36}`));
    expect((await cli('schedules', 'create', '--definition', 'cli-hook', '--cron', '0 4 * *')).err.join('\n')).toMatch(/\/cron.*5 fields/);
    const listed = JSON.parse((await cli('schedules', 'list', '--json')).out.join('\n'));
    expect(listed.schedules).toContainEqual(expect.objectContaining({ id, cron: '0 4 * * *', paused: false }));
    expect((await cli('schedules', 'delete', '--id', id)).out).toEqual([`deleted schedule ${id}`]);
  });
});
