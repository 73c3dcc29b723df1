import { ensureSyncJsonata } from '../../scripts/generate-sync-jsonata';

/**
 * Set-up of the `unit` jest project: no servers, only the synchronous jsonata build the
 * expression code loads (a clone installed with --ignore-scripts lacks it).
 */
export default function unitSetup(): void {
  if (ensureSyncJsonata().generated) process.stderr.write('[trellis unit setup] generated the synchronous jsonata build\n');
}
