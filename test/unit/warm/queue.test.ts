import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LookupResult, LookupService } from '../../../src/lookup.js';
import type { Resolution } from '../../../src/resolver/types.js';
import { WARM_MIN_REMEMBER_SEC, WARM_RETRY_AFTER_FAILURE_SEC, WarmQueue, type WarmQueueOptions } from '../../../src/warm/queue.js';
import { SkipList } from '../../../src/warm/skip-list.js';
import { FakeClock, memoryLogger, testZone } from '../../helpers/fakes.js';

/** A lookup whose calls stay pending until the test settles them. */
class GatedLookup implements Pick<LookupService, 'lookup'> {
  readonly calls: Array<{ domain: string; zone: string | undefined }> = [];
  private readonly gates = new Map<string, { resolve: (r: Resolution) => void; reject: (e: unknown) => void }>();
  running = 0;
  maxRunning = 0;

  lookup(domain: string, zoneName?: string): Promise<LookupResult> {
    this.calls.push({ domain, zone: zoneName });
    this.running += 1;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    return new Promise<Resolution>((resolve, reject) => this.gates.set(domain, { resolve, reject })).then(
      (resolution) => {
        this.running -= 1;
        return { zoneName: zoneName ?? 'default', zone: testZone, resolution };
      },
      (err: unknown) => {
        this.running -= 1;
        throw err;
      },
    );
  }

  pending(): string[] {
    return [...this.gates.keys()];
  }

  settle(domain: string, resolution: Resolution = policy(domain)): void {
    const gate = this.gates.get(domain);
    assert.ok(gate !== undefined, `no lookup of ${domain} is pending`);
    this.gates.delete(domain);
    gate.resolve(resolution);
  }

  fail(domain: string): void {
    const gate = this.gates.get(domain);
    assert.ok(gate !== undefined, `no lookup of ${domain} is pending`);
    this.gates.delete(domain);
    gate.reject(new Error('lookup broke its contract'));
  }
}

function policy(domain: string): Resolution {
  return {
    kind: 'policy',
    domain,
    id: 'id1',
    policy: { version: 'STSv1', mode: 'enforce', mx: ['mx.example'], maxAge: 86400, lines: [] },
    source: 'fetched',
    reason: 'new',
    fetchedAt: 0,
    expiresAt: 86_400_000,
  };
}

const noPolicy = (domain: string, reason: 'nxdomain' | 'fetch-failed' = 'nxdomain'): Resolution => ({
  kind: 'no-policy',
  domain,
  reason,
  source: 'lookup',
});
const dnsError = (domain: string): Resolution => ({ kind: 'dns-error', domain, code: 'ESERVFAIL', detail: 'x' });

const OPTIONS: WarmQueueOptions = { queueSize: 3, concurrency: 2, skipDomains: [], policyRememberSec: 600, noPolicyRememberSec: 300 };

function setup(options: Partial<WarmQueueOptions> = {}): {
  q: WarmQueue;
  lookup: GatedLookup;
  clock: FakeClock;
  lines: Array<Record<string, unknown>>;
} {
  const lookup = new GatedLookup();
  const clock = new FakeClock();
  const { log, lines } = memoryLogger();
  const q = new WarmQueue({ lookup, clock, log }, { ...OPTIONS, ...options });
  return { q, lookup, clock, lines };
}

