// First: the modules below load the synchronous jsonata build this makes sure exists.
import './sync-jsonata-ready';
import { loadConfig } from './config';
import { installTemporalLogger } from './temporal/worker';
import { startTrellis } from './trellis';

/** `npm start`: everything in one process, stopped cleanly by SIGINT or SIGTERM. */
async function main(): Promise<void> {
  const config = loadConfig();
  installTemporalLogger('WARN');
  const trellis = await startTrellis(config);
  const lines = [`Trellis is running (role: ${config.role})`];
  if (trellis.graphqlUrl) lines.push(`  Dashboard:   ${trellis.graphqlUrl.replace(/\/graphql$/, '/')}`);
  if (trellis.graphqlUrl) lines.push(`  GraphQL:     ${trellis.graphqlUrl}  (subscriptions: ${trellis.graphqlUrl.replace(/^http/, 'ws')})`);
  if (trellis.graphqlUrl) lines.push(`  Health:      ${trellis.graphqlUrl.replace(/\/graphql$/, '/health')}`);
  lines.push(`  Temporal:    ${trellis.temporalAddress}`);
  if (trellis.temporalUiUrl) lines.push(`  Temporal UI: ${trellis.temporalUiUrl}`);
  if (trellis.egress) lines.push(`  ${trellis.egress}`);
  lines.push('Press Ctrl+C to stop.');
  console.log(lines.join('\n'));

  let stoppingSince: number | undefined;
  const shutdown = (signal: string) => {
    // A terminal's Ctrl+C reaches both tsx and this process, so one key press can arrive twice.
    if (stoppingSince !== undefined && Date.now() - stoppingSince < 2000) return;
    if (stoppingSince !== undefined) {
      console.log(`${signal} again: exiting without waiting`);
      process.exit(1);
    }
    stoppingSince = Date.now();
    console.log(`${signal}: stopping…`);
    trellis.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
