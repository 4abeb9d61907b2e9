/**
 * The warm path for cached policies (Resolver.freshEntry): it gives an entry exactly when a
 * resolution would answer from the cache without any DNS query (step 1), only entries the
 * resolver made or checked (CachedPolicy), and never an unchecked or forged stored entry. Run
 * over the memory cache and over the resilient layer in front of a (memory) backend.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryPolicyCache } from '../../../adapters/cache/memory.js';
import { CachedPolicy } from '../../../src/cache/cached-policy.js';
import { ResilientPolicyCache } from '../../../src/cache/resilient.js';
import { CACHE_ENTRY_VERSION, type PolicyCache, type PolicyEntry } from '../../../src/cache/types.js';
import { parsePolicyFile } from '../../../src/policy/policy-file.js';
import { cachedResolution, Resolver } from '../../../src/resolver/resolver.js';
import { FakeClock, memoryLogger, policyText, ScriptedDns, ScriptedFetcher, testZone } from '../../helpers/fakes.js';

const GRACE_SEC = 60;
const DAY = 86_400;

interface Backing {
  readonly name: string;
  /** The cache the resolver uses, and where a "stored" entry is put (the backend, when there is one). */
  make(): { cache: PolicyCache; store: PolicyCache };
}

const backings: readonly Backing[] = [
  {
    name: 'memory cache',
    make: () => {
      const cache = new MemoryPolicyCache(100);
      return { cache, store: cache };
    },
  },
  {
    name: 'resilient layer over a memory backend',
    make: () => {
      const backend = new MemoryPolicyCache(100);
      const { log } = memoryLogger();
      return { cache: new ResilientPolicyCache(backend, { memorySize: 100, log }), store: backend };
    },
  },
];

function setup(backing: Backing, graceSec = GRACE_SEC) {
  const clock = new FakeClock();
  const dns = new ScriptedDns();
  const fetcher = new ScriptedFetcher();
  const { log, lines } = memoryLogger();
  const { cache, store } = backing.make();
  const resolver = new Resolver({
    cache,
    dns,
    fetcher,
    clock,
    log,
    cacheGraceSec: graceSec,
    negativeCacheTtlSec: 300,
    negativeCacheSize: 100,
  });
  return { clock, dns, fetcher, cache, store, resolver, lines, resolve: (d: string) => resolver.resolve(d, testZone) };
}

/** A plain stored entry, as a persistent backend gives it back (not a CachedPolicy). */
function plainEntry(domain: string, text: string, fetchedAt: number, overrides: Partial<PolicyEntry> = {}): PolicyEntry {
  const parsed = parsePolicyFile(text);
  assert.ok(parsed.ok);
  return {
    v: CACHE_ENTRY_VERSION,
    domain,
    id: 'stored',
    policyText: text,
    policy: parsed.value,
    fetchedAt,
    expiresAt: fetchedAt + parsed.value.maxAge * 1000,
    checkedAt: fetchedAt,
    ...overrides,
  };
}