/** Let queued microtasks (the queue's own awaits) run. */
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('WarmQueue', () => {
  it('resolves a queued domain through the lookup service, in its zone', async () => {
    const { q, lookup } = setup();
    assert.equal(q.enqueue('a.test', 'strict'), 'queued');
    await tick();
    assert.deepEqual(lookup.calls, [{ domain: 'a.test', zone: 'strict' }]);
    lookup.settle('a.test');
    await q.whenIdle();
    assert.equal(q.stats.completed, 1);
  });

  it('does not call the lookup before the caller regains control', () => {
    const { q, lookup } = setup();
    q.enqueue('a.test');
    assert.deepEqual(lookup.calls, [], 'the lookup starts on a later microtask');
  });

  it('deduplicates a domain that is waiting or in flight', async () => {
    const { q, lookup } = setup({ concurrency: 1 });
    assert.equal(q.enqueue('a.test'), 'queued');
    assert.equal(q.enqueue('b.test'), 'queued');
    await tick();
    assert.equal(q.enqueue('a.test'), 'duplicate', 'in flight');
    assert.equal(q.enqueue('b.test'), 'duplicate', 'waiting');
    assert.equal(q.stats.duplicates, 2);
    lookup.settle('a.test');
    await tick();
    lookup.settle('b.test');
    await q.whenIdle();
    assert.deepEqual(
      lookup.calls.map((c) => c.domain),
      ['a.test', 'b.test'],
    );
  });

  it('does not queue a domain again while its result is recent, by outcome', async () => {
    const cases: ReadonlyArray<[string, (d: string) => Resolution, number]> = [
      ['policy', policy, 600],
      ['no policy', noPolicy, 300],
      ['failed fetch', (d) => noPolicy(d, 'fetch-failed'), WARM_RETRY_AFTER_FAILURE_SEC],
      ['dns error', dnsError, WARM_RETRY_AFTER_FAILURE_SEC],
    ];
    for (const [name, make, sec] of cases) {
      const { q, lookup, clock } = setup();
      q.enqueue('a.test');
      await tick();
      lookup.settle('a.test', make('a.test'));
      await q.whenIdle();
      clock.advance(sec * 1000 - 1);
      assert.equal(q.enqueue('a.test'), 'recent', `${name}: just before ${sec}s`);
      clock.advance(1);
      assert.equal(q.enqueue('a.test'), 'queued', `${name}: at ${sec}s`);
      assert.equal(q.stats.recent, 1);
    }
  });

  it(`remembers a result at least ${WARM_MIN_REMEMBER_SEC}s even with cache_grace 0`, async () => {
    const { q, lookup, clock } = setup({ policyRememberSec: 0 });
    q.enqueue('a.test');
    await tick();
    lookup.settle('a.test');
    await q.whenIdle();
    clock.advance(WARM_MIN_REMEMBER_SEC * 1000 - 1);
    assert.equal(q.enqueue('a.test'), 'recent');
    clock.advance(1);
    assert.equal(q.enqueue('a.test'), 'queued');
  });

  it('bounds the backlog and counts (and logs) drops', async () => {
    const { q, lookup, lines } = setup({ queueSize: 2, concurrency: 1 });
    assert.equal(q.enqueue('a.test'), 'queued');
    await tick(); // a.test now runs; the backlog is empty again
    assert.equal(q.enqueue('b.test'), 'queued');
    assert.equal(q.enqueue('c.test'), 'queued');
    assert.equal(q.enqueue('d.test'), 'dropped');
    assert.equal(q.enqueue('e.test'), 'dropped');
    assert.equal(q.queuedCount, 2);
    assert.equal(q.stats.dropped, 2);
    const warnings = lines.filter((l) => l['code'] === 'EWARM_QUEUE_FULL');
    assert.deepEqual(
      warnings.map((l) => l['level']),
      ['warn', 'debug'],
      'one warning per interval, then debug lines',
    );
    lookup.settle('a.test');
    await tick();
    assert.equal(q.enqueue('d.test'), 'queued', 'room again once one started');
  });

  it('runs at most `concurrency` resolutions at once', async () => {
    const { q, lookup } = setup({ queueSize: 100, concurrency: 3 });
    for (let i = 0; i < 10; i += 1) q.enqueue(`d${i}.test`);
    await tick();
    assert.equal(q.inFlightCount, 3);
    assert.equal(lookup.pending().length, 3);
    while (lookup.pending().length > 0) {
      for (const d of lookup.pending()) lookup.settle(d);
      await tick();
    }
    await q.whenIdle();
    assert.equal(lookup.maxRunning, 3);
    assert.equal(lookup.calls.length, 10);
    assert.deepEqual(
      lookup.calls.map((c) => c.domain),
      Array.from({ length: 10 }, (_, i) => `d${i}.test`),
      'first in, first out',
    );
  });

  it('skips listed domains and subdomains of listed parents', () => {
    const { q, lookup } = setup({ skipDomains: ['local.test', '.corp.test'] });
    assert.equal(q.enqueue('local.test'), 'skipped');
    assert.equal(q.enqueue('mail.corp.test'), 'skipped');
    assert.equal(q.enqueue('corp.test'), 'queued', '.corp.test covers subdomains only');
    assert.equal(q.enqueue('sub.local.test'), 'queued', 'local.test covers itself only');
    assert.equal(q.stats.skipped, 2);
    assert.equal(lookup.calls.length, 0);
  });

  it('isolates a failing resolution: counted, logged, the queue goes on', async () => {
    const { q, lookup, lines } = setup({ concurrency: 1 });
    q.enqueue('bad.test');
    q.enqueue('good.test');
    await tick();
    lookup.fail('bad.test');
    await tick();
    assert.deepEqual(lookup.pending(), ['good.test']);
    lookup.settle('good.test');
    await q.whenIdle();
    assert.equal(q.stats.failed, 1);
    assert.equal(q.stats.completed, 2);
    assert.ok(lines.some((l) => l['code'] === 'EWARM_INTERNAL' && l['domain'] === 'bad.test'));
    assert.equal(q.enqueue('bad.test'), 'queued', 'a failure is not remembered as a result');
  });

  it('never throws, even with a broken clock', () => {
    const { log } = memoryLogger();
    const q = new WarmQueue(
      {
        lookup: new GatedLookup(),
        clock: {
          now: () => {
            throw new Error('clock broke');
          },
        },
        log,
      },
      { ...OPTIONS, queueSize: 0 },
    );
    assert.equal(q.enqueue('a.test'), 'dropped');
    assert.equal(q.stats.failed, 1);
  });

  it('stop() forgets the backlog, waits for running resolutions, and refuses new work', async () => {
    const { q, lookup } = setup({ concurrency: 1 });
    q.enqueue('a.test');
    q.enqueue('b.test');
    await tick();
    let stopped = false;
    const stopping = q.stop().then(() => (stopped = true));
    await tick();
    assert.equal(stopped, false, 'a.test is still running');
    assert.equal(q.enqueue('c.test'), 'stopped');
    lookup.settle('a.test');
    await stopping;
    assert.deepEqual(
      lookup.calls.map((c) => c.domain),
      ['a.test'],
      'b.test was never started',
    );
  });
});

describe('SkipList', () => {
  const list = new SkipList(['example.org', '.corp.example']);
  const table: ReadonlyArray<[string, boolean]> = [
    ['example.org', true],
    ['mail.example.org', false],
    ['corp.example', false],
    ['a.corp.example', true],
    ['a.b.corp.example', true],
    ['xcorp.example', false],
    ['other.test', false],
  ];
  for (const [domain, expected] of table) {
    it(`${domain} -> ${expected}`, () => assert.equal(list.matches(domain), expected));
  }
  it('counts its entries', () => assert.equal(list.size, 2));
});
