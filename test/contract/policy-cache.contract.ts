/**
 * The contract every PolicyCache backend passes. A backend's test file calls
 * `runPolicyCacheContract(name, factory)`; the factory returns a fresh, empty, unopened cache.
 * Persistent backends also pass `{ reopen }`, which returns a new, unopened instance over the
 * storage of a closed one: they must then keep everything across a close and reopen.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { CACHE_ENTRY_VERSION, type PolicyCache, type PolicyEntry } from '../../src/cache/types.js';

export function sampleEntry(domain: string, overrides: Partial<PolicyEntry> = {}): PolicyEntry {
  const policyText = `version: STSv1\r\nmode: enforce\r\nmx: mx1.${domain}\r\nmx: *.backup.${domain}\r\nmax_age: 604800\r\n`;
  return {
    v: CACHE_ENTRY_VERSION,
    domain,
    id: '20260101T000000',
    policyText,
    policy: {
      version: 'STSv1',
      mode: 'enforce',
      maxAge: 604800,
      mx: [`mx1.${domain}`, `*.backup.${domain}`],
      lines: [
        ['version', 'STSv1'],
        ['mode', 'enforce'],
        ['mx', `mx1.${domain}`],
        ['mx', `*.backup.${domain}`],
        ['max_age', '604800'],
      ],
    },
    fetchedAt: 1_767_225_600_123,
    expiresAt: 1_767_225_600_123 + 604_800_000,
    checkedAt: 1_767_225_660_456,
    ...overrides,
  };
}

async function collect(cache: PolicyCache, batch?: number): Promise<PolicyEntry[][]> {
  const out: PolicyEntry[][] = [];
  for await (const b of cache.entries(batch)) out.push([...b]);
  return out;
}

type LeaseFn = NonNullable<PolicyCache['acquireLease']>;

/** Options of the contract run. */
export interface PolicyCacheContractOptions {
  /** Persistent backends: a new, unopened cache over the same storage as `closed`. */
  readonly reopen?: (closed: PolicyCache) => Promise<PolicyCache> | PolicyCache;
}

/** Far from any real clock, on both sides, and past 2^32 ms, so that no backend may round or truncate them. */
const ODD_TIMES = { fetchedAt: 1, checkedAt: 4_102_444_800_001, expiresAt: 8_640_000_000_000_000 } as const;

