import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryPolicyCache } from '../../../adapters/cache/memory.js';
import { LEASE_SWEEP_THRESHOLD, LocalLeases } from '../../../src/cache/local-leases.js';
import { ResilientPolicyCache } from '../../../src/cache/resilient.js';
import type { PolicyCache } from '../../../src/cache/types.js';
import { FakeClock, memoryLogger } from '../../helpers/fakes.js';

describe('LocalLeases', () => {
  it('one holder per name until the TTL passes, then the next owner', () => {
    const clock = new FakeClock();
    const leases = new LocalLeases(clock);
    assert.equal(leases.acquire('x', 1000, 'a'), true);
    assert.equal(leases.acquire('x', 1000, 'b'), false);
    assert.equal(leases.acquire('x', 1000, 'a'), false);
    clock.advance(999);
    assert.equal(leases.acquire('x', 1000, 'b'), false);
    clock.advance(1);
    assert.equal(leases.acquire('x', 1000, 'b'), true);
  });

  it('sweeps expired leases once many are held, so the table stays bounded', () => {
    const clock = new FakeClock();
    const leases = new LocalLeases(clock);
    for (let i = 0; i < LEASE_SWEEP_THRESHOLD; i += 1) leases.acquire(`n${i}`, 10, 'a');
    clock.advance(10);
    leases.acquire('fresh', 10, 'a');
    assert.equal(leases.size, 1);
  });
});

describe('the memory backend lease follows its clock', () => {
  it('expires on the injected clock', async () => {
    const clock = new FakeClock();
    const cache = new MemoryPolicyCache(10, clock);
    assert.equal(await cache.acquireLease('x', 60_000, 'a'), true);
    assert.equal(await cache.acquireLease('x', 60_000, 'b'), false);
    clock.advance(60_000);
    assert.equal(await cache.acquireLease('x', 60_000, 'b'), true);
  });
});

/** A backend whose leases are counted and can be made to fail. */
function fakeBackend(withLeases: boolean): PolicyCache & { leaseCalls: number; broken: boolean } {
  const inner = new MemoryPolicyCache(100);
  const backend = {
    kind: 'fake',
    leaseCalls: 0,
    broken: false,
    open: () => inner.open(),
    get: async (d: string) => {
      if (backend.broken) throw new Error('backend down');
      return inner.get(d);
    },
    set: (e: Parameters<PolicyCache['set']>[0]) => inner.set(e),
    delete: (d: string) => inner.delete(d),
    entries: (n?: number) => inner.entries(n),
    close: () => inner.close(),
    ...(withLeases
      ? {
          acquireLease: async (name: string, ttl: number, owner: string): Promise<boolean> => {
            backend.leaseCalls += 1;
            if (backend.broken) throw Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED' });
            return inner.acquireLease(name, ttl, owner);
          },
        }
      : {}),
  };
  return backend;
}

describe('ResilientPolicyCache leases', () => {
  it('pass through to the backend while it works', async () => {
    const backend = fakeBackend(true);
    const cache = new ResilientPolicyCache(backend, { memorySize: 10, log: memoryLogger().log });
    await cache.open();
    await backend.acquireLease?.('x', 60_000, 'other-process');
    assert.equal(await cache.acquireLease('x', 60_000, 'me'), false);
    assert.equal(await cache.acquireLease('y', 60_000, 'me'), true);
    assert.equal(backend.leaseCalls, 3);
    await cache.close();
  });

  it('are granted locally while the backend fails (and only once per name)', async () => {
    const backend = fakeBackend(true);
    const { log, lines } = memoryLogger();
    const clock = new FakeClock();
    const cache = new ResilientPolicyCache(backend, { memorySize: 10, log, clock, retryInitialMs: 60_000 });
    await cache.open();
    backend.broken = true;
    assert.equal(await cache.acquireLease('x', 60_000, 'me'), true);
    assert.equal(cache.stats().healthy, false);
    assert.ok(lines.some((l) => l['level'] === 'warn' && l['operation'] === 'acquireLease'));
    const calls = backend.leaseCalls;
    assert.equal(await cache.acquireLease('x', 60_000, 'me-again'), false);
    assert.equal(backend.leaseCalls, calls, 'a failing backend is not asked again before its probe');
    clock.advance(60_000);
    assert.equal(await cache.acquireLease('x', 60_000, 'me-again'), true);
    backend.broken = false;
    await cache.close();
  });

  it('are granted locally when the backend has no leases', async () => {
    const cache = new ResilientPolicyCache(fakeBackend(false), { memorySize: 10, log: memoryLogger().log });
    await cache.open();
    assert.equal(await cache.acquireLease('x', 60_000, 'a'), true);
    assert.equal(await cache.acquireLease('x', 60_000, 'b'), false);
    await cache.close();
  });
});
