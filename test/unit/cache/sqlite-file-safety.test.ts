/**
 * The sqlite cache file's owner and permissions (issue 13 finding 5): writable by others is
 * refused, another owner is warned about; errors name the file.
 */
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SqlitePolicyCache } from '../../../adapters/cache/sqlite.js';
import { openCache } from '../../../adapters/cache/registry.js';
import { memoryLogger } from '../../helpers/fakes.js';

const root = mkdtempSync(join(tmpdir(), 'msb-safety-'));
after(() => rmSync(root, { recursive: true, force: true }));

async function fresh(name: string): Promise<{ dir: string; path: string }> {
  const dir = join(root, name);
  mkdirSync(dir, { mode: 0o700 });
  const path = join(dir, 'policy-cache.sqlite');
  const c = new SqlitePolicyCache({ path, busyTimeoutMs: 100, purgeIntervalMs: 0 });
  await c.open();
  await c.close();
  return { dir, path };
}

describe('sqlite cache file safety', () => {
  it('a file writable by others is refused, naming the file', async () => {
    const { path } = await fresh('o-w');
    chmodSync(path, 0o666);
    const c = new SqlitePolicyCache({ path, busyTimeoutMs: 100, purgeIntervalMs: 0 });
    await assert.rejects(c.open(), (err: Error) => err.message.includes(path) && /writable by group or others/.test(err.message));
  });

  it('a directory writable by others without the sticky bit is refused', async () => {
    const { dir, path } = await fresh('dir-o-w');
    chmodSync(dir, 0o777);
    await assert.rejects(new SqlitePolicyCache({ path, busyTimeoutMs: 100, purgeIntervalMs: 0 }).open(), /writable by others/);
    chmodSync(dir, 0o1777);
    const c = new SqlitePolicyCache({ path, busyTimeoutMs: 100, purgeIntervalMs: 0 });
    await c.open();
    await c.close();
  });

  it(
    'a file owned by another user (mode 0644) is used with a warning in the log',
    { skip: process.geteuid?.() !== 0 ? 'needs root to chown' : false },
    async () => {
      const { dir, path } = await fresh('other-owner');
      chownSync(path, 65534, 65534);
      chmodSync(path, 0o644);
      const { log, lines } = memoryLogger();
      const cache = await openCache(
        { type: 'sqlite', filename: 'policy-cache.sqlite', timeoutSec: 1, cacheSize: 10, stateDirectory: dir },
        log,
        { env: {} },
      );
      await cache.close();
      const line = lines.find((l) => l['code'] === 'ECACHE_UNSAFE');
      assert.equal(line?.['level'], 'warn');
      assert.match(String(line?.['reason']), /owned by uid 65534/);
    },
  );

  it('a run-time statement error names the file', async () => {
    const { path } = await fresh('closed');
    const c = new SqlitePolicyCache({ path, busyTimeoutMs: 100, purgeIntervalMs: 0 });
    await c.open();
    await c.close();
    await assert.rejects(c.get('x.example'), (err: Error) => err.message.includes(path));
  });
});