export function runPolicyCacheContract(
  name: string,
  factory: () => Promise<PolicyCache> | PolicyCache,
  options: PolicyCacheContractOptions = {},
): void {
  describe(`PolicyCache contract: ${name}`, () => {
    const withCache = async (fn: (c: PolicyCache) => Promise<void>): Promise<void> => {
      const cache = await factory();
      await cache.open();
      try {
        await fn(cache);
      } finally {
        await cache.close();
      }
    };

    it('get of an absent domain is undefined', () =>
      withCache(async (c) => {
        assert.equal(await c.get('absent.example'), undefined);
      }));

    it('set then get returns an equal entry, byte for byte and with absolute times', () =>
      withCache(async (c) => {
        const e = sampleEntry('example.com', {
          policyText: 'version: STSv1\nmode: testing\nmx: xn--mnchen-3ya.de\nmax_age: 86400\nx-ext: ünïcode \u0001 "quoted"\n',
        });
        await c.set(e);
        const got = await c.get('example.com');
        assert.deepEqual(got, e);
        assert.equal(JSON.stringify(got), JSON.stringify(e));
        assert.equal(got?.fetchedAt, 1_767_225_600_123);
      }));

    it('set replaces the entry of the same domain', () =>
      withCache(async (c) => {
        await c.set(sampleEntry('example.com'));
        const newer = sampleEntry('example.com', { id: 'two', checkedAt: 1_767_300_000_000 });
        await c.set(newer);
        assert.deepEqual(await c.get('example.com'), newer);
      }));

    it('delete removes and reports whether something was there', () =>
      withCache(async (c) => {
        await c.set(sampleEntry('example.com'));
        assert.equal(await c.delete('example.com'), true);
        assert.equal(await c.get('example.com'), undefined);
        assert.equal(await c.delete('example.com'), false);
      }));

    it('entries iterates every entry in batches of at most the given size', () =>
      withCache(async (c) => {
        const domains = Array.from({ length: 23 }, (_, i) => `d${i}.example`);
        for (const d of domains) await c.set(sampleEntry(d));
        const batches = await collect(c, 5);
        assert.ok(batches.every((b) => b.length > 0 && b.length <= 5));
        const seen = batches
          .flat()
          .map((e) => e.domain)
          .sort();
        assert.deepEqual(seen, [...domains].sort());
      }));

    it('entries of an empty cache yields nothing', () =>
      withCache(async (c) => {
        assert.deepEqual((await collect(c)).flat(), []);
      }));

    it('absolute times are preserved to the millisecond, however far from now', () =>
      withCache(async (c) => {
        const e = sampleEntry('times.example', ODD_TIMES);
        await c.set(e);
        const got = await c.get('times.example');
        assert.equal(got?.fetchedAt, ODD_TIMES.fetchedAt);
        assert.equal(got?.checkedAt, ODD_TIMES.checkedAt);
        assert.equal(got?.expiresAt, ODD_TIMES.expiresAt);
      }));

    it('an expired entry is still returned: backends store, the resolver judges freshness', () =>
      withCache(async (c) => {
        const e = sampleEntry('expired.example', { fetchedAt: 1_000, expiresAt: 2_000, checkedAt: 1_500 });
        await c.set(e);
        assert.deepEqual(await c.get('expired.example'), e);
        const listed = (await collect(c)).flat().map((x) => x.domain);
        assert.deepEqual(listed, ['expired.example']);
      }));

    it('entries with a batch larger than the cache yields one batch of everything', () =>
      withCache(async (c) => {
        for (const d of ['b.example', 'a.example', 'c.example']) await c.set(sampleEntry(d));
        const batches = await collect(c, 1000);
        assert.equal(batches.length, 1);
        assert.deepEqual(
          batches
            .flat()
            .map((e) => e.domain)
            .sort(),
          ['a.example', 'b.example', 'c.example'],
        );
      }));

    it('concurrent writers to different and same domains leave consistent entries', () =>
      withCache(async (c) => {
        const writes: Promise<void>[] = [];
        for (let i = 0; i < 50; i += 1) {
          writes.push(c.set(sampleEntry(`w${i % 10}.example`, { checkedAt: 1_767_225_660_000 + i })));
        }
        await Promise.all(writes);
        for (let k = 0; k < 10; k += 1) {
          const got = await c.get(`w${k}.example`);
          assert.ok(got !== undefined);
          assert.equal(got.domain, `w${k}.example`);
          assert.deepEqual(got.policy.mx, [`mx1.w${k}.example`, `*.backup.w${k}.example`]);
        }
      }));

    // Leases (optional method): a backend without acquireLease skips these cases explicitly.
    const withLeases = (t: TestContext, fn: (c: PolicyCache, lease: LeaseFn) => Promise<void>): Promise<void> =>
      withCache(async (c) => {
        const acquire = c.acquireLease?.bind(c);
        if (acquire === undefined) {
          t.skip(`${name} has no acquireLease (optional): single-process backend`);
          return;
        }
        await fn(c, acquire);
      });
    const LONG_TTL_MS = 60_000;

    it('lease: the first owner takes it; every other owner, and the holder again, is refused until it ends', (t) =>
      withLeases(t, async (_c, lease) => {
        assert.equal(await lease('refresh:a.example', LONG_TTL_MS, 'owner-1'), true);
        assert.equal(await lease('refresh:a.example', LONG_TTL_MS, 'owner-2'), false);
        assert.equal(await lease('refresh:a.example', 1, 'owner-3'), false);
        assert.equal(await lease('refresh:a.example', LONG_TTL_MS, 'owner-1'), false);
        // Names are independent.
        assert.equal(await lease('refresh:b.example', LONG_TTL_MS, 'owner-2'), true);
        assert.equal(await lease('other:a.example', LONG_TTL_MS, 'owner-2'), true);
      }));

    it('lease: once the TTL has passed, another owner takes it', (t) =>
      withLeases(t, async (_c, lease) => {
        assert.equal(await lease('refresh:ttl.example', 50, 'owner-1'), true);
        await new Promise((resolve) => setTimeout(resolve, 200));
        assert.equal(await lease('refresh:ttl.example', LONG_TTL_MS, 'owner-2'), true);
        assert.equal(await lease('refresh:ttl.example', LONG_TTL_MS, 'owner-1'), false);
      }));

    it('lease: of many owners racing for one name, exactly one wins', (t) =>
      withLeases(t, async (_c, lease) => {
        const owners = Array.from({ length: 20 }, (_, i) => `racer-${i}`);
        const won = await Promise.all(owners.map((o) => lease('refresh:race.example', LONG_TTL_MS, o)));
        assert.equal(won.filter((w) => w).length, 1);
      }));

    it('lease: leases are not entries (get and entries never see them), and odd names work', (t) =>
      withLeases(t, async (c, lease) => {
        await c.set(sampleEntry('lease.example'));
        for (const n of ['lease.example', 'refresh:lease.example', 'refresh:ünï\'code "quoted" %_*']) {
          assert.equal(await lease(n, LONG_TTL_MS, 'owner-1'), true, n);
          assert.equal(await lease(n, LONG_TTL_MS, 'owner-2'), false, n);
        }
        assert.deepEqual(await c.get('lease.example'), sampleEntry('lease.example'));
        assert.equal(await c.get('refresh:lease.example'), undefined);
        assert.deepEqual(
          (await collect(c)).flat().map((e) => e.domain),
          ['lease.example'],
        );
      }));

    const reopen = options.reopen;
    if (reopen !== undefined) {
      // Unexpired for a century, so that no purge of long-expired entries can touch them.
      const lasting = (domain: string, overrides: Partial<PolicyEntry> = {}): PolicyEntry =>
        sampleEntry(domain, { expiresAt: 4_102_444_800_000, ...overrides });

      it('values survive a close and reopen, byte for byte, with absolute times', async () => {
        const first = await factory();
        await first.open();
        const kept = lasting('kept.example', {
          checkedAt: ODD_TIMES.checkedAt,
          policyText: 'version: STSv1\nmode: enforce\nmx: ünï.example\nmax_age: 86400\n',
        });
        const gone = lasting('gone.example');
        await first.set(kept);
        await first.set(gone);
        await first.set(lasting('replaced.example'));
        const replaced = lasting('replaced.example', { id: 'second' });
        await first.set(replaced);
        assert.equal(await first.delete('gone.example'), true);
        await first.close();

        const second = await reopen(first);
        await second.open();
        try {
          assert.equal(JSON.stringify(await second.get('kept.example')), JSON.stringify(kept));
          assert.deepEqual(await second.get('replaced.example'), replaced);
          assert.equal(await second.get('gone.example'), undefined);
          const all = (await collect(second, 1))
            .flat()
            .map((e) => e.domain)
            .sort();
          assert.deepEqual(all, ['kept.example', 'replaced.example']);
        } finally {
          await second.close();
        }
      });

      it('writes after a reopen land in the same storage', async () => {
        const first = await factory();
        await first.open();
        await first.set(lasting('one.example'));
        await first.close();
        const second = await reopen(first);
        await second.open();
        await second.set(lasting('two.example'));
        await second.close();
        const third = await reopen(second);
        await third.open();
        try {
          assert.ok((await third.get('one.example')) !== undefined);
          assert.ok((await third.get('two.example')) !== undefined);
        } finally {
          await third.close();
        }
      });
    }
  });
}