for (const backing of backings) {
  describe(`Resolver.freshEntry over the ${backing.name}`, () => {
    it('is the fetched entry right after a fetch, and what a resolution within grace answers', async () => {
      const w = setup(backing);
      assert.equal(w.resolver.freshEntry('a.example'), undefined, 'nothing cached yet');
      w.dns.setTxt('a.example', 'v=STSv1; id=one;');
      w.fetcher.setPolicy('a.example', policyText('enforce', DAY, 'mx.a.example'));
      const fetched = await w.resolve('a.example');
      assert.equal(fetched.kind === 'policy' && fetched.source, 'fetched');
      const entry = w.resolver.freshEntry('a.example');
      assert.ok(entry instanceof CachedPolicy);
      assert.equal(entry.id, 'one');
      assert.equal(entry.checkedAt, w.clock.now());
      assert.equal(entry.policy.mode, 'enforce');
      w.clock.advance(GRACE_SEC * 1000 - 1);
      assert.equal(w.resolver.freshEntry('a.example'), entry, 'the same object, no copy');
      assert.deepEqual(await w.resolve('a.example'), cachedResolution(entry), 'the warm answer is the resolution step 1 gives');
      assert.equal(w.dns.queries.length, 1);
      assert.equal(w.resolver.freshEntry('other.example'), undefined);
    });

    it('is undefined once cache_grace passed, until a TXT check with the same id (then a touched copy)', async () => {
      const w = setup(backing);
      w.dns.setTxt('a.example', 'v=STSv1; id=one;');
      w.fetcher.setPolicy('a.example', policyText('enforce', DAY, 'mx.a.example'));
      await w.resolve('a.example');
      const first = w.resolver.freshEntry('a.example');
      assert.ok(first !== undefined);
      w.clock.advance(GRACE_SEC * 1000);
      assert.equal(w.resolver.freshEntry('a.example'), undefined, 'grace over: a resolution would ask DNS');
      const checked = await w.resolve('a.example');
      assert.ok(checked.kind === 'policy');
      assert.equal(checked.source, 'cache');
      assert.equal(checked.reason, 'id-unchanged');
      assert.equal(w.fetcher.fetches.length, 1, 'same id: not fetched again');
      const again = w.resolver.freshEntry('a.example');
      assert.ok(again instanceof CachedPolicy);
      assert.notEqual(again, first, 'a touched copy');
      assert.deepEqual(again.toJSON(), { ...first.toJSON(), checkedAt: w.clock.now() });
      w.clock.advance(GRACE_SEC * 1000 - 1);
      assert.equal(w.resolver.freshEntry('a.example'), again);
      w.clock.advance(1);
      assert.equal(w.resolver.freshEntry('a.example'), undefined);
    });

    it('is undefined once the policy expired, even within grace', async () => {
      const w = setup(backing, 600);
      w.dns.setTxt('a.example', 'v=STSv1; id=one;');
      w.fetcher.setPolicy('a.example', policyText('enforce', 100, 'mx.a.example'));
      await w.resolve('a.example');
      w.clock.advance(99_999);
      assert.ok(w.resolver.freshEntry('a.example') !== undefined);
      w.clock.advance(1);
      assert.equal(w.resolver.freshEntry('a.example'), undefined, 'expiresAt reached');
    });

    it('a plain stored entry is not fresh until a resolution checked it; then the cache holds a CachedPolicy', async () => {
      const w = setup(backing);
      const stored = plainEntry('s.example', policyText('enforce', DAY, 'mx.s.example'), w.clock.now());
      await w.store.set(stored);
      assert.equal(w.resolver.freshEntry('s.example'), undefined, 'unchecked: never answered by the warm path');
      const r = await w.resolve('s.example');
      assert.ok(r.kind === 'policy');
      assert.equal(r.source, 'cache', 'within grace of its checkedAt: answered without DNS');
      assert.equal(w.dns.queries.length, 0);
      assert.equal(w.fetcher.fetches.length, 0);
      const held = w.cache.peek?.('s.example');
      assert.ok(held instanceof CachedPolicy, 'the checked copy replaced the plain one in memory (hold)');
      assert.deepEqual(held.toJSON(), stored);
      assert.equal(w.resolver.freshEntry('s.example'), held);
    });

    it('a forged stored entry (text says testing, policy says enforce) is never answered by the warm path', async () => {
      const w = setup(backing);
      const text = policyText('testing', DAY, 'mx.f.example');
      const forged = plainEntry('f.example', text, w.clock.now(), {
        policy: { version: 'STSv1', mode: 'enforce', maxAge: DAY, mx: ['mx.f.example'], lines: [] },
      });
      await w.store.set(forged);
      assert.equal(w.resolver.freshEntry('f.example'), undefined);
      // Nothing published: the forged entry counts as absent, so there is no policy at all.
      const r = await w.resolve('f.example');
      assert.equal(r.kind, 'no-policy');
      assert.ok(w.lines.some((l) => l['code'] === 'ECACHE_ENTRY_INVALID'));
      assert.equal(w.resolver.freshEntry('f.example'), undefined, 'still never the forged enforce');
      assert.ok(!(w.cache.peek?.('f.example') instanceof CachedPolicy));
      // Once published, the real (testing) policy is fetched and answered warm.
      w.clock.advance(301_000);
      w.dns.setTxt('f.example', 'v=STSv1; id=real;');
      w.fetcher.setPolicy('f.example', text);
      const real = await w.resolve('f.example');
      assert.ok(real.kind === 'policy' && real.source === 'fetched');
      const entry = w.resolver.freshEntry('f.example');
      assert.ok(entry !== undefined);
      assert.equal(entry.policy.mode, 'testing');
    });

    it('after a DNS failure that kept a stale entry, serves it within grace of that discovery', async () => {
      const w = setup(backing);
      w.dns.setTxt('a.example', 'v=STSv1; id=one;');
      w.fetcher.setPolicy('a.example', policyText('enforce', DAY, 'mx.a.example'));
      await w.resolve('a.example');
      const entry = w.resolver.freshEntry('a.example');
      w.clock.advance(GRACE_SEC * 1000 + 5);
      assert.equal(w.resolver.freshEntry('a.example'), undefined);
      w.dns.setAnswer('a.example', { kind: 'error', code: 'ESERVFAIL', message: 'servfail' });
      const stale = await w.resolve('a.example');
      assert.ok(stale.kind === 'policy');
      assert.equal(stale.source, 'stale');
      assert.equal(w.resolver.freshEntry('a.example'), entry, 'the kept entry, within grace of the discovery');
      const queries = w.dns.queries.length;
      w.clock.advance(GRACE_SEC * 1000 - 1);
      assert.equal(w.resolver.freshEntry('a.example'), entry);
      const r = await w.resolve('a.example');
      assert.ok(r.kind === 'policy' && r.source === 'cache', 'the slow path agrees: no DNS query');
      assert.equal(w.dns.queries.length, queries);
      w.clock.advance(1);
      assert.equal(w.resolver.freshEntry('a.example'), undefined, 'grace of the discovery over');
    });

    it('after a TXT record vanished (stale kept), and a later fetch of a new id, answers the new policy', async () => {
      const w = setup(backing);
      w.dns.setTxt('a.example', 'v=STSv1; id=one;');
      w.fetcher.setPolicy('a.example', policyText('enforce', DAY, 'mx.a.example'));
      await w.resolve('a.example');
      w.clock.advance(GRACE_SEC * 1000);
      w.dns.setAnswer('a.example', { kind: 'nxdomain' });
      assert.equal((await w.resolve('a.example')).kind, 'policy');
      assert.equal(w.resolver.freshEntry('a.example')?.id, 'one');
      w.clock.advance(GRACE_SEC * 1000);
      w.dns.setTxt('a.example', 'v=STSv1; id=two;');
      w.fetcher.setPolicy('a.example', policyText('testing', DAY, 'mx.a.example'));
      const r = await w.resolve('a.example');
      assert.ok(r.kind === 'policy' && r.source === 'fetched');
      const entry = w.resolver.freshEntry('a.example');
      assert.equal(entry?.id, 'two');
      assert.equal(entry?.policy.mode, 'testing');
    });
  });
}
