/**
 * Imported first by the process entry points (`src/main.ts`, `bench/run.ts`): writes the
 * synchronous jsonata build when it is missing or stale, before any module loads it. `npm install`
 * (postinstall) normally made it already; see `scripts/generate-sync-jsonata.ts`.
 */
import { ensureSyncJsonata } from '../scripts/generate-sync-jsonata';

const { path, generated } = ensureSyncJsonata();
if (generated) console.log(`generated ${path}`);
