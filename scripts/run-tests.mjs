#!/usr/bin/env node
// Runs every compiled `*.test.js` under the given directories (or the given test files) with
// node's test runner.
// Node 20's `--test DIR` would also run every other .js file below a `test` directory
// (fixtures, the fake servers), and glob arguments only arrive with Node 21.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const flags = args.filter((a) => a.startsWith('--'));
const roots = args.filter((a) => !a.startsWith('--'));
const files = [];
const walk = (dir) => {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path);
    else if (entry.name.endsWith('.test.js')) files.push(path);
  }
};
// A root that is a file is run as it is: `node scripts/run-tests.mjs dist/test/unit/x/y.test.js`.
for (const root of roots.length > 0 ? roots : ['dist/test']) {
  if (statSync(root).isFile()) files.push(root);
  else walk(root);
}
if (files.length === 0) {
  console.error(`no test files under ${roots.join(', ')}`);
  process.exit(2);
}
// A test that hangs fails after this long instead of stalling the run (CI has 90 minutes); the
// slowest real test (npm pack + install -g compiling the native addons) takes a few minutes.
const DEFAULT_TEST_TIMEOUT_MS = 600_000;
if (!flags.some((f) => f.startsWith('--test-timeout'))) flags.push(`--test-timeout=${DEFAULT_TEST_TIMEOUT_MS}`);
const r = spawnSync(process.execPath, ['--test', ...flags, ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
