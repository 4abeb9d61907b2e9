/**
 * Doubles for the refresher tests: a sleeper driven with the fake clock, a fetcher that can hold
 * fetches and counts how many run at once, and a small world (cache + resolver) to seed.
 */
import assert from 'node:assert/strict';
import { MemoryPolicyCache } from '../../../adapters/cache/memory.js';
import type { PolicyCache } from '../../../src/cache/types.js';
import { Resolver } from '../../../src/resolver/resolver.js';
import type { FetchResult, PolicyFetcher } from '../../../src/resolver/types.js';
import type { Sleeper } from '../../../src/refresh/timers.js';
import { FakeClock, ScriptedDns, ScriptedFetcher, memoryLogger, policyText, testZone } from '../../helpers/fakes.js';

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

/** Sleeps end when the test says so (`elapse`), advancing the fake clock by their duration. */
export class FakeSleeper implements Sleeper {
  readonly requests: number[] = [];
  private waiting: Array<{ ms: number; resolve: (elapsed: boolean) => void }> = [];

  constructor(private readonly clock: FakeClock) {}

  sleep(ms: number, signal: AbortSignal): Promise<boolean> {
    this.requests.push(ms);
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const w = { ms, resolve };
      this.waiting.push(w);
      signal.addEventListener(
        'abort',
        () => {
          this.waiting = this.waiting.filter((x) => x !== w);
          resolve(false);
        },
        { once: true },
      );
    });
  }

  get pending(): number {
    return this.waiting.length;
  }

  /** Let the pending sleep run out. */
  elapse(): void {
    const w = this.waiting.shift();
    assert.ok(w !== undefined, 'no sleep is pending');
    this.clock.advance(w.ms);
    w.resolve(true);
  }
}

/** Poll (through the event loop, never the clock) until `cond` holds. */
export async function until(cond: () => boolean, what = 'condition'): Promise<void> {
  for (let i = 0; i < 10_000; i += 1) {
    if (cond()) return;
    await new Promise((r) => setImmediate(r));
  }
  assert.fail(`timed out waiting for ${what}`);
}

/** Wraps a fetcher: optionally holds every fetch until released, and records concurrency. */
export class HeldFetcher implements PolicyFetcher {
  active = 0;
  peak = 0;
  started: string[] = [];
  private gate: Promise<void> | undefined;
  private open: (() => void) | undefined;

  constructor(readonly inner: ScriptedFetcher) {}

  hold(): void {
    this.gate = new Promise((r) => (this.open = r));
  }

  release(): void {
    this.open?.();
    this.gate = undefined;
  }

  async fetch(domain: string, timeoutMs: number): Promise<FetchResult> {
    this.started.push(domain);
    this.active += 1;
    this.peak = Math.max(this.peak, this.active);
    try {
      // A few turns of the event loop, so that concurrent fetches overlap even when not held.
      for (let i = 0; i < 3; i += 1) await new Promise((r) => setImmediate(r));
      if (this.gate !== undefined) await this.gate;
      return await this.inner.fetch(domain);
    } finally {
      this.active -= 1;
      void timeoutMs;
    }
  }
}

export interface World {
  readonly clock: FakeClock;
  readonly dns: ScriptedDns;
  readonly scripted: ScriptedFetcher;
  readonly fetcher: HeldFetcher;
  readonly cache: PolicyCache;
  readonly resolver: Resolver;
  readonly lines: Array<Record<string, unknown>>;
  readonly log: ReturnType<typeof memoryLogger>['log'];
  /** Publish TXT id and policy for `domain`, and resolve once so it is cached. */
  seed(domain: string, options?: { id?: string; mode?: 'enforce' | 'testing' | 'none'; maxAge?: number; mx?: string }): Promise<void>;
}

export function makeWorld(options: { cache?: PolicyCache; clock?: FakeClock } = {}): World {
  const clock = options.clock ?? new FakeClock();
  const dns = new ScriptedDns();
  const scripted = new ScriptedFetcher();
  const fetcher = new HeldFetcher(scripted);
  const cache = options.cache ?? new MemoryPolicyCache(10_000, clock);
  const { log, lines } = memoryLogger();
  const resolver = new Resolver({
    cache,
    dns,
    fetcher,
    clock,
    log,
    cacheGraceSec: 60,
    negativeCacheTtlSec: 300,
    negativeCacheSize: 1000,
  });
  return {
    clock,
    dns,
    scripted,
    fetcher,
    cache,
    resolver,
    lines,
    log,
    async seed(domain, o = {}) {
      dns.setTxt(domain, `v=STSv1; id=${o.id ?? 'one'}`);
      scripted.setPolicy(domain, policyText(o.mode ?? 'enforce', o.maxAge ?? 604_800, o.mx ?? `mx.${domain}`));
      const r = await resolver.resolve(domain, testZone);
      assert.equal(r.kind, 'policy', `seeding ${domain}`);
    },
  };
}

/** Log lines of `level` whose message contains `text`. */
export function logged(lines: ReadonlyArray<Record<string, unknown>>, level: string, text: string): Array<Record<string, unknown>> {
  return lines.filter((l) => l['level'] === level && String(l['message']).includes(text));
}
