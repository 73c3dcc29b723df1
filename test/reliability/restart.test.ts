import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { collectSubscription, graphqlData, wsClient } from '../support/graphql-client';
import { freePorts } from '../../src/net/free-port';

const ROOT = path.resolve(__dirname, '../..');
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');

type Started = { child: ChildProcess; graphqlUrl: string; output: () => string };

/** Runs `npm start`'s entry point as a separate process and waits for its banner. */
async function startProcess(env: NodeJS.ProcessEnv): Promise<Started> {
  // Its own process group, as under a terminal: Ctrl+C there signals every process in the group.
  const child = spawn(TSX, ['src/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  const graphqlUrl = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /GraphQL:\s+(\S+)/.exec(output);
      if (match) resolve(match[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`trellis exited with ${code} before it was ready:\n${output}`)));
  });
  return { child, graphqlUrl, output: () => output };
}

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** Processes whose command line mentions `needle` (our Temporal server and PostgreSQL do: their data dir). */
function processesMentioning(needle: string): string[] {
  try {
    return execFileSync('pgrep', ['-af', needle], { encoding: 'utf8' }).split('\n').filter((line) => line && !line.includes('pgrep'));
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

describe('npm start', () => {
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let current: Started | undefined;

  beforeAll(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'trellis-restart-'));
    await fs.chmod(dataDir, 0o755); // PostgreSQL runs as another user when the suite runs as root
    const { TEMPORAL_ADDRESS: _a, DATABASE_URL: _d, TRELLIS_TEST_DATABASE_URL: _t, ...rest } = process.env;
    // Ports the embedded Temporal server's own services cannot take while Trellis starts.
    const [port, temporalPort, uiPort] = await freePorts(3);
    env = { ...rest, TRELLIS_DATA_DIR: dataDir, PORT: String(port), TEMPORAL_PORT: String(temporalPort), TEMPORAL_UI_PORT: String(uiPort) };
  });

  afterAll(async () => {
    if (current && current.child.exitCode === null) {
      current.child.kill('SIGTERM');
      await exitOf(current.child);
    }
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('stops cleanly on SIGTERM or Ctrl+C and finishes a run in flight after a restart, without repeating finished steps', async () => {
    current = await startProcess(env);
    const gql = <T = any>(query: string, variables?: Record<string, unknown>) => graphqlData<T>(current!.graphqlUrl, query, variables);
    await gql(`mutation($spec: JSON!) { saveDefinition(spec: $spec) { version } }`, {
      spec: {
        name: 'survivor',
        output: '{% $steps.after.output %}',
        steps: {
          before: { type: 'transform', value: '{% $input.n * 2 %}' },
          pause: { type: 'delay', needs: ['before'], duration: '4s' },
          after: { type: 'transform', needs: ['pause'], value: '{% $steps.before.output + 1 %}' },
        },
      },
    });
    const { startRun } = await gql(`mutation { startRun(definition: "survivor", input: {n: 20}) { id } }`);

    // Stop while the timer is pending: once the delay has started.
    const client = wsClient(current.graphqlUrl);
    await new Promise<void>((resolve, reject) => {
      const stop = client.subscribe<{ runEvents: { type: string; stepId: string | null } }>(
        { query: `subscription($id: ID!) { runEvents(runId: $id) { type stepId } }`, variables: { id: startRun.id } },
        {
          next: ({ data }) => {
            if (data!.runEvents.type === 'STEP_STARTED' && data!.runEvents.stepId === 'pause') {
              stop();
              resolve();
            }
          },
          error: reject,
          complete: () => reject(new Error('the run ended before it could be interrupted')),
        },
      );
    });
    await client.dispose();
    current.child.kill('SIGTERM');
    expect(await exitOf(current.child)).toBe(0);
    expect(processesMentioning(dataDir)).toEqual([]);

    current = await startProcess(env);
    const again = wsClient(current.graphqlUrl);
    try {
      const events = await collectSubscription<{ runEvents: { seq: number; type: string; stepId: string | null } }>(
        again,
        `subscription($id: ID!) { runEvents(runId: $id) { seq type stepId } }`,
        { id: startRun.id },
      );
      const trail = events.map((e) => `${e.runEvents.type}:${e.runEvents.stepId ?? ''}`);
      expect(events.map((e) => e.runEvents.seq)).toEqual(events.map((_, i) => i + 1));
      expect(trail.filter((t) => t === 'STEP_STARTED:before')).toHaveLength(1);
      expect(trail.filter((t) => t === 'STEP_STARTED:pause')).toHaveLength(1);
      expect(trail.at(-1)).toBe('RUN_COMPLETED:');
    } finally {
      await again.dispose();
    }
    const run = await graphqlData<any>(current.graphqlUrl, `query($id: ID!) { run(id: $id) { status output } }`, { id: startRun.id });
    expect(run.run).toEqual({ status: 'COMPLETED', output: 41 });

    // Ctrl+C in a terminal: SIGINT reaches the whole group, Temporal and PostgreSQL included.
    process.kill(-current.child.pid!, 'SIGINT');
    expect(await exitOf(current.child)).toBe(0);
    expect(processesMentioning(dataDir)).toEqual([]);
    // Two whole starts, each creating a database cluster and bundling the workflow code.
  }, 180_000);
});
