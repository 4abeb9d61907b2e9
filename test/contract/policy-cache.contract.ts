/**
 * The contract every PolicyCache backend passes. A backend's test file calls
 * `runPolicyCacheContract(name, factory)`; the factory returns a fresh, empty, unopened cache.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
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

export function runPolicyCacheContract(name: string, factory: () => Promise<PolicyCache> | PolicyCache): void {
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
        const seen = batches.flat().map((e) => e.domain).sort();
        assert.deepEqual(seen, [...domains].sort());
      }));

    it('entries of an empty cache yields nothing', () =>
      withCache(async (c) => {
        assert.deepEqual((await collect(c)).flat(), []);
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
  });
}
