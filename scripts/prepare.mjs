#!/usr/bin/env node
// `npm install` / `npm ci` in a checkout run `prepare`: build dist/ when the build tools (dev
// dependencies) are there. `npm ci --omit=dev` in a checkout whose dist/ is already built (a
// server install into /opt) has no TypeScript: then an existing dist/ is enough, and a missing
// one is an error that says what to do.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
let hasTypescript = true;
try {
  createRequire(import.meta.url).resolve('typescript/package.json');
} catch {
  hasTypescript = false;
}
if (hasTypescript) {
  const r = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
if (existsSync(join(root, 'dist', 'main', 'cli', 'main.js'))) {
  console.error('mta-sts-bridge: no TypeScript (dev dependencies omitted): keeping the built dist/');
  process.exit(0);
}
console.error(
  'mta-sts-bridge: dist/ is not built and TypeScript is not installed: run `npm ci` (with dev dependencies) once, or install the npm package (`npm install -g mta-sts-bridge`)',
);
process.exit(1);
