import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryPolicyCache } from '../../../adapters/cache/memory.js';
import { ResilientPolicyCache } from '../../../src/cache/resilient.js';
import type { PolicyCache, PolicyEntry } from '../../../src/cache/types.js';
import { runPolicyCacheContract, sampleEntry } from '../../contract/policy-cache.contract.js';
import { memoryLogger } from '../../helpers/fakes.js';

/** A backend that works until told to fail, and counts what reaches it. */
class FlakyBackend implements PolicyCache {
  readonly kind = 'flaky';
  readonly store = new MemoryPolicyCache(1000);
  failing = false;
  calls: string[] = [];

  private check(op: string): void {
    this.calls.push(op);
    if (this.failing) throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' });
  }
  async open(): Promise<void> {}
  async get(domain: string): Promise<PolicyEntry | undefined> {
    this.check(`get ${domain}`);
    return this.store.get(domain);
  }
  async set(entry: PolicyEntry): Promise<void> {
    this.check(`set ${entry.domain}`);
    await this.store.set(entry);
  }
  async delete(domain: string): Promise<boolean> {
    this.check(`delete ${domain}`);
    return this.store.delete(domain);
  }
  async *entries(batchSize?: number): AsyncIterable<readonly PolicyEntry[]> {
    this.check('entries');
    yield* this.store.entries(batchSize);
  }
  async close(): Promise<void> {
    this.calls.push('close');
  }
}

function setup(memorySize = 100): {
  backend: FlakyBackend;
  cache: ResilientPolicyCache;
  lines: Array<Record<string, unknown>>;
  warnings: () => Array<Record<string, unknown>>;
} {
  const { log, lines } = memoryLogger();
  const backend = new FlakyBackend();
  // Long retry: tests drive recovery with probe(), never with the timer.
  const cache = new ResilientPolicyCache(backend, { memorySize, log, retryInitialMs: 3_600_000, retryMaxMs: 3_600_000 });
  return { backend, cache, lines, warnings: () => lines.filter((l) => l['level'] === 'warn' || l['level'] === 'info') };
}

// The layer is a PolicyCache itself: it passes the same contract over a healthy backend.
runPolicyCacheContract(
  'resilient over memory',
  () => new ResilientPolicyCache(new MemoryPolicyCache(1000), { memorySize: 1000, log: memoryLogger().log }),
);

