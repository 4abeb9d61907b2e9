import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { MemoryPolicyCache } from '../../../adapters/cache/memory.js';
import { SqlitePolicyCache } from '../../../adapters/cache/sqlite.js';
import type { PolicyCache, PolicyEntry } from '../../../src/cache/types.js';
import type { ZoneConfig } from '../../../src/config/types.js';
import type { RefreshOutcome } from '../../../src/resolver/resolver.js';
import { Refresher, type RefresherOptions, type RefreshTarget } from '../../../src/refresh/refresher.js';
import { FIRST_RUN_DELAY_MS, MIN_SLEEP_MS } from '../../../src/refresh/schedule.js';
import { FakeClock, policyText, testZone } from '../../helpers/fakes.js';
import { DAY, FakeSleeper, HOUR, logged, makeWorld, until, type World } from './helpers.js';

const OPTIONS: RefresherOptions = {
  intervalSec: 86_400,
  concurrencyLimit: 100,
  graceRatio: 2,
  jitter: 0,
  zone: testZone,
  owner: 'test-owner',
};

function refresherFor(w: World, options: Partial<RefresherOptions> = {}, sleeper?: FakeSleeper, cache: PolicyCache = w.cache): Refresher {
  return new Refresher(
    { cache, target: w.resolver, clock: w.clock, log: w.log, ...(sleeper !== undefined ? { sleeper } : {}), random: () => 0.5 },
    { ...OPTIONS, ...options },
  );
}

