/**
 * The background warm-up queue: resolves policy domains through the LookupService (so the
 * result lands in the very cache the socketmap listener reads), a few at a time, never twice
 * at once, and never more than a bounded backlog. It never throws and never makes its caller
 * wait: a full queue or a failing resolution only shows in counters and logs.
 */
import { growingLru } from '../cache/growing-lru.js';
import type { Logger } from 'winston';
import type { Clock } from '../clock.js';
import type { LookupResult, LookupService } from '../lookup.js';
import { SkipList } from './skip-list.js';
import type { WarmOutcome, WarmService, WarmStats } from './types.js';

/**
 * Domains remembered as "resolved a moment ago". Bounds memory only: a forgotten domain is
 * simply resolved again, which the resolver answers from its cache.
 */
export const WARM_RECENT_MAX_ENTRIES = 10_000;

/**
 * Shortest time a resolved domain is not queued again. With `cache_grace: 0` every RCPT of a
 * message to 100 recipients at one domain would otherwise cost a TXT lookup; the socketmap
 * lookup that follows still applies the operator's cache_grace itself.
 */
export const WARM_MIN_REMEMBER_SEC = 30;

/**
 * After a DNS error or a failed policy fetch, how long before the warmer tries the domain
 * again. The resolver already backs off fetches for five minutes (RFC 8461 §3.3); this spares
 * the TXT lookups too while a destination's DNS is broken.
 */
export const WARM_RETRY_AFTER_FAILURE_SEC = 60;

/** At most one "queue full" warning per this interval (the count is in every warning). */
export const WARM_DROP_LOG_INTERVAL_MS = 60_000;

export interface WarmQueueOptions {
  /** Domains waiting (not counting those being resolved) before new ones are dropped. */
  readonly queueSize: number;
  /** Resolutions running at once. */
  readonly concurrency: number;
  /** Normalized `policy_delegation.skip_domains` entries. */
  readonly skipDomains: readonly string[];
  /** Seconds a domain found with a policy is not queued again (the config's cache_grace). */
  readonly policyRememberSec: number;
  /** Seconds a domain found without MTA-STS is not queued again (negative_cache_ttl). */
  readonly noPolicyRememberSec: number;
}

export interface WarmQueueDeps {
  readonly lookup: Pick<LookupService, 'lookup'>;
  readonly clock: Clock;
  /** Root or component logger; the queue logs as component `warm`. */
  readonly log: Logger;
}

