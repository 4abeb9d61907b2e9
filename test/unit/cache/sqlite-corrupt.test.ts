/**
 * A damaged SQLite file at start (issue 13 finding 6), with real files corrupted by overwriting
 * bytes: moved aside and replaced under `on_corrupt: move` (the default), refused under `refuse`;
 * the Python tool's file and a newer schema's are never moved.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, writeSync, closeSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { SqlitePolicyCache } from '../../../adapters/cache/sqlite.js';
import { openCache } from '../../../adapters/cache/registry.js';
import { sampleEntry } from '../../contract/policy-cache.contract.js';
import { memoryLogger } from '../../helpers/fakes.js';

const root = mkdtempSync(join(tmpdir(), 'msb-corrupt-'));
after(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
async function damagedFile(where: 'header' | 'page'): Promise<{ dir: string; path: string }> {
  const dir = join(root, `d${(n += 1)}`);
  const path = join(dir, 'cache.sqlite');
  const c = new SqlitePolicyCache({ path, busyTimeoutMs: 100, purgeIntervalMs: 0 });
  await c.open();
  for (let i = 0; i < 50; i += 1) await c.set(sampleEntry(`d${i}.example`));
  await c.close();
  const fd = openSync(path, 'r+');
  // The header's magic string (SQLITE_NOTADB), or the b-tree pages past the first (SQLITE_CORRUPT).
  if (where === 'header') writeSync(fd, Buffer.alloc(16, 0x41), 0, 16, 0);
  else writeSync(fd, Buffer.alloc(4096 * 3, 0xff), 0, 4096 * 3, 4096);
  closeSync(fd);
  return { dir, path };
}

describe('damaged sqlite file at open', () => {
  for (const where of ['header', 'page'] as const) {
    it(`${where} overwritten: move renames it to <file>.corrupt-<time> and opens a new, working file`, async () => {
      const { dir, path } = await damagedFile(where);
      const c = new SqlitePolicyCache({
        path,
        busyTimeoutMs: 100,
        purgeIntervalMs: 0,
        onCorrupt: 'move',
        clock: { now: () => Date.UTC(2026, 11, 5, 0, 0, 0) },
      });
      await c.open();
      assert.equal(c.movedAside?.to, `${path}.corrupt-20261205T000000Z`);
      assert.ok(existsSync(`${path}.corrupt-20261205T000000Z`));
      assert.equal(await c.get('d1.example'), undefined, 'the lost policies are gone');
      await c.set(sampleEntry('new.example'));
      assert.equal((await c.get('new.example'))?.domain, 'new.example');
      await c.close();
      assert.ok(readdirSync(dir).some((f) => f.startsWith('cache.sqlite.corrupt-')));
    });

    it(`${where} overwritten: refuse fails the open naming the file and moves nothing`, async () => {
      const { dir, path } = await damagedFile(where);
      const c = new SqlitePolicyCache({ path, busyTimeoutMs: 100, purgeIntervalMs: 0, onCorrupt: 'refuse' });
      await assert.rejects(c.open(), (err: Error) => err.message.includes(path));
      assert.ok(!readdirSync(dir).some((f) => f.includes('corrupt')));
    });
  }

  it('the daemon path (openCache) moves by default and logs an error with ECACHE_CORRUPT', async () => {
    const { dir } = await damagedFile('header');
    const { log, lines } = memoryLogger();
    const cache = await openCache({ type: 'sqlite', filename: 'cache.sqlite', timeoutSec: 1, cacheSize: 10, stateDirectory: dir }, log, {
      env: {},
    });
    await cache.set(sampleEntry('x.example'));
    assert.equal((await cache.get('x.example'))?.domain, 'x.example');
    await cache.close();
    const line = lines.find((l) => l['code'] === 'ECACHE_CORRUPT');
    assert.equal(line?.['level'], 'error');
    assert.match(String(line?.['movedTo']), /cache\.sqlite\.corrupt-/);
  });

  it("the Python tool's file and a newer schema are refused even with move, never moved", async () => {
    const dir = join(root, 'foreign');
    const py = join(dir, 'py.sqlite');
    const newer = join(dir, 'newer.sqlite');
    mkdirSync(dir, { recursive: true });
    const a = new Database(py);
    a.exec('CREATE TABLE sts_policy_cache (domain TEXT PRIMARY KEY, ts INTEGER, pol_id TEXT, pol_body TEXT)');
    a.close();
    const b = new Database(newer);
    b.pragma('user_version = 99');
    b.close();
    for (const path of [py, newer]) {
      const c = new SqlitePolicyCache({ path, busyTimeoutMs: 100, purgeIntervalMs: 0, onCorrupt: 'move' });
      await assert.rejects(c.open(), (err: Error) => err.message.includes(path));
      assert.ok(existsSync(path));
    }
    assert.ok(!readdirSync(dir).some((f) => f.includes('corrupt')));
  });

  it('a damaged file reached through a symlink is refused, not moved', async () => {
    const { path } = await damagedFile('header');
    const link = join(root, 'link.sqlite');
    symlinkSync(path, link);
    const c = new SqlitePolicyCache({ path: link, busyTimeoutMs: 100, purgeIntervalMs: 0, onCorrupt: 'move' });
    await assert.rejects(c.open(), /symbolic link/);
    assert.ok(existsSync(path));
  });
});