const dir = mkdtempSync(join(tmpdir(), 'msb-refresher-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('Refresher: one run', () => {
  it('refetches a cached policy before it expires, and leaves recent and expired ones alone', async () => {
    const w = makeWorld();
    await w.seed('old.test');
    await w.seed('expired.test', { maxAge: 3600 });
    w.clock.advance(13 * HOUR);
    await w.seed('recent.test');
    const before = await w.cache.get('old.test');
    const report = await refresherFor(w).runOnce();
    assert.deepEqual(
      w.scripted.fetches.filter((d) => d === 'old.test'),
      ['old.test', 'old.test'],
    );
    assert.equal(w.scripted.fetches.filter((d) => d === 'recent.test').length, 1);
    assert.equal(w.scripted.fetches.filter((d) => d === 'expired.test').length, 1);
    const now = w.clock.now();
    const refreshed = await w.cache.get('old.test');
    assert.equal(refreshed?.fetchedAt, now);
    assert.ok((before?.expiresAt ?? Infinity) > now, 'refreshed before it expired');
    assert.equal(refreshed?.expiresAt, now + 604_800_000);
    assert.deepEqual(
      {
        scanned: report.scanned,
        due: report.due,
        refreshed: report.refreshed,
        changed: report.changed,
        failed: report.failed,
        errors: report.errors,
      },
      { scanned: 3, due: 1, refreshed: 1, changed: 0, failed: 0, errors: 0 },
    );
    assert.equal(logged(w.lines, 'info', 'proactive refresh run finished').length, 1);
  });

  it('picks up a changed body under an unchanged id, and logs the change', async () => {
    const w = makeWorld();
    await w.seed('a.test');
    w.clock.advance(13 * HOUR);
    w.scripted.setPolicy('a.test', policyText('enforce', 604_800, 'mx2.a.test'));
    const report = await refresherFor(w).runOnce();
    assert.equal(report.changed, 1);
    const r = await w.resolver.resolve('a.test', testZone);
    assert.deepEqual(r.kind === 'policy' ? r.policy.mx : [], ['mx2.a.test']);
    const line = logged(w.lines, 'info', 'policy refreshed: it changed')[0];
    assert.equal(line?.['domain'], 'a.test');
  });

  it('a failing refresh keeps the old unexpired policy and warns with the cause', async () => {
    const w = makeWorld();
    await w.seed('a.test');
    const before = await w.cache.get('a.test');
    w.clock.advance(13 * HOUR);
    w.scripted.setError('a.test', 'EFETCH_TLS');
    const report = await refresherFor(w).runOnce();
    assert.equal(report.failed, 1);
    assert.deepEqual(await w.cache.get('a.test'), before);
    const warnings = logged(w.lines, 'warn', 'policy refresh failed');
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]?.['domain'], 'a.test');
    assert.equal(warnings[0]?.['code'], 'EFETCH_TLS');
    assert.equal(warnings[0]?.['stage'], 'fetch');
    assert.match(String(warnings[0]?.['cause']), /scripted EFETCH_TLS/);
    assert.equal(warnings[0]?.['expiresAt'], new Date(before?.expiresAt ?? 0).toISOString());
  });

  it('a failing refresh of a cached `none` policy is not a warning', async () => {
    const w = makeWorld();
    await w.seed('none.test', { mode: 'none' });
    w.clock.advance(13 * HOUR);
    w.scripted.setError('none.test');
    const report = await refresherFor(w).runOnce();
    assert.equal(report.failed, 1);
    assert.deepEqual(logged(w.lines, 'warn', 'policy refresh failed'), []);
    assert.equal(logged(w.lines, 'debug', 'policy refresh failed (cached mode none)').length, 1);
  });

  it('runs at most concurrency_limit refreshes at once, and all of them', async () => {
    const w = makeWorld();
    const domains = Array.from({ length: 20 }, (_, i) => `d${i}.test`);
    for (const d of domains) await w.seed(d);
    w.clock.advance(13 * HOUR);
    w.fetcher.peak = 0;
    const report = await refresherFor(w, { concurrencyLimit: 3, batchSize: 7 }).runOnce();
    assert.equal(w.fetcher.peak, 3);
    assert.equal(report.peakConcurrency, 3);
    assert.equal(report.refreshed, 20);
    assert.deepEqual(new Set(w.scripted.fetches.slice(20)), new Set(domains));
  });

  it('an exception in one domain neither stops the others nor the run', async () => {
    const w = makeWorld();
    for (const d of ['a.test', 'bad.test', 'c.test']) await w.seed(d);
    w.clock.advance(13 * HOUR);
    const target: RefreshTarget = {
      refresh: (domain: string, zone: ZoneConfig): Promise<RefreshOutcome> => {
        if (domain === 'bad.test') throw new TypeError('bug in one domain');
        return w.resolver.refresh(domain, zone);
      },
    };
    const refresher = new Refresher({ cache: w.cache, target, clock: w.clock, log: w.log }, OPTIONS);
    const report = await refresher.runOnce();
    assert.equal(report.refreshed, 2);
    assert.equal(report.errors, 1);
    const line = logged(w.lines, 'error', 'refresh of one domain failed unexpectedly')[0];
    assert.equal(line?.['domain'], 'bad.test');
    assert.equal(line?.['code'], 'EREFRESH_DOMAIN');
    assert.match(String(line?.['cause']), /bug in one domain/);
  });

  it('a DNS seam that throws for one domain is a DNS failure of that domain only', async () => {
    const w = makeWorld();
    for (const d of ['a.test', 'b.test']) await w.seed(d);
    w.clock.advance(13 * HOUR);
    const original = w.dns.resolveTxt.bind(w.dns);
    w.dns.resolveTxt = async (name: string) => {
      if (name === '_mta-sts.a.test') throw Object.assign(new Error('socket closed'), { code: 'ECONNRESET' });
      return original(name);
    };
    const report = await refresherFor(w).runOnce();
    assert.equal(report.refreshed, 1);
    assert.equal(report.failed, 1);
    assert.equal(logged(w.lines, 'warn', 'policy refresh failed')[0]?.['code'], 'ECONNRESET');
  });

  it('a cache that fails while being read cuts the run short with EREFRESH_SCAN, without throwing', async () => {
    const w = makeWorld();
    await w.seed('a.test');
    w.clock.advance(13 * HOUR);
    const broken: PolicyCache = Object.assign(Object.create(w.cache) as PolicyCache, {
      // eslint-disable-next-line require-yield
      entries: async function* (): AsyncIterable<readonly PolicyEntry[]> {
        throw new Error('disk I/O error');
      },
    });
    const report = await refresherFor(w, {}, undefined, broken).runOnce();
    assert.equal(report.errors, 1);
    assert.equal(logged(w.lines, 'warn', 'reading the cache failed')[0]?.['code'], 'EREFRESH_SCAN');
  });
});

