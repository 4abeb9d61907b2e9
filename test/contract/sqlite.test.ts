import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { SqlitePolicyCache } from '../../adapters/cache/sqlite.js';
import { runPolicyCacheContract } from './policy-cache.contract.js';

const dir = mkdtempSync(join(tmpdir(), 'msb-sqlite-contract-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
const open = (path: string): SqlitePolicyCache => new SqlitePolicyCache({ path, busyTimeoutMs: 2000 });

runPolicyCacheContract('sqlite', () => open(join(dir, `c${++n}`, 'cache.sqlite')), {
  reopen: (closed) => open((closed as SqlitePolicyCache).path),
});
