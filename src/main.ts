// First: the modules below load the synchronous jsonata build this makes sure exists.
import './sync-jsonata-ready';
import { loadConfig, type Config } from './config';
import { freePort } from './net/free-port';
import { configureLogger, errorFields, logger } from './observability/logger';
import { installTemporalLogger } from './temporal/worker';
import { startTrellis, type Trellis } from './trellis';

/** `npm start`: everything in one process, stopped cleanly by SIGINT or SIGTERM. */
async function main(): Promise<void> {
  const config = loadConfig();
  // JSON lines, one per event; a developer's terminal gets them pretty-printed (pino-pretty).
  configureLogger({ level: config.logLevel, pretty: config.development && process.stdout.isTTY === true });
  // The SDK's worker metrics are served on loopback and folded into Trellis's /metrics.
  installTemporalLogger(temporalLevel(config), config.role === 'api' ? {} : { metricsPort: await freePort() });
  let started: Trellis | undefined;
  const trellis = (started = await startTrellis(config, {
    log: (message) => logger.info(message),
    // A worker that stopped by itself runs nothing any more: exit, so Docker or Kubernetes restarts it.
    onWorkerError: (err) => {
      logger.fatal(errorFields(err, true), 'the worker stopped with an error; exiting');
      void (started?.stop() ?? Promise.resolve()).finally(() => process.exit(1));
    },
  }));
  const lines = [`Trellis is running (role: ${config.role})`];
  if (trellis.graphqlUrl) lines.push(`  Dashboard:   ${trellis.graphqlUrl.replace(/\/graphql$/, '/')}`);
  if (trellis.graphqlUrl) lines.push(`  GraphQL:     ${trellis.graphqlUrl}  (subscriptions: ${trellis.graphqlUrl.replace(/^http/, 'ws')})`);
  if (trellis.graphqlUrl) lines.push(`  Health:      ${trellis.graphqlUrl.replace(/\/graphql$/, '/health')}`);
  if (trellis.metricsUrl) lines.push(`  Metrics:     ${trellis.metricsUrl}`);
  lines.push(`  Temporal:    ${trellis.temporalAddress}`);
  if (trellis.temporalUiUrl) lines.push(`  Temporal UI: ${trellis.temporalUiUrl}`);
  if (trellis.egress) lines.push(`  ${trellis.egress}`);
  lines.push('Press Ctrl+C to stop.');
  // For people, as plain text whatever the log format: the one output that is not a JSON line.
  console.log(lines.join('\n'));

  let stoppingSince: number | undefined;
  const shutdown = (signal: string) => {
    // A terminal's Ctrl+C reaches both tsx and this process, so one key press can arrive twice.
    if (stoppingSince !== undefined && Date.now() - stoppingSince < 2000) return;
    if (stoppingSince !== undefined) {
      logger.warn(`${signal} again: exiting without waiting`);
      process.exit(1);
    }
    stoppingSince = Date.now();
    logger.info(`${signal}: stopping…`);
    trellis.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error(errorFields(err, true), 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

/** The SDK logs at `LOG_LEVEL`, but never below INFO: its DEBUG lines are about its own machinery. */
function temporalLevel(config: Config): 'INFO' | 'WARN' | 'ERROR' {
  if (config.logLevel === 'error' || config.logLevel === 'fatal' || config.logLevel === 'silent') return 'ERROR';
  return config.logLevel === 'warn' ? 'WARN' : 'INFO';
}

main().catch((err: unknown) => {
  // A configuration error or a dependency that cannot be reached: its message says what to do.
  // On a terminal (`npm start`) as plain text, like the banner; otherwise one JSON line.
  const message = err instanceof Error ? err.message : String(err);
  if (process.stderr.isTTY) console.error(message);
  else logger.fatal(errorFields(err, !message.startsWith('Invalid configuration')), message);
  process.exit(1);
});
