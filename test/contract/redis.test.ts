/**
 * The PolicyCache contract against a real redis-server (a child process on a unix socket), plus
 * what only Redis has: the key layout and TTLs, SCAN that ignores other programs' keys, leases,
 * and failing fast when Redis is down or hung. redis-server missing: every test FAILS, saying how
 * to install it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import winston from 'winston';
import { EXPIRED_RETENTION_MS, policyKey, RedisPolicyCache } from '../../adapters/cache/redis.js';
import { ResilientPolicyCache } from '../../src/cache/resilient.js';
import type { PolicyCache, PolicyEntry } from '../../src/cache/types.js';
import { RedisServer, redisServerProblem } from '../integration/harness/redis.js';
import { runPolicyCacheContract, sampleEntry } from './policy-cache.contract.js';

let server: RedisServer;
let raw: Redis;
before(async () => {
  const problem = redisServerProblem();
  if (problem !== undefined) throw new Error(problem);
  server = await RedisServer.start();
  raw = new Redis({ path: server.socketPath });
  raw.on('error', () => undefined);
});
after(async () => {
  raw?.disconnect();
  await server?.destroy();
});

let n = 0;
const make = (prefix: string, timeoutMs = 1000): RedisPolicyCache =>
  new RedisPolicyCache({ connection: { kind: 'url', url: server.url }, prefix, commandTimeoutMs: timeoutMs, connectTimeoutMs: timeoutMs });

// A fresh prefix per cache is a fresh, empty cache on the same server.
runPolicyCacheContract('redis', () => make(`contract${++n}:`), { reopen: (closed) => make((closed as RedisPolicyCache).prefix) });

const quietLog = winston.createLogger({ silent: true });

async function withCache(prefix: string, fn: (c: RedisPolicyCache) => Promise<void>): Promise<void> {
  const c = make(prefix);
  await c.open();
  try {
    await fn(c);
  } finally {
    await c.close();
  }
}

async function collect(c: PolicyCache, batch?: number): Promise<PolicyEntry[]> {
  const out: PolicyEntry[] = [];
  for await (const b of c.entries(batch)) out.push(...b);
  return out;
}

describe('redis backend: keys, TTLs, SCAN', () => {
  it('stores one prefixed key per domain, never a bare domain name, with TTL = expiry - now + retention', () =>
    withCache('layout:', async (c) => {
      const now = Date.now();
      await c.set(sampleEntry('layout-only.example', { expiresAt: now + 86_400_000 }));
      assert.deepEqual(await raw.keys('*layout-only.example*'), ['layout:policy:layout-only.example']);
      const pttl = await raw.pttl('layout:policy:layout-only.example');
      const want = 86_400_000 + EXPIRED_RETENTION_MS;
      assert.ok(pttl <= want && pttl > want - 60_000, `pttl ${pttl} close to ${want}`);
      assert.equal(
        (JSON.parse((await raw.get('layout:policy:layout-only.example')) ?? '') as { domain: unknown }).domain,
        'layout-only.example',
      );
    }));

  it("entries() sees only its own prefix: other programs' keys and other prefixes are ignored", () =>
    withCache('mine:', async (c) => {
      await raw.set('example.org', 'not ours');
      await raw.set('other:policy:example.org', JSON.stringify(sampleEntry('example.org')));
      await raw.set('mine:policy:broken.example', '{not json');
      await raw.set('mine:lease:refresh', 'someone');
      await c.set(sampleEntry('a.example'));
      assert.deepEqual(
        (await collect(c, 2)).map((e) => e.domain),
        ['a.example'],
      );
      assert.equal(await c.get('broken.example'), undefined, 'an undecodable value counts as absent');
    }));

  it('entries() returns each of many keys once, in batches of at most the size', () =>
    withCache('many:', async (c) => {
      const domains = Array.from({ length: 1200 }, (_, i) => `d${i}.example`);
      const pipe = raw.pipeline();
      for (const d of domains) pipe.set(policyKey('many:', d), JSON.stringify(sampleEntry(d)));
      await pipe.exec();
      const batches: number[] = [];
      const seen: string[] = [];
      for await (const b of c.entries(100)) {
        batches.push(b.length);
        seen.push(...b.map((e) => e.domain));
      }
      assert.ok(
        batches.every((s) => s > 0 && s <= 100),
        `batch sizes ${batches.join(',')}`,
      );
      assert.deepEqual(seen.sort(), [...domains].sort());
    }));

  it('acquireLease: SET NX PX — one owner at a time, free again after the TTL', () =>
    withCache('lease:', async (c) => {
      assert.equal(await c.acquireLease('refresh', 200, 'daemon-a'), true);
      assert.equal(await c.acquireLease('refresh', 200, 'daemon-b'), false);
      assert.equal(await c.acquireLease('refresh', 200, 'daemon-a'), false, 'not re-entrant: held means held');
      assert.equal(await c.acquireLease('other', 200, 'daemon-b'), true, 'leases are per name');
      assert.equal(await raw.get('lease:lease:refresh'), 'daemon-a');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(await c.acquireLease('refresh', 200, 'daemon-b'), true);
    }));

  it('two caches on one server with one prefix share entries (a fleet)', async () => {
    const a = make('fleet:');
    const b = make('fleet:');
    await a.open();
    await b.open();
    try {
      await a.set(sampleEntry('shared.example'));
      assert.deepEqual(await b.get('shared.example'), sampleEntry('shared.example'));
      assert.equal(await b.delete('shared.example'), true);
      assert.equal(await a.get('shared.example'), undefined);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('redis backend: a dead or hung Redis never holds a lookup', () => {
  it('open() against nothing fails quickly, naming the cause', async () => {
    const c = new RedisPolicyCache({
      connection: { kind: 'url', url: `unix://${server.dir}/nothing.sock` },
      prefix: 'x:',
      commandTimeoutMs: 500,
      connectTimeoutMs: 500,
    });
    const t0 = Date.now();
    await assert.rejects(c.open(), /ENOENT|ECONNREFUSED|connect/);
    assert.ok(Date.now() - t0 < 2_000);
  });

  it('while Redis is stopped commands fail at once; after it returns the same client works again', async () => {
    const c = make('down:', 500);
    await c.open();
    try {
      await c.set(sampleEntry('before.example'));
      await server.stop();
      const t0 = Date.now();
      await assert.rejects(c.get('before.example'));
      await assert.rejects(c.set(sampleEntry('during.example')));
      assert.ok(Date.now() - t0 < 300, `failed within ${Date.now() - t0} ms`);
      await server.resume();
      const deadline = Date.now() + 5_000;
      for (;;) {
        try {
          await c.set(sampleEntry('after.example'));
          break;
        } catch (err) {
          if (Date.now() > deadline) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      assert.equal((await c.get('after.example'))?.domain, 'after.example');
    } finally {
      await c.close();
    }
  });

  it('a hung Redis (SIGSTOP) costs at most the command timeout', async () => {
    const c = make('hung:', 300);
    await c.open();
    server.freeze();
    try {
      const t0 = Date.now();
      await assert.rejects(c.get('x.example'), /timed out/i);
      const ms = Date.now() - t0;
      assert.ok(ms >= 250 && ms < 1_000, `gave up after ${ms} ms`);
    } finally {
      server.thaw();
      await c.close();
    }
  });

  it('behind the resilient layer: served from memory while down, written back after', async () => {
    const backend = make('resilient:', 300);
    const cache = new ResilientPolicyCache(backend, { memorySize: 100, log: quietLog, retryInitialMs: 60_000 });
    await cache.open();
    try {
      await cache.set(sampleEntry('known.example'));
      await server.stop();
      const t0 = Date.now();
      assert.equal((await cache.get('known.example'))?.domain, 'known.example');
      await cache.set(sampleEntry('learned.example'));
      assert.ok(Date.now() - t0 < 300, 'no wait for the dead server');
      assert.equal(cache.stats().healthy, false);
      assert.equal(cache.stats().pending, 1);
      await server.resume();
      const deadline = Date.now() + 5_000;
      while (!(await cache.probe())) {
        assert.ok(Date.now() < deadline, 'recovered within 5 s');
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(cache.stats().pending, 0);
      assert.equal(
        (JSON.parse((await raw.get('resilient:policy:learned.example')) ?? '{}') as { domain: unknown }).domain,
        'learned.example',
      );
    } finally {
      await cache.close();
    }
  });
});