describe('ResilientPolicyCache', () => {
  it('reads memory first: a second get does not reach the backend', async () => {
    const { backend, cache } = setup();
    await backend.store.set(sampleEntry('a.example'));
    assert.deepEqual(await cache.get('a.example'), sampleEntry('a.example'));
    assert.deepEqual(await cache.get('a.example'), sampleEntry('a.example'));
    assert.deepEqual(backend.calls, ['get a.example']);
  });

  it('writes go to memory and the backend', async () => {
    const { backend, cache } = setup();
    await cache.set(sampleEntry('a.example'));
    assert.deepEqual(await backend.store.get('a.example'), sampleEntry('a.example'));
    backend.failing = true;
    assert.deepEqual(await cache.get('a.example'), sampleEntry('a.example'), 'served from memory');
  });

  it('a failing backend never fails a lookup: memory answers, a miss is a miss', async () => {
    const { backend, cache } = setup();
    await cache.set(sampleEntry('known.example'));
    backend.failing = true;
    assert.equal(await cache.get('unknown.example'), undefined);
    assert.deepEqual(await cache.get('known.example'), sampleEntry('known.example'));
    await cache.set(sampleEntry('new.example'));
    assert.deepEqual(await cache.get('new.example'), sampleEntry('new.example'));
    assert.equal(await cache.delete('known.example'), true);
    assert.equal(cache.stats().healthy, false);
  });

  it('logs once per state change, with the cause, and counts every failure', async () => {
    const { backend, cache, warnings } = setup();
    backend.failing = true;
    for (let i = 0; i < 5; i += 1) await cache.get(`miss${i}.example`);
    await cache.set(sampleEntry('a.example'));
    await cache.set(sampleEntry('b.example'));
    // Only the first get reached the backend; later calls are answered from memory until a probe.
    assert.deepEqual(backend.calls, ['get miss0.example']);
    assert.equal(cache.stats().failures, 1);
    assert.equal(await cache.probe(), false);
    assert.equal(cache.stats().failures, 2);
    let changes = warnings();
    assert.equal(changes.length, 1);
    assert.equal(changes[0]?.['message'], 'cache backend failing: serving from memory');
    assert.equal(changes[0]?.['code'], 'ECACHE_BACKEND');
    assert.equal(changes[0]?.['cause'], 'SQLITE_IOERR: disk I/O error');
    assert.equal(changes[0]?.['backend'], 'flaky');

    backend.failing = false;
    assert.equal(await cache.probe(), true);
    changes = warnings();
    assert.equal(changes.length, 2);
    assert.equal(changes[1]?.['message'], 'cache backend recovered');
    assert.equal(changes[1]?.['failures'], 2);
    assert.equal(changes[1]?.['writtenBack'], 2);
    // Healthy again: a new failure is a new state change, logged again.
    backend.failing = true;
    await cache.get('other.example');
    assert.equal(warnings().length, 3);
  });

  it('writes back entries written (and deleted) while the backend was down once it recovers', async () => {
    const { backend, cache } = setup();
    await cache.set(sampleEntry('stale.example'));
    backend.failing = true;
    await cache.get('x.example'); // the failure
    const fresh = sampleEntry('fresh.example');
    const newer = sampleEntry('stale.example', { id: 'newer', checkedAt: 1_767_300_000_000 });
    await cache.set(fresh);
    await cache.set(newer);
    await cache.set(sampleEntry('dropped.example'));
    await cache.delete('dropped.example');
    assert.equal(cache.stats().pending, 3);
    assert.equal(await backend.store.get('fresh.example'), undefined, 'nothing reached the backend while it failed');

    backend.failing = false;
    assert.equal(await cache.probe(), true);
    assert.deepEqual(await backend.store.get('fresh.example'), fresh);
    assert.deepEqual(await backend.store.get('stale.example'), newer);
    assert.equal(await backend.store.get('dropped.example'), undefined);
    assert.deepEqual(cache.stats(), { healthy: true, failures: 1, pending: 0, writtenBack: 3 });
  });

  it('write-back never overwrites a newer entry another process stored meanwhile', async () => {
    const { backend, cache } = setup();
    backend.failing = true;
    await cache.set(sampleEntry('shared.example', { id: 'ours', checkedAt: 1_767_225_700_000 }));
    const theirs = sampleEntry('shared.example', { id: 'theirs', checkedAt: 1_767_225_800_000 });
    await backend.store.set(theirs);
    backend.failing = false;
    assert.equal(await cache.probe(), true);
    assert.deepEqual(await backend.store.get('shared.example'), theirs);
  });

  it('a probe with nothing to write back reads a reserved .invalid name', async () => {
    const { backend, cache } = setup();
    backend.failing = true;
    await cache.get('a.example');
    backend.failing = false;
    backend.calls = [];
    assert.equal(await cache.probe(), true);
    assert.deepEqual(backend.calls, ['get health-probe.mta-sts-bridge.invalid']);
  });

  it('retries by itself with exponential back-off and recovers', async () => {
    const { log } = memoryLogger();
    const backend = new FlakyBackend();
    const at: number[] = [];
    const get = backend.get.bind(backend);
    backend.get = async (domain: string) => {
      at.push(Date.now());
      return get(domain);
    };
    const cache = new ResilientPolicyCache(backend, { memorySize: 10, log, retryInitialMs: 5, retryMaxMs: 20 });
    backend.failing = true;
    await cache.set(sampleEntry('a.example'));
    for (let i = 0; i < 300 && at.length < 4; i += 1) await new Promise((r) => setTimeout(r, 10));
    // The failed set, then probes: each reads what the backend holds before writing back.
    assert.equal(backend.calls[0], 'set a.example');
    assert.ok(
      backend.calls.slice(1).every((c) => c === 'get a.example'),
      backend.calls.join(', '),
    );
    // Timers never fire early: the gaps are at least 10, 20, 20 ms (5 doubled, capped at 20).
    const gaps = at.slice(1).map((t, i) => t - (at[i] as number));
    assert.ok((gaps[0] ?? 0) >= 9 && (gaps[1] ?? 0) >= 19 && (gaps[2] ?? 0) >= 19, `gaps ${gaps.join(', ')}`);
    backend.failing = false;
    for (let i = 0; i < 300 && !cache.stats().healthy; i += 1) await new Promise((r) => setTimeout(r, 10));
    assert.equal(cache.stats().healthy, true);
    assert.deepEqual(await backend.store.get('a.example'), sampleEntry('a.example'));
    await cache.close();
  });

  it('entries falls back to memory when the backend fails', async () => {
    const { backend, cache } = setup();
    await cache.set(sampleEntry('a.example'));
    await cache.set(sampleEntry('b.example'));
    backend.failing = true;
    const seen: string[] = [];
    for await (const batch of cache.entries(1)) for (const e of batch) seen.push(e.domain);
    assert.deepEqual(seen.sort(), ['a.example', 'b.example']);
  });

  it('close tries once more to write back, then closes the backend', async () => {
    const { backend, cache } = setup();
    backend.failing = true;
    await cache.set(sampleEntry('a.example'));
    backend.failing = false;
    await cache.close();
    assert.deepEqual(await backend.store.get('a.example'), sampleEntry('a.example'));
    assert.equal(backend.calls.at(-1), 'close');
  });

  it('bounds the writes remembered during an outage by the memory size', async () => {
    const { backend, cache } = setup(3);
    backend.failing = true;
    for (let i = 0; i < 10; i += 1) await cache.set(sampleEntry(`d${i}.example`));
    assert.equal(cache.stats().pending, 3);
  });
});