describe('Refresher: a fleet sharing a cache', () => {
  it('two refreshers over one memory cache refresh each domain once', async () => {
    const clock = new FakeClock();
    const shared = new MemoryPolicyCache(1000, clock);
    const a = makeWorld({ cache: shared, clock });
    const b = makeWorld({ cache: shared, clock });
    const domains = ['one.test', 'two.test', 'three.test', 'four.test'];
    for (const d of domains) {
      await a.seed(d);
      b.dns.setTxt(d, 'v=STSv1; id=one');
      b.scripted.setPolicy(d, policyText('enforce', 604_800, `mx.${d}`));
    }
    clock.advance(13 * HOUR);
    const fetchesBefore = a.scripted.fetches.length;
    const [ra, rb] = await Promise.all([
      refresherFor(a, { owner: 'host-a', concurrencyLimit: 2 }).runOnce(),
      refresherFor(b, { owner: 'host-b', concurrencyLimit: 2 }).runOnce(),
    ]);
    const fetched = [...a.scripted.fetches.slice(fetchesBefore), ...b.scripted.fetches].sort();
    assert.deepEqual(fetched, [...domains].sort());
    assert.equal(ra.refreshed + rb.refreshed, 4);
    assert.equal(ra.leased + rb.leased + ra.skipped + rb.skipped, 4);
  });

  it('two daemons over one SQLite file refresh each domain once per window', async () => {
    const clock = new FakeClock();
    const path = join(dir, 'fleet', 'cache.sqlite');
    const open = async (): Promise<SqlitePolicyCache> => {
      const c = new SqlitePolicyCache({ path, busyTimeoutMs: 2000, clock, purgeIntervalMs: 0 });
      await c.open();
      return c;
    };
    const cacheA = await open();
    const cacheB = await open();
    try {
      const a = makeWorld({ cache: cacheA, clock });
      const b = makeWorld({ cache: cacheB, clock });
      const domains = Array.from({ length: 6 }, (_, i) => `s${i}.test`);
      for (const d of domains) {
        await a.seed(d);
        b.dns.setTxt(d, 'v=STSv1; id=one');
        b.scripted.setPolicy(d, policyText('enforce', 604_800, `mx.${d}`));
      }
      const ra = refresherFor(a, { owner: 'host-a', concurrencyLimit: 3 });
      const rb = refresherFor(b, { owner: 'host-b', concurrencyLimit: 3 });
      const fetchCount = (): number => a.scripted.fetches.length + b.scripted.fetches.length;
      const seeded = fetchCount();

      clock.advance(13 * HOUR);
      await Promise.all([ra.runOnce(), rb.runOnce()]);
      assert.equal(fetchCount() - seeded, domains.length, 'each domain once in the first window');

      // Both again at once: fetched just now, so nothing is due, whoever asks.
      await Promise.all([ra.runOnce(), rb.runOnce()]);
      assert.equal(fetchCount() - seeded, domains.length);

      // Next window: once more each, split between the two however it falls.
      clock.advance(13 * HOUR);
      await Promise.all([rb.runOnce(), ra.runOnce()]);
      assert.equal(fetchCount() - seeded, 2 * domains.length);
    } finally {
      await cacheA.close();
      await cacheB.close();
    }
  });

  it('a domain whose lease another member holds is skipped, even when due', async () => {
    const w = makeWorld();
    await w.seed('a.test');
    w.clock.advance(13 * HOUR);
    assert.equal(await w.cache.acquireLease?.('refresh:a.test', 12 * HOUR, 'someone-else'), true);
    const report = await refresherFor(w).runOnce();
    assert.equal(report.due, 1);
    assert.equal(report.leased, 1);
    assert.equal(report.refreshed, 0);
  });
});

