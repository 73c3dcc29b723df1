#!/usr/bin/env node
// Builds the dashboard (web/ → web/dist) when the build is missing or stale, so `npm start` and
// the tests always serve what the sources say, and nothing built is committed. A build is stale
// when the hash of its inputs (web/ sources, package-lock.json, this script) differs from the one
// recorded in web/dist/.build-hash. Where Vite is not installed (a production image, built by the
// Dockerfile's build stage), an existing build is served as it is.
//
//   node scripts/build-dashboard.mjs           build if missing or stale
//   node scripts/build-dashboard.mjs --force   build anyway
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const web = path.join(root, 'web');
const dist = path.join(web, 'dist');
const hashFile = path.join(dist, '.build-hash');

function inputsHash() {
  const hash = createHash('sha256');
  const visit = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (full !== dist && entry.name !== 'node_modules') visit(full);
      } else {
        hash.update(path.relative(root, full)).update('\0').update(readFileSync(full)).update('\0');
      }
    }
  };
  visit(web);
  for (const file of ['package-lock.json', 'scripts/build-dashboard.mjs']) {
    if (existsSync(path.join(root, file))) hash.update(file).update(readFileSync(path.join(root, file)));
  }
  return hash.digest('hex');
}

const force = process.argv.includes('--force');
const wanted = inputsHash();
const built = existsSync(hashFile) ? readFileSync(hashFile, 'utf8').trim() : undefined;
if (!force && built === wanted && existsSync(path.join(dist, 'index.html'))) process.exit(0);

let vite;
try {
  vite = await import(createRequire(path.join(root, 'package.json')).resolve('vite'));
} catch {
  if (existsSync(path.join(dist, 'index.html'))) {
    if (built !== wanted) console.warn('dashboard: Vite is not installed; serving the existing build of web/ as it is');
    process.exit(0);
  }
  console.warn('dashboard: not built and Vite is not installed (npm install without --omit=dev builds it); the API runs without it');
  process.exit(0);
}

const startedAt = Date.now();
console.log(built ? 'dashboard: web/ changed since the last build; building…' : 'dashboard: building web/ (first start)…');
await vite.build({ configFile: path.join(web, 'vite.config.mts'), root: web, logLevel: 'warn' });
writeFileSync(hashFile, `${wanted}\n`);
console.log(`dashboard: built in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
