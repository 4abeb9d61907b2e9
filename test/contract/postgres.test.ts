/**
 * The PolicyCache contract against a real PostgreSQL server (initdb + postgres in a temp
 * directory, as the postgres user, on a unix socket), plus what only it has: the table it
 * creates, refusing someone else's table, the purge, leases, and failing fast when the server
 * is down. Binaries missing: every test FAILS, saying how to install them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import winston from 'winston';
import { PostgresPolicyCache, TABLE } from '../../adapters/cache/postgres.js';
import { ResilientPolicyCache } from '../../src/cache/resilient.js';
import { PostgresServer, postgresServerProblem } from '../integration/harness/postgres.js';
import { runPolicyCacheContract, sampleEntry } from './policy-cache.contract.js';

let server: PostgresServer;
before(async () => {
  const problem = postgresServerProblem();
  if (problem !== undefined) throw new Error(problem);
  server = await PostgresServer.start();
});
after(async () => {
  await server?.destroy();
});

const dsnOf = new WeakMap<PostgresPolicyCache, string>();
const open = (dsn: string, timeoutMs = 2000, extra: { purgeAfterMs?: number } = {}): PostgresPolicyCache => {
  const c = new PostgresPolicyCache({ dsn, timeoutMs, poolSize: 4, ...extra });
  dsnOf.set(c, dsn);
  return c;
};
let n = 0;
/** A fresh database per cache: a fresh, empty table. */
const fresh = async (): Promise<PostgresPolicyCache> => {
  const name = `contract${++n}`;
  await server.createDatabase(name);
  return open(server.dsn(name));
};

runPolicyCacheContract('postgres', fresh, { reopen: (closed) => open(dsnOf.get(closed as PostgresPolicyCache) ?? '') });

const quietLog = winston.createLogger({ silent: true });

describe('postgres backend', () => {
  it('creates its table when missing, stores the entry JSON verbatim, and reopening keeps it', async () => {
    const c = await fresh();
    await c.open();
    const e = sampleEntry('verbatim.example', { expiresAt: 4_102_444_800_000 });
    await c.set(e);
    await c.close();
    const db = (dsnOf.get(c) ?? '').split('/').pop() ?? '';
    const rows = await server.sql(db, `SELECT domain, entry, expires_at FROM ${TABLE}`);
    assert.deepEqual(rows, [{ domain: 'verbatim.example', entry: JSON.stringify(e), expires_at: '4102444800000' }]);
  });

  it('two daemons starting at once on an empty database both open it', async () => {
    const first = await fresh();
    const second = open(dsnOf.get(first) ?? '');
    await Promise.all([first.open(), second.open()]);
    await first.set(sampleEntry('both.example'));
    assert.equal((await second.get('both.example'))?.domain, 'both.example');
    await Promise.all([first.close(), second.close()]);
  });

  it('refuses a table of that name that is not ours', async () => {
    await server.createDatabase('foreign');
    await server.sql('foreign', `CREATE TABLE ${TABLE} (id serial primary key, payload jsonb)`);
    const c = open(server.dsn('foreign'));
    await assert.rejects(c.open(), /table mta_sts_policy exists but is not an mta-sts-bridge cache \(column "domain" does not exist\)/);
  });

  it('purges entries expired longer than the retention at open, keeps the others', async () => {
    const c = await fresh();
    await c.open();
    const now = Date.now();
    await c.set(sampleEntry('long-expired.example', { expiresAt: now - 10_000 }));
    await c.set(sampleEntry('just-expired.example', { expiresAt: now - 10 }));
    await c.set(sampleEntry('valid.example', { expiresAt: now + 86_400_000 }));
    await c.close();
    const again = open(dsnOf.get(c) ?? '', 2000, { purgeAfterMs: 5_000 });
    await again.open();
    try {
      assert.equal(await again.get('long-expired.example'), undefined);
      assert.ok((await again.get('just-expired.example')) !== undefined);
      assert.ok((await again.get('valid.example')) !== undefined);
    } finally {
      await again.close();
    }
  });

  it('acquireLease: one owner at a time across connections, free again after the TTL', async () => {
    const a = await fresh();
    const b = open(dsnOf.get(a) ?? '');
    await a.open();
    await b.open();
    try {
      const results = await Promise.all([a.acquireLease('refresh', 300, 'daemon-a'), b.acquireLease('refresh', 300, 'daemon-b')]);
      assert.equal(results.filter(Boolean).length, 1, `exactly one winner: ${results.join(',')}`);
      assert.equal(await a.acquireLease('refresh', 300, 'daemon-a'), false);
      assert.equal(await b.acquireLease('other', 300, 'daemon-b'), true, 'leases are per name');
      await new Promise((r) => setTimeout(r, 400));
      assert.equal(await b.acquireLease('refresh', 300, 'daemon-b'), true);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('open() against a server that is not there fails quickly, naming the cause', async () => {
    const c = open(`postgresql://postgres@${encodeURIComponent(`${server.dir}/none`)}/postgres`, 500);
    const t0 = Date.now();
    await assert.rejects(c.open(), /ENOENT|ECONNREFUSED|connect/);
    assert.ok(Date.now() - t0 < 2_000);
  });

  it('while the server is stopped lookups fail at once; behind the resilient layer they are served from memory and written back after', async () => {
    const backend = await fresh();
    const cache = new ResilientPolicyCache(backend, { memorySize: 100, log: quietLog, retryInitialMs: 60_000 });
    await cache.open();
    try {
      await cache.set(sampleEntry('known.example'));
      await server.stop();
      const t0 = Date.now();
      await assert.rejects(backend.get('known.example'));
      assert.equal((await cache.get('known.example'))?.domain, 'known.example');
      await cache.set(sampleEntry('learned.example'));
      assert.ok(Date.now() - t0 < 1_000, `no long wait for the dead server (${Date.now() - t0} ms)`);
      assert.equal(cache.stats().healthy, false);
      await server.resume();
      const deadline = Date.now() + 10_000;
      while (!(await cache.probe())) {
        assert.ok(Date.now() < deadline, 'recovered within 10 s');
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(cache.stats().pending, 0);
      assert.equal((await backend.get('learned.example'))?.domain, 'learned.example');
      assert.equal((await backend.get('known.example'))?.domain, 'known.example', 'data survived the server restart');
    } finally {
      await cache.close();
    }
  });
});
