/**
 * What the SQLite backend does with its file beyond the PolicyCache contract: permissions,
 * damaged and foreign files, schema versions, purging, paging, sharing between processes.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { PURGE_EXPIRED_AFTER_MS, SCHEMA_VERSION, SqlitePolicyCache, TABLE } from '../../../adapters/cache/sqlite.js';
import { sampleEntry } from '../../contract/policy-cache.contract.js';
import { FakeClock } from '../../helpers/fakes.js';

const root = mkdtempSync(join(tmpdir(), 'msb-sqlite-unit-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = (): string => join(root, `t${++n}`);

function cacheAt(path: string, extra: Partial<ConstructorParameters<typeof SqlitePolicyCache>[0]> = {}): SqlitePolicyCache {
  return new SqlitePolicyCache({ path, busyTimeoutMs: 2000, purgeIntervalMs: 0, ...extra });
}

async function openError(path: string, create = true): Promise<string> {
  const c = cacheAt(path, { create });
  try {
    await c.open();
  } catch (err) {
    return (err as Error).message;
  } finally {
    await c.close();
  }
  assert.fail(`opening ${path} should have failed`);
}

describe('SqlitePolicyCache: the file', () => {
  it('creates a missing directory 0700 and the file 0600 (the umask cannot widen them)', async () => {
    const dir = join(freshDir(), 'nested', 'state');
    const path = join(dir, 'cache.sqlite');
    const old = process.umask(0o000);
    try {
      const c = cacheAt(path);
      await c.open();
      await c.set(sampleEntry('a.example'));
      await c.close();
    } finally {
      process.umask(old);
    }
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(path).mode & 0o777, 0o600);
  });

  it('refuses a file that is not a database, naming it, and leaves it untouched', async () => {
    const dir = freshDir();
    mkdirSync(dir);
    const path = join(dir, 'cache.sqlite');
    const junk = 'this is a user file, not SQLite\n'.repeat(200);
    writeFileSync(path, junk);
    const message = await openError(path);
    assert.match(message, new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: `));
    assert.match(message, /not a database/);
    assert.equal(statSync(path).size, Buffer.byteLength(junk));
  });

  it('refuses a damaged database (a truncated file)', async () => {
    const dir = freshDir();
    const path = join(dir, 'cache.sqlite');
    const c = cacheAt(path);
    await c.open();
    for (let i = 0; i < 200; i += 1) await c.set(sampleEntry(`d${i}.example`));
    await c.close();
    const db = new Database(path);
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    const bytes = statSync(path).size;
    const { truncateSync } = await import('node:fs');
    truncateSync(path, Math.floor(bytes / 2));
    assert.match(await openError(path), /damaged|malformed|not a database/);
  });

  it("refuses another program's database, and says so for the Python resolver's cache", async () => {
    const dir = freshDir();
    mkdirSync(dir);
    const path = join(dir, 'python.db');
    const db = new Database(path);
    db.exec('create table sts_policy_cache (domain text, ts integer, pol_id text, pol_body text)');
    db.close();
    const message = await openError(path);
    assert.match(
      message,
      /not an mta-sts-bridge cache: it holds the tables sts_policy_cache \(it looks like the Python postfix-mta-sts-resolver cache\)/,
    );
  });

  it('refuses a file from a newer schema version', async () => {
    const dir = freshDir();
    mkdirSync(dir);
    const path = join(dir, 'newer.sqlite');
    const db = new Database(path);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    assert.match(await openError(path), new RegExp(`newer mta-sts-bridge \\(schema ${SCHEMA_VERSION + 1}`));
  });

  it('writes the schema version, WAL mode and one table keyed by domain', async () => {
    const path = join(freshDir(), 'cache.sqlite');
    const c = cacheAt(path);
    await c.open();
    await c.set(sampleEntry('a.example'));
    const db = new Database(path, { readonly: true });
    try {
      assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      const row = db.prepare(`SELECT domain, entry, expires_at FROM ${TABLE}`).get() as {
        domain: string;
        entry: string;
        expires_at: number;
      };
      assert.equal(row.domain, 'a.example');
      assert.equal(row.expires_at, sampleEntry('a.example').expiresAt);
      assert.deepEqual(JSON.parse(row.entry), sampleEntry('a.example'));
    } finally {
      db.close();
      await c.close();
    }
  });

  it('without create, a missing file is an error and nothing is created', async () => {
    const path = join(freshDir(), 'absent.sqlite');
    assert.match(await openError(path, false), /does not exist/);
    assert.throws(() => statSync(path), /ENOENT/);
  });

  it('a row that does not decode counts as absent', async () => {
    const path = join(freshDir(), 'cache.sqlite');
    const c = cacheAt(path);
    await c.open();
    await c.set(sampleEntry('good.example'));
    const db = new Database(path);
    db.prepare(`INSERT INTO ${TABLE} (domain, entry, expires_at) VALUES (?, ?, ?)`).run('bad.example', '{not json', 0);
    db.prepare(`INSERT INTO ${TABLE} (domain, entry, expires_at) VALUES (?, ?, ?)`).run(
      'old.example',
      JSON.stringify({ ...sampleEntry('old.example'), v: 99 }),
      0,
    );
    db.close();
    assert.equal(await c.get('bad.example'), undefined);
    assert.equal(await c.get('old.example'), undefined);
    const listed: string[] = [];
    for await (const batch of c.entries(1)) for (const e of batch) listed.push(e.domain);
    assert.deepEqual(listed, ['good.example']);
    await c.close();
  });
});

describe('SqlitePolicyCache: purge and paging', () => {
  it('purges entries expired longer than the purge age at open, keeps the others', async () => {
    const path = join(freshDir(), 'cache.sqlite');
    const clock = new FakeClock(Date.UTC(2026, 5, 1));
    const now = clock.now();
    const first = cacheAt(path, { clock });
    await first.open();
    await first.set(sampleEntry('long-gone.example', { expiresAt: now - PURGE_EXPIRED_AFTER_MS - 1 }));
    await first.set(sampleEntry('just-expired.example', { expiresAt: now - 1000 }));
    await first.set(sampleEntry('valid.example', { expiresAt: now + 86_400_000 }));
    assert.ok((await first.get('long-gone.example')) !== undefined, 'no purge between opens with the interval off');
    await first.close();

    const second = cacheAt(path, { clock });
    await second.open();
    assert.equal(await second.get('long-gone.example'), undefined);
    assert.ok((await second.get('just-expired.example')) !== undefined);
    assert.ok((await second.get('valid.example')) !== undefined);
    clock.advance(PURGE_EXPIRED_AFTER_MS);
    assert.equal(second.purge(), 1);
    assert.equal(await second.get('just-expired.example'), undefined);
    await second.close();
  });

  it('purges periodically while open', async () => {
    const path = join(freshDir(), 'cache.sqlite');
    const clock = new FakeClock(Date.UTC(2026, 5, 1));
    const c = cacheAt(path, { clock, purgeIntervalMs: 10 });
    await c.open();
    await c.set(sampleEntry('old.example', { expiresAt: clock.now() - 1000 }));
    clock.advance(PURGE_EXPIRED_AFTER_MS + 1000);
    for (let i = 0; i < 100 && (await c.get('old.example')) !== undefined; i += 1) await new Promise((r) => setTimeout(r, 10));
    assert.equal(await c.get('old.example'), undefined);
    await c.close();
  });

  it('entries pages by key order, so every domain comes exactly once even with batch 1', async () => {
    const path = join(freshDir(), 'cache.sqlite');
    const c = cacheAt(path);
    await c.open();
    const domains = ['b.example', 'a.example', 'a.example.com', 'z.example', 'xn--bcher-kva.example', 'a-b.example'];
    for (const d of domains) await c.set(sampleEntry(d));
    for (const size of [1, 2, 5, 6, 7]) {
      const batches: string[][] = [];
      for await (const batch of c.entries(size)) batches.push(batch.map((e) => e.domain));
      assert.deepEqual(batches.flat(), [...domains].sort(), `batch size ${size}`);
      assert.ok(batches.every((b) => b.length <= size));
    }
    await c.close();
  });

  it('uses keyset pagination (domain > ?), never OFFSET', async () => {
    const { readFile } = await import('node:fs/promises');
    const source = await readFile(new URL('../../../../adapters/cache/sqlite.ts', import.meta.url), 'utf8');
    assert.match(source, /WHERE domain > \? ORDER BY domain LIMIT \?/);
    assert.doesNotMatch(source, /OFFSET/i);
  });
});

describe('SqlitePolicyCache: one file, several daemons', () => {
  it('two open instances see each other’s writes', async () => {
    const path = join(freshDir(), 'shared.sqlite');
    const a = cacheAt(path);
    const b = cacheAt(path);
    await a.open();
    await b.open();
    await a.set(sampleEntry('from-a.example'));
    await b.set(sampleEntry('from-b.example'));
    assert.ok((await b.get('from-a.example')) !== undefined);
    assert.ok((await a.get('from-b.example')) !== undefined);
    assert.equal(await b.delete('from-a.example'), true);
    assert.equal(await a.get('from-a.example'), undefined);
    await a.close();
    await b.close();
  });

  it('a writer waits for another process’s write lock up to the busy timeout', async () => {
    const path = join(freshDir(), 'locked.sqlite');
    const c = cacheAt(path, { busyTimeoutMs: 50 });
    await c.open();
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE');
    const t0 = Date.now();
    await assert.rejects(c.set(sampleEntry('a.example')), /locked|busy/i);
    assert.ok(Date.now() - t0 >= 40, 'waited for the lock');
    // Readers are not blocked by a writer in WAL mode.
    assert.equal(await c.get('a.example'), undefined);
    other.exec('ROLLBACK');
    other.close();
    await c.set(sampleEntry('a.example'));
    await c.close();
  });
});