export class WarmQueue implements WarmService {
  readonly stats: WarmStats = emptyWarmStats();
  /** Waiting domains in arrival order, with their zone: a Map is both the FIFO and the dedup set. */
  private readonly waiting = new Map<string, string | undefined>();
  private readonly running = new Map<string, Promise<void>>();
  /** Domain -> time (ms) before which it is not queued again. */
  private readonly recentUntil = growingLru<string, number>(WARM_RECENT_MAX_ENTRIES);
  private readonly skip: SkipList;
  private readonly log: Logger;
  private stopped = false;
  private lastDropLog = Number.NEGATIVE_INFINITY;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly deps: WarmQueueDeps,
    private readonly options: WarmQueueOptions,
  ) {
    this.skip = new SkipList(options.skipDomains);
    this.log = deps.log.child({ component: 'warm' });
  }

  /** Domains waiting to be resolved. */
  get queuedCount(): number {
    return this.waiting.size;
  }

  /** Domains being resolved now. */
  get inFlightCount(): number {
    return this.running.size;
  }

  enqueue(domain: string, zoneName?: string): WarmOutcome {
    try {
      return this.admit(domain, zoneName);
    } catch (err) {
      // Defensive: a broken clock or logger must not reach the protocol handler.
      this.stats.failed += 1;
      this.safeLog('error', 'warm-up enqueue failed', { domain, code: 'EWARM_INTERNAL', error: String(err) });
      return 'dropped';
    }
  }

  /** Resolves once nothing is waiting or running (at once when idle). For tests and shutdown. */
  whenIdle(): Promise<void> {
    if (this.waiting.size === 0 && this.running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Accept nothing more, forget what waits, and resolve when the running resolutions are done
   * (each is bounded by its zone's timeout), so the cache can be closed after it.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.waiting.clear();
    await Promise.all(this.running.values());
  }

  private admit(domain: string, zoneName: string | undefined): WarmOutcome {
    if (this.stopped) return 'stopped';
    if (this.skip.matches(domain)) {
      this.stats.skipped += 1;
      return 'skipped';
    }
    if (this.waiting.has(domain) || this.running.has(domain)) {
      this.stats.duplicates += 1;
      return 'duplicate';
    }
    const until = this.recentUntil.get(domain);
    if (until !== undefined) {
      if (until > this.deps.clock.now()) {
        this.stats.recent += 1;
        return 'recent';
      }
      this.recentUntil.delete(domain);
    }
    if (this.waiting.size >= this.options.queueSize) {
      this.stats.dropped += 1;
      this.logDrop(domain);
      return 'dropped';
    }
    this.waiting.set(domain, zoneName);
    this.stats.queued += 1;
    this.pump();
    return 'queued';
  }

  private pump(): void {
    while (this.running.size < this.options.concurrency && !this.stopped) {
      const next = this.waiting.entries().next();
      if (next.done === true) break;
      const [domain, zoneName] = next.value;
      this.waiting.delete(domain);
      this.running.set(domain, this.resolve(domain, zoneName));
    }
    if (this.waiting.size === 0 && this.running.size === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private async resolve(domain: string, zoneName: string | undefined): Promise<void> {
    try {
      // Yield first: the caller's reply goes out before any resolver code runs.
      await Promise.resolve();
      const result = await this.deps.lookup.lookup(domain, zoneName);
      this.remember(domain, result);
      this.safeLog('debug', 'warmed', { domain, outcome: result.resolution.kind, zone: result.zoneName });
    } catch (err) {
      this.stats.failed += 1;
      this.safeLog('warn', 'warm-up resolution failed', { domain, code: 'EWARM_INTERNAL', error: String(err) });
    } finally {
      this.stats.completed += 1;
      this.running.delete(domain);
      this.pump();
    }
  }

  private remember(domain: string, result: LookupResult): void {
    const r = result.resolution;
    let sec: number;
    switch (r.kind) {
      case 'policy':
        sec = this.options.policyRememberSec;
        break;
      case 'no-policy':
        sec = r.reason === 'fetch-failed' || r.reason === 'fetch-backoff' ? WARM_RETRY_AFTER_FAILURE_SEC : this.options.noPolicyRememberSec;
        break;
      case 'dns-error':
        sec = WARM_RETRY_AFTER_FAILURE_SEC;
        break;
      default: {
        const _never: never = r;
        return _never;
      }
    }
    this.recentUntil.set(domain, this.deps.clock.now() + Math.max(sec, WARM_MIN_REMEMBER_SEC) * 1000);
  }

  private logDrop(domain: string): void {
    const now = this.deps.clock.now();
    if (now - this.lastDropLog < WARM_DROP_LOG_INTERVAL_MS) {
      this.safeLog('debug', 'warm-up queue full; domain dropped', { domain, code: 'EWARM_QUEUE_FULL' });
      return;
    }
    this.lastDropLog = now;
    this.safeLog('warn', 'warm-up queue full; domains are dropped (raise policy_delegation.queue_size or concurrency)', {
      domain,
      code: 'EWARM_QUEUE_FULL',
      dropped: this.stats.dropped,
      queueSize: this.options.queueSize,
    });
  }

  private safeLog(level: 'debug' | 'warn' | 'error', message: string, fields: Record<string, unknown>): void {
    try {
      this.log.log(level, message, fields);
    } catch {
      // Logging trouble must not turn into a thrown enqueue or an unhandled rejection.
    }
  }
}

/** Every warm-up counter at zero: a new queue's, and what is reported while there is none. */
export function emptyWarmStats(): WarmStats {
  return { queued: 0, duplicates: 0, recent: 0, skipped: 0, dropped: 0, completed: 0, failed: 0 };
}
