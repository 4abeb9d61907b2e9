#!/usr/bin/env node
// Seeds a SQLite policy cache for the Node-lines smoke (.ci/node-lines.sh): one fresh, valid
// MTA-STS policy for example.com, written through the project's own SQLite adapter with the
// Node under test (so the rebuilt better-sqlite3 writes it and the daemon reads it back).
// With the policy cached, `postmap -q example.com` gets `secure match=...` whatever DNS says
// (no TXT record or no DNS at all: RFC 8461 §5.1 keeps using an unexpired cached policy).
// Usage: node .ci/node-lines-seed.mjs PROJECT_DIR CACHE_FILE
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [projectDir, cacheFile] = process.argv.slice(2);
if (projectDir === undefined || cacheFile === undefined) {
  console.error('usage: node-lines-seed.mjs PROJECT_DIR CACHE_FILE');
  process.exit(2);
}
const load = (rel) => import(pathToFileURL(resolve(projectDir, rel)).href);
const { SqlitePolicyCache } = await load('dist/adapters/cache/sqlite.js');
const { parsePolicyFile } = await load('dist/src/policy/policy-file.js');
const { CACHE_ENTRY_VERSION } = await load('dist/src/cache/types.js');

const policyText = 'version: STSv1\r\nmode: enforce\r\nmx: mx.example.com\r\nmax_age: 604800\r\n';
const parsed = parsePolicyFile(policyText);
if (!parsed.ok) throw new Error(`seed policy does not parse: ${JSON.stringify(parsed.problems)}`);
const now = Date.now();
const cache = new SqlitePolicyCache({ path: resolve(cacheFile), busyTimeoutMs: 5000 });
await cache.open();
await cache.set({
  v: CACHE_ENTRY_VERSION,
  domain: 'example.com',
  id: 'nodelines1',
  policyText,
  policy: parsed.value,
  fetchedAt: now,
  expiresAt: now + 604_800_000,
  checkedAt: now,
});
const back = await cache.get('example.com');
await cache.close();
if (back?.id !== 'nodelines1') throw new Error('seeded entry not read back');
console.log(`seeded ${cacheFile} with example.com (better-sqlite3 on node ${process.version})`);
