/**
 * The freshness state machine (RFC 8461 §3.3, §5) with a fake clock, DNS and fetcher.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryPolicyCache } from '../../../adapters/cache/memory.js';
import type { PolicyCache, PolicyEntry } from '../../../src/cache/types.js';
import { FETCH_BACKOFF_MS, Resolver } from '../../../src/resolver/resolver.js';
import type { Resolution } from '../../../src/resolver/types.js';
import { FakeClock, memoryLogger, policyText, ScriptedDns, ScriptedFetcher, testZone } from '../../helpers/fakes.js';

const DAY = 86_400;

function setup(opts: { grace?: number; negTtl?: number; negSize?: number; cache?: PolicyCache } = {}) {
  const clock = new FakeClock();
  const dns = new ScriptedDns();
  const fetcher = new ScriptedFetcher();
  const cache = opts.cache ?? new MemoryPolicyCache(1000);
  const { log, lines } = memoryLogger();
  const resolver = new Resolver({
    cache,
    dns,
    fetcher,
    clock,
    log,
    cacheGraceSec: opts.grace ?? 60,
    negativeCacheTtlSec: opts.negTtl ?? 300,
    negativeCacheSize: opts.negSize ?? 1000,
  });
  const resolve = (d: string): Promise<Resolution> => resolver.resolve(d, testZone);
  return { clock, dns, fetcher, cache, resolver, resolve, lines };
}

function assertPolicy(r: Resolution, mode: string, source: string, mx?: string[]): void {
  assert.equal(r.kind, 'policy', `expected a policy, got ${JSON.stringify(r)}`);
  if (r.kind !== 'policy') return;
  assert.equal(r.policy.mode, mode);
  assert.equal(r.source, source);
  if (mx !== undefined) assert.deepEqual(r.policy.mx, mx);
}

describe('Resolver freshness', () => {
  it('fetches a new domain, then answers within cache_grace without DNS', async () => {
    const w = setup();
    w.dns.setTxt('example.com', 'v=STSv1; id=one;');
    w.fetcher.setPolicy('example.com', policyText('enforce', DAY, 'mx1.example.com'));
    assertPolicy(await w.resolve('example.com'), 'enforce', 'fetched', ['mx1.example.com']);
    w.clock.advance(59_999);
    assertPolicy(await w.resolve('example.com'), 'enforce', 'cache');
    assert.equal(w.dns.queries.length, 1, 'no DNS query inside the grace period');
    assert.equal(w.fetcher.fetches.length, 1);
  });

  it('same TXT id after grace: a DNS query, no refetch', async () => {
    const w = setup();
    w.dns.setTxt('example.com', 'v=STSv1; id=one;');
    w.fetcher.setPolicy('example.com', policyText('enforce', DAY, 'mx1.example.com'));
    await w.resolve('example.com');
    w.clock.advance(60_000);
    const r = await w.resolve('example.com');
    assertPolicy(r, 'enforce', 'cache');
    assert.equal(w.dns.queries.length, 2);
    assert.equal(w.fetcher.fetches.length, 1);
    const entry = await w.cache.get('example.com');
    assert.equal(entry?.checkedAt, w.clock.now(), 'checkedAt is updated by a confirming TXT lookup');
    assert.equal(entry?.fetchedAt, w.clock.now() - 60_000, 'fetchedAt is unchanged');
  });

  it('new TXT id: refetches and the new policy applies', async () => {
    const w = setup();
    w.dns.setTxt('example.com', 'v=STSv1; id=one;');
    w.fetcher.setPolicy('example.com', policyText('enforce', DAY, 'mx1.example.com'));
    await w.resolve('example.com');
    w.clock.advance(61_000);
    w.dns.setTxt('example.com', 'v=STSv1; id=two;');
    w.fetcher.setPolicy('example.com', policyText('enforce', DAY, 'mx2.example.com'));
    const r = await w.resolve('example.com');
    assertPolicy(r, 'enforce', 'fetched', ['mx2.example.com']);
    assert.equal(r.kind === 'policy' ? r.id : '', 'two');
    assert.equal(w.fetcher.fetches.length, 2);
  });

  it('fetch failure while an unexpired policy is cached: the cached policy applies (MUST)', async () => {
    const w = setup();
    w.dns.setTxt('example.com', 'v=STSv1; id=one;');
    w.fetcher.setPolicy('example.com', policyText('enforce', DAY, 'mx1.example.com'));
    await w.resolve('example.com');
    w.clock.advance(3600_000);
    w.dns.setTxt('example.com', 'v=STSv1; id=two;');
    w.fetcher.setError('example.com', 'EFETCH_TLS');
    const r = await w.resolve('example.com');
    assertPolicy(r, 'enforce', 'stale', ['mx1.example.com']);
    assert.ok(
      w.lines.some((l) => l.level === 'warn' && l.domain === 'example.com' && l.code === 'EFETCH_TLS'),
      'a warning with the cause',
    );
  });

  it('TXT record gone or DNS failing while cached: the cached policy applies', async () => {
    const w = setup();
    w.dns.setTxt('example.com', 'v=STSv1; id=one;');
    w.fetcher.setPolicy('example.com', policyText('enforce', DAY, 'mx1.example.com'));
    await w.resolve('example.com');
    w.clock.advance(120_000);
    w.dns.setAnswer('example.com', { kind: 'nxdomain' });
    assertPolicy(await w.resolve('example.com'), 'enforce', 'stale');
    w.clock.advance(120_000);
    w.dns.setAnswer('example.com', { kind: 'error', code: 'ESERVFAIL', message: 'servfail' });
    assertPolicy(await w.resolve('example.com'), 'enforce', 'stale');
    w.clock.advance(120_000);
    w.dns.setTxt('example.com', 'v=STSv1; id=bad id;');
    assertPolicy(await w.resolve('example.com'), 'enforce', 'stale');
  });

  it('DNS error with nothing cached is a dns-error, not "no record"; NXDOMAIN is no-policy', async () => {
    const w = setup();
    w.dns.setAnswer('broken.example', { kind: 'error', code: 'ESERVFAIL', message: 'servfail' });
    const r = await w.resolve('broken.example');
    assert.equal(r.kind, 'dns-error');
    const n = await w.resolve('nothing.example');
    assert.deepEqual(n.kind === 'no-policy' ? [n.reason, n.source] : [], ['nxdomain', 'lookup']);
  });

  it('expiry boundary: usable until fetchedAt + max_age, not at it', async () => {
    const w = setup();
    w.dns.setTxt('example.com', 'v=STSv1; id=one;');
    w.fetcher.setPolicy('example.com', policyText('enforce', 1000, 'mx1.example.com'));
    await w.resolve('example.com');
    w.dns.setAnswer('example.com', { kind: 'nxdomain' });
    w.clock.advance(999_999);
    assertPolicy(await w.resolve('example.com'), 'enforce', 'stale');
    w.clock.advance(1);
    const r = await w.resolve('example.com');
    assert.equal(r.kind, 'no-policy', 'expired at fetchedAt + max_age');
  });

  it('an expired cached policy is logged once (info, domain and id), not on every lookup', async () => {
    const w = setup();
    w.dns.setTxt('example.com', 'v=STSv1; id=one;');
    w.fetcher.setPolicy('example.com', policyText('enforce', 1000, 'mx1.example.com'));
    await w.resolve('example.com');
    w.dns.setAnswer('example.com', { kind: 'nxdomain' });
    w.clock.advance(1_000_000);
    for (let i = 0; i < 3; i++) {
      assert.equal((await w.resolve('example.com')).kind, 'no-policy');
      w.clock.advance(1000);
    }
    const expired = w.lines.filter((l) => l['message'] === 'cached policy expired');
    assert.equal(expired.length, 1, 'one line for one expiry');
    assert.equal(expired[0]?.['level'], 'info');
    assert.equal(expired[0]?.['domain'], 'example.com');
    assert.equal(expired[0]?.['id'], 'one');
    assert.equal(expired[0]?.['expiredAt'], new Date(w.clock.now() - 3000).toISOString());
  });

  it('an expired entry with the same id is fetched again', async () => {
    const w = setup();
    w.dns.setTxt('example.com', 'v=STSv1; id=one;');
    w.fetcher.setPolicy('example.com', policyText('enforce', 100, 'mx1.example.com'));
    await w.resolve('example.com');
    w.clock.advance(100_000);
    assertPolicy(await w.resolve('example.com'), 'enforce', 'fetched');
    assert.equal(w.fetcher.fetches.length, 2);
  });

  it('a fetched none replaces a cached enforce policy', async () => {
    const w = setup();
    w.dns.setTxt('example.com', 'v=STSv1; id=one;');
    w.fetcher.setPolicy('example.com', policyText('enforce', DAY, 'mx1.example.com'));
    await w.resolve('example.com');
    w.clock.advance(61_000);
    w.dns.setTxt('example.com', 'v=STSv1; id=two;');
    w.fetcher.setPolicy('example.com', policyText('none', DAY));
    assertPolicy(await w.resolve('example.com'), 'none', 'fetched');
    assert.equal((await w.cache.get('example.com'))?.policy.mode, 'none');
  });

  it('an invalid policy is never applied; a cached valid one still is', async () => {
    const w = setup();
    w.dns.setTxt('new.example', 'v=STSv1; id=one;');
    w.fetcher.setPolicy('new.example', 'version: STSv1\nmode: enforce\nmax_age: 86400\n'); // no mx
    const r = await w.resolve('new.example');
    assert.deepEqual(r.kind === 'no-policy' ? [r.reason, r.detail] : r, ['fetch-failed', 'EPOLICY_INVALID']);

    w.dns.setTxt('example.com', 'v=STSv1; id=one;');
    w.fetcher.setPolicy('example.com', policyText('enforce', DAY, 'mx1.example.com'));
    await w.resolve('example.com');
    w.clock.advance(61_000);
    w.dns.setTxt('example.com', 'v=STSv1; id=two;');
    w.fetcher.setPolicy('example.com', 'version: STSv1\nmode: Enforce\nmx: mx9.example.com\nmax_age: 86400\n');
    const s = await w.resolve('example.com');
    assert.equal(s.kind, 'policy');
    if (s.kind === 'policy') assert.notEqual(s.source, 'fetched');
  });

  it('single flight: concurrent lookups of one domain share one resolution', async () => {
    const w = setup();
    w.dns.setTxt('example.com', 'v=STSv1; id=one;');
    w.fetcher.setPolicy('example.com', policyText('enforce', DAY, 'mx1.example.com'));
    let open!: () => void;
    w.dns.gate = new Promise<void>((r) => (open = r));
    const all = Array.from({ length: 50 }, () => w.resolve('example.com'));
    assert.equal(w.resolver.inFlight, 1);
    open();
    const results = await Promise.all(all);
    for (const r of results) assertPolicy(r, 'enforce', 'fetched');
    assert.equal(w.dns.queries.length, 1);
    assert.equal(w.fetcher.fetches.length, 1);
    assert.equal(w.resolver.inFlight, 0);
  });

  it('back-off: no new fetch for the same domain and id for five minutes, then one', async () => {
    const w = setup({ grace: 0 });
    w.dns.setTxt('example.com', 'v=STSv1; id=one;');
    w.fetcher.setError('example.com');
    assert.equal((await w.resolve('example.com')).kind, 'no-policy');
    for (let i = 0; i < 10; i += 1) {
      w.clock.advance(29_000);
      const r = await w.resolve('example.com');
      assert.deepEqual(r.kind === 'no-policy' ? r.reason : r, 'fetch-backoff');
    }
    assert.equal(w.fetcher.fetches.length, 1, 'one fetch inside the back-off window');
    assert.equal(w.resolver.stats.backoffSkips, 10);
    w.clock.advance(FETCH_BACKOFF_MS - 290_000);
    w.fetcher.setPolicy('example.com', policyText('enforce', DAY, 'mx1.example.com'));
    assertPolicy(await w.resolve('example.com'), 'enforce', 'fetched');
    assert.equal(w.fetcher.fetches.length, 2);
  });

  it('back-off is per id: a new id is fetched at once', async () => {
    const w = setup({ grace: 0 });
    w.dns.setTxt('example.com', 'v=STSv1; id=one;');
    w.fetcher.setError('example.com');
    await w.resolve('example.com');
    w.dns.setTxt('example.com', 'v=STSv1; id=two;');
    w.fetcher.setPolicy('example.com', policyText('enforce', DAY, 'mx1.example.com'));
    w.clock.advance(1000);
    assertPolicy(await w.resolve('example.com'), 'enforce', 'fetched');
  });

  it('back-off with a cached policy answers from the cache', async () => {
    const w = setup({ grace: 0 });
    w.dns.setTxt('example.com', 'v=STSv1; id=one;');
    w.fetcher.setPolicy('example.com', policyText('enforce', DAY, 'mx1.example.com'));
    await w.resolve('example.com');
    w.dns.setTxt('example.com', 'v=STSv1; id=two;');
    w.fetcher.setError('example.com');
    assertPolicy(await w.resolve('example.com'), 'enforce', 'stale');
    w.clock.advance(1000);
    assertPolicy(await w.resolve('example.com'), 'enforce', 'stale');
    assert.equal(w.fetcher.fetches.length, 2);
  });

  it('negative cache: a domain without MTA-STS costs one DNS query per TTL', async () => {
    const w = setup({ negTtl: 300 });
    for (let i = 0; i < 5; i += 1) assert.equal((await w.resolve('plain.example')).kind, 'no-policy');
    assert.equal(w.dns.queries.length, 1);
    const r = await w.resolve('plain.example');
    assert.equal(r.kind === 'no-policy' ? r.source : '', 'negative-cache');
    w.clock.advance(300_000);
    await w.resolve('plain.example');
    assert.equal(w.dns.queries.length, 2, 'asked again once the TTL passed');
  });

  it('negative cache is bounded by entries', async () => {
    const w = setup({ negSize: 2 });
    await w.resolve('a.example');
    await w.resolve('b.example');
    await w.resolve('c.example');
    assert.equal(w.dns.queries.length, 3);
    await w.resolve('a.example');
    assert.equal(w.dns.queries.length, 4, 'the least recently used domain was forgotten');
    await w.resolve('c.example');
    assert.equal(w.dns.queries.length, 4);
  });

  it('a domain that gains MTA-STS after a negative answer is found once the TTL passes', async () => {
    const w = setup({ negTtl: 60 });
    assert.equal((await w.resolve('example.com')).kind, 'no-policy');
    w.dns.setTxt('example.com', 'v=STSv1; id=one;');
    w.fetcher.setPolicy('example.com', policyText('enforce', DAY, 'mx1.example.com'));
    w.clock.advance(60_000);
    assertPolicy(await w.resolve('example.com'), 'enforce', 'fetched');
  });

  it('a failing cache backend never stops lookups', async () => {
    const broken: PolicyCache = {
      kind: 'broken',
      open: async () => {},
      get: async () => {
        throw new Error('backend down');
      },
      set: async (_e: PolicyEntry) => {
        throw new Error('backend down');
      },
      delete: async () => false,
      entries: async function* () {},
      close: async () => {},
    };
    const w = setup({ cache: broken });
    w.dns.setTxt('example.com', 'v=STSv1; id=one;');
    w.fetcher.setPolicy('example.com', policyText('enforce', DAY, 'mx1.example.com'));
    assertPolicy(await w.resolve('example.com'), 'enforce', 'fetched');
    assert.ok(w.resolver.stats.cacheErrors >= 2);
  });
});