describe('Refresher: the loop', () => {
  it('sleeps, runs, and schedules the next run from the start of the last one', async () => {
    const w = makeWorld();
    const sleeper = new FakeSleeper(w.clock);
    await w.seed('a.test');
    const r = refresherFor(w, { jitter: 0.1 }, sleeper);
    r.start();
    await until(() => sleeper.pending === 1, 'first sleep');
    assert.equal(sleeper.requests[0], FIRST_RUN_DELAY_MS + 0.5 * 0.1 * DAY);
    w.clock.advance(13 * HOUR);
    sleeper.elapse();
    await until(() => sleeper.pending === 1 && r.runs === 1, 'first run');
    assert.equal(r.lastRun?.refreshed, 1);
    assert.equal(sleeper.requests[1], DAY * (1 - 0.5 * 0.1));
    await r.stop();
    assert.equal(sleeper.pending, 0);
  });

  it('keeps running after a run that failed', async () => {
    const w = makeWorld();
    const sleeper = new FakeSleeper(w.clock);
    await w.seed('a.test');
    let failNext = true;
    const flaky: PolicyCache = Object.assign(Object.create(w.cache) as PolicyCache, {
      entries(batchSize?: number): AsyncIterable<readonly PolicyEntry[]> {
        if (failNext) {
          failNext = false;
          throw new Error('backend gone');
        }
        return w.cache.entries(batchSize);
      },
    });
    const r = refresherFor(w, {}, sleeper, flaky);
    r.start();
    await until(() => sleeper.pending === 1);
    w.clock.advance(13 * HOUR);
    sleeper.elapse();
    await until(() => r.runs === 1 && sleeper.pending === 1, 'first run');
    assert.equal(r.lastRun?.errors, 1);
    sleeper.elapse();
    await until(() => r.runs === 2, 'second run');
    assert.equal(r.lastRun?.refreshed, 1);
    await r.stop();
  });

  it('stop() while sleeping returns at once, without a run', async () => {
    const w = makeWorld();
    const sleeper = new FakeSleeper(w.clock);
    const r = refresherFor(w, {}, sleeper);
    r.start();
    await until(() => sleeper.pending === 1);
    await r.stop();
    assert.equal(r.runs, 0);
    assert.equal(sleeper.pending, 0);
    await r.stop(); // idempotent
  });

  it('stop() during a run starts nothing new, waits for the refreshes under way, and ends the loop', async () => {
    const w = makeWorld();
    const sleeper = new FakeSleeper(w.clock);
    const domains = ['a.test', 'b.test', 'c.test', 'd.test', 'e.test'];
    for (const d of domains) await w.seed(d);
    const r = refresherFor(w, { concurrencyLimit: 2 }, sleeper);
    r.start();
    await until(() => sleeper.pending === 1);
    w.clock.advance(13 * HOUR);
    w.fetcher.hold();
    const startedBefore = w.fetcher.started.length;
    sleeper.elapse();
    await until(() => w.fetcher.active === 2, 'two refreshes in flight');

    let stopped = false;
    const stopping = r.stop().then(() => (stopped = true));
    for (let i = 0; i < 20; i += 1) await new Promise((res) => setImmediate(res));
    assert.equal(stopped, false, 'waits for the refreshes under way');
    w.fetcher.release();
    await stopping;
    assert.equal(w.fetcher.started.length - startedBefore, 2, 'no refresh started after stop()');
    assert.equal(r.lastRun?.aborted, true);
    assert.equal(r.lastRun?.refreshed, 2);
    assert.equal(sleeper.pending, 0);
    assert.equal(sleeper.requests.length, 1, 'no next run was scheduled');
  });

  it('a run longer than the interval is followed by the minimum pause', async () => {
    const w = makeWorld();
    const sleeper = new FakeSleeper(w.clock);
    await w.seed('a.test');
    const slow: RefreshTarget = {
      refresh: async (domain, zone) => {
        w.clock.advance(2 * DAY);
        return w.resolver.refresh(domain, zone);
      },
    };
    const r = new Refresher({ cache: w.cache, target: slow, clock: w.clock, log: w.log, sleeper, random: () => 0 }, OPTIONS);
    r.start();
    await until(() => sleeper.pending === 1);
    w.clock.advance(13 * HOUR);
    sleeper.elapse();
    await until(() => r.runs === 1 && sleeper.pending === 1);
    assert.equal(sleeper.requests[1], MIN_SLEEP_MS);
    await r.stop();
  });
});
