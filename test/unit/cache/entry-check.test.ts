/**
 * Stored entries validated when read (issue 13 finding 5): the text is the source of truth, times
 * are sane, anything else is absent and logged once; `cache list/show` never crash on such entries
 * and escape control characters.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { MemoryPolicyCache } from '../../../adapters/cache/memory.js';
import { SqlitePolicyCache } from '../../../adapters/cache/sqlite.js';
import { checkStoredEntry } from '../../../src/cache/entry-check.js';
import { cacheCommand, isoTime } from '../../../main/cli/cache.js';
import { Resolver } from '../../../src/resolver/resolver.js';
import { sampleEntry } from '../../contract/policy-cache.contract.js';
import { FakeClock, memoryLogger, policyText, ScriptedDns, ScriptedFetcher, testZone } from '../../helpers/fakes.js';
import { captureIo } from '../cli/capture.js';

const root = mkdtempSync(join(tmpdir(), 'msb-entry-check-'));
after(() => rmSync(root, { recursive: true, force: true }));

const NOW = Date.UTC(2026, 0, 5);
const good = sampleEntry('example.com', { fetchedAt: NOW - 1000, checkedAt: NOW - 1000, expiresAt: NOW - 1000 + 604800_000 });

describe('checkStoredEntry', () => {
  it('accepts a consistent entry and returns the policy parsed from its text', () => {
    const r = checkStoredEntry(good, NOW);
    assert.equal(r.ok, true);
    assert.deepEqual(r.ok && r.entry.policy.mx, ['mx1.example.com', '*.backup.example.com']);
  });
  const bad: ReadonlyArray<[string, Partial<typeof good>]> = [
    ['mode enforce beside a testing text', { policyText: good.policyText.replace('mode: enforce', 'mode: testing') }],
    ['mx that disagree', { policy: { ...good.policy, mx: ['evil.example'] } }],
    ['expiresAt 1e300', { expiresAt: 1e300 }],
    ['expiresAt beyond one year', { expiresAt: good.fetchedAt + 31_557_601_000 }],
    ['expiresAt beyond max_age', { expiresAt: good.fetchedAt + 604_801_000 }],
    ['NaN time', { checkedAt: Number.NaN }],
    ['fetchedAt far in the future', { fetchedAt: NOW + 10 * 86400_000, expiresAt: NOW + 11 * 86400_000 }],
    ['a text that does not parse', { policyText: 'garbage' }],
  ];
  for (const [name, override] of bad) {
    it(`refuses ${name}`, () => assert.equal(checkStoredEntry({ ...good, ...override }, NOW).ok, false));
  }
});

describe('the resolver and invalid stored entries', () => {
  it('an entry whose policy.mode says enforce beside a testing text is absent: refetched, logged once', async () => {
    const clock = new FakeClock(NOW);
    const cache = new MemoryPolicyCache(10);
    const dns = new ScriptedDns();
    const fetcher = new ScriptedFetcher();
    const { log, lines } = memoryLogger();
    const forged = { ...good, policyText: good.policyText.replace('mode: enforce', 'mode: testing') };
    // A store that keeps giving back the forged entry (as a shared cache written by someone else would).
    const store = {
      ...cache,
      kind: 'memory',
      get: async () => forged,
      set: async () => undefined,
      delete: async () => true,
      entries: cache.entries.bind(cache),
      open: async () => undefined,
      close: async () => undefined,
    };
    const r2 = new Resolver({ cache: store, dns, fetcher, clock, log, cacheGraceSec: 60, negativeCacheTtlSec: 300, negativeCacheSize: 10 });
    dns.setTxt('example.com', 'v=STSv1; id=20260101T000000;');
    fetcher.setPolicy('example.com', policyText('testing', 86400, 'mx1.example.com'));
    const first = await r2.resolve('example.com', testZone);
    assert.equal(first.kind === 'policy' ? `${first.policy.mode} ${first.source}` : first.kind, 'testing fetched');
    clock.advance(61_000);
    await r2.resolve('example.com', testZone);
    const logged = lines.filter((l) => l['code'] === 'ECACHE_ENTRY_INVALID');
    assert.equal(logged.length, 1, 'logged once per key, not per lookup');
    assert.equal(logged[0]?.['level'], 'error');
    assert.equal(r2.stats.invalidEntries, 1);
  });
});

describe('cache list/show with hostile stored values', () => {
  it('never crash on expiresAt 1e300 and escape raw newlines', async () => {
    const state = join(root, 'state');
    const clock = new FakeClock(NOW);
    const c = new SqlitePolicyCache({ path: join(state, 'hostile.sqlite'), busyTimeoutMs: 1000, clock, purgeIntervalMs: 0 });
    await c.open();
    await c.set({ ...good, domain: 'far.example', expiresAt: 1e300 });
    await c.set({ ...good, domain: 'nl.example', id: 'a\nFAKE-ROW  enforce', policyText: `${good.policyText}x\u001b[31m` });
    await c.close();
    const config = join(root, 'c.yml');
    writeFileSync(config, `state_directory: ${state}\ncache:\n  type: sqlite\n  options:\n    filename: hostile.sqlite\n`);
    const deps = { env: {}, homeDir: '/nonexistent', clock };
    const run = async (...argv: string[]) => {
      const io = captureIo();
      const code = await cacheCommand(argv, io, deps);
      return { code, out: io.stdout(), err: io.stderr() };
    };
    const list = await run('list', '-c', config);
    assert.equal(list.code, 0, list.err);
    assert.match(list.out, /invalid\(1e\+300\)/);
    assert.ok(!list.out.split('\n').some((l) => l.startsWith('FAKE-ROW')), list.out);
    assert.match(list.out, /a\\nFAKE-ROW/);
    const show = await run('show', 'nl.example', '-c', config);
    assert.equal(show.code, 0, show.err);
    assert.ok(!show.out.includes('\u001b'), 'escape character shown escaped');
    assert.match(show.out, /\\u001b/);
    const far = await run('show', 'far.example', '-c', config);
    assert.equal(far.code, 0, far.err);
    assert.equal(isoTime(Number.NaN), 'invalid(NaN)');
  });
});
