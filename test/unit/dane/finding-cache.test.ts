import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DANE_FAILURE_TTL_S,
  DANE_MAX_TTL_S,
  DANE_MIN_TTL_S,
  DANE_STALE_GRACE_S,
  DaneFindingCache,
  lifetimeOf,
} from '../../../src/dane/finding-cache.js';
import type { DaneFinding } from '../../../src/dane/types.js';
import { FakeClock } from '../../helpers/fakes.js';

const domain = 'example.test';
const dane = (ttl: number): DaneFinding => ({ kind: 'dane', domain, hosts: [], ttl });
const noDane = (ttl: number): DaneFinding => ({ kind: 'no-dane', domain, reason: 'mx-insecure', hosts: [], ttl });
const remote: DaneFinding = { kind: 'failed', domain, code: 'EDANE_DNS_SERVFAIL', side: 'remote', stage: 'mx', message: '', hosts: [] };
const local: DaneFinding = { kind: 'failed', domain, code: 'EDANE_DNS_NETWORK', side: 'local', stage: 'mx', message: '', hosts: [] };

function setup(results: DaneFinding[], maxEntries?: number) {
  const clock = new FakeClock();
  const calls: string[] = [];
  let release: () => void = () => undefined;
  let gate: Promise<void> | undefined;
  const cache = new DaneFindingCache({
    clock,
    ...(maxEntries === undefined ? {} : { maxEntries }),
    lookup: async (d) => {
      calls.push(d);
      if (gate !== undefined) await gate;
      const next = results.shift();
      assert.ok(next !== undefined, 'unexpected lookup');
      return next;
    },
  });
  return {
    clock,
    calls,
    cache,
    hold: () => {
      gate = new Promise((r) => (release = r));
    },
    release: () => release(),
  };
}

describe('lifetimeOf', () => {
  it('clamps TTLs; remote failures briefly; local faults never', () => {
    assert.equal(lifetimeOf(dane(0)), DANE_MIN_TTL_S);
    assert.equal(lifetimeOf(dane(999_999)), DANE_MAX_TTL_S);
    assert.equal(lifetimeOf(noDane(300)), 300);
    assert.equal(lifetimeOf(dane(Number.POSITIVE_INFINITY)), DANE_MAX_TTL_S);
    assert.equal(lifetimeOf(remote), DANE_FAILURE_TTL_S);
    assert.equal(lifetimeOf(local), undefined);
  });
});

describe('DaneFindingCache', () => {
  it('caches a finding for its TTL, negative findings included', async () => {
    const t = setup([noDane(120), dane(300)]);
    assert.deepEqual(t.cache.peek(domain), { state: 'absent' });
    assert.equal((await t.cache.get(domain, 1000)).kind, 'no-dane');
    assert.equal(t.cache.peek(domain).state, 'fresh');
    t.clock.advance(119_000);
    assert.equal((await t.cache.get(domain, 1000)).kind, 'no-dane');
    assert.equal(t.calls.length, 1);
    t.clock.advance(2_000);
    assert.equal(t.cache.peek(domain).state, 'stale');
    assert.equal((await t.cache.get(domain, 1000)).kind, 'dane');
    assert.equal(t.calls.length, 2);
  });
  it('single flight per domain', async () => {
    const t = setup([dane(300)]);
    t.hold();
    const all = Promise.all([t.cache.get(domain, 1000), t.cache.get(domain, 1000), t.cache.refresh(domain, 1000)]);
    await new Promise((r) => setImmediate(r));
    assert.equal(t.cache.inFlight, 1);
    t.release();
    const got = await all;
    assert.deepEqual(
      got.map((f) => f.kind),
      ['dane', 'dane', 'dane'],
    );
    assert.equal(t.calls.length, 1);
  });
  it('stale within the grace, absent after it; failures are never stale', async () => {
    const t = setup([dane(60), remote]);
    await t.cache.get(domain, 1000);
    t.clock.advance(60_000 + DANE_STALE_GRACE_S * 1000 - 1);
    assert.equal(t.cache.peek(domain).state, 'stale');
    t.clock.advance(1);
    assert.equal(t.cache.peek(domain).state, 'absent');
    await t.cache.get(domain, 1000);
    assert.equal(t.cache.peek(domain).state, 'fresh');
    t.clock.advance(DANE_FAILURE_TTL_S * 1000);
    assert.equal(t.cache.peek(domain).state, 'absent');
  });
  it('a local fault is not cached and removes a stale finding', async () => {
    const t = setup([dane(60), local, dane(60)]);
    await t.cache.get(domain, 1000);
    t.clock.advance(61_000);
    assert.equal(t.cache.peek(domain).state, 'stale');
    assert.equal((await t.cache.get(domain, 1000)).kind, 'failed');
    assert.equal(t.cache.peek(domain).state, 'absent');
    assert.equal((await t.cache.get(domain, 1000)).kind, 'dane');
    assert.equal(t.calls.length, 3);
  });
  it('is bounded', async () => {
    const t = setup([dane(60), dane(60), dane(60)], 2);
    await t.cache.get('a.test', 1000);
    await t.cache.get('b.test', 1000);
    await t.cache.get('c.test', 1000);
    assert.equal(t.cache.size, 2);
    assert.equal(t.cache.peek('a.test').state, 'absent');
  });
});
