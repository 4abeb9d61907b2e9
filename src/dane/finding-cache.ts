/**
 * The DANE findings cache: in memory, bounded (lru-cache), one lookup in flight per domain,
 * each finding kept for the TTL of the DNS answers it was made of, clamped.
 *
 * - Findings of absence (`no-dane`: unsigned, validated NXDOMAIN/NODATA) are cached like the
 *   others, with their negative TTLs (RFC 2308): that is the negative caching.
 * - A remote failure is cached briefly ({@link DANE_FAILURE_TTL_S}) so that a broken zone is not
 *   asked again for every queued message; a local fault is never cached (it is this host's, and
 *   may be gone on the next request).
 * - {@link DaneFindingCache.peek} is synchronous for the warm path: a fresh finding, or a stale
 *   one within {@link DANE_STALE_GRACE_S} past its expiry (a failure is never served stale), in
 *   which case the caller answers from it and starts {@link DaneFindingCache.refresh}. So a DANE
 *   lookup never delays an answer that a cached MTA-STS policy could give at once.
 *
 * Times are absolute milliseconds from the injected clock.
 */
import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.js';
import { SingleFlight } from '../resolver/single-flight.js';
import type { DaneFinding } from './types.js';

/** Floor of a finding's lifetime: a TTL of 0 must not mean a DNS round per delivery. */
export const DANE_MIN_TTL_S = 30;
/** Ceiling: a TLSA change (key rollover) is seen within an hour whatever the TTL says. */
export const DANE_MAX_TTL_S = 3600;
/** Lifetime of a remote failure (SERVFAIL, timeout): Postfix retries deferred mail in minutes. */
export const DANE_FAILURE_TTL_S = 30;
/** How long past expiry a finding may still answer while it is looked up again. */
export const DANE_STALE_GRACE_S = 3600;
/** Default bound of the cache, in findings (each a few hundred bytes). */
export const DANE_CACHE_DEFAULT_ENTRIES = 10_000;

interface Stored {
  readonly finding: DaneFinding;
  readonly foundAt: number;
  readonly expiresAt: number;
}

export interface DaneFindingCacheOptions {
  /** The DANE lookup (findDane bound to a client) within `timeoutMs`. Must never reject. */
  readonly lookup: (domain: string, timeoutMs: number) => Promise<DaneFinding>;
  readonly clock: Clock;
  readonly maxEntries?: number;
}

/** What {@link DaneFindingCache.peek} found. */
export type Peeked =
  { readonly state: 'fresh' | 'stale'; readonly finding: DaneFinding; readonly expiresAt: number } | { readonly state: 'absent' };

/** Lifetime of a finding in seconds; undefined when it must not be cached. */
export function lifetimeOf(finding: DaneFinding): number | undefined {
  switch (finding.kind) {
    case 'dane':
    case 'mixed':
    case 'no-dane':
      return Math.min(DANE_MAX_TTL_S, Math.max(DANE_MIN_TTL_S, Number.isFinite(finding.ttl) ? finding.ttl : DANE_MAX_TTL_S));
    case 'failed':
      return finding.side === 'remote' ? DANE_FAILURE_TTL_S : undefined;
    default: {
      const _never: never = finding;
      return _never;
    }
  }
}

export class DaneFindingCache {
  private readonly entries: LRUCache<string, Stored>;
  private readonly flights = new SingleFlight<DaneFinding>();

  constructor(private readonly options: DaneFindingCacheOptions) {
    this.entries = new LRUCache<string, Stored>({ max: Math.max(1, options.maxEntries ?? DANE_CACHE_DEFAULT_ENTRIES) });
  }

  /** The cached finding for `domain`, without any lookup. */
  peek(domain: string): Peeked {
    const stored = this.entries.get(domain);
    if (stored === undefined) return { state: 'absent' };
    const now = this.options.clock.now();
    if (now < stored.expiresAt) return { state: 'fresh', finding: stored.finding, expiresAt: stored.expiresAt };
    if (stored.finding.kind !== 'failed' && now < stored.expiresAt + DANE_STALE_GRACE_S * 1000) {
      return { state: 'stale', finding: stored.finding, expiresAt: stored.expiresAt };
    }
    return { state: 'absent' };
  }

  /**
   * A fresh finding: the cached one, or the result of a lookup within `timeoutMs` (joined if
   * one is under way: the first caller's deadline applies).
   */
  async get(domain: string, timeoutMs: number): Promise<DaneFinding> {
    const peeked = this.peek(domain);
    if (peeked.state === 'fresh') return peeked.finding;
    return this.refresh(domain, timeoutMs);
  }

  /** Look `domain` up now (single flight) and store the result. */
  refresh(domain: string, timeoutMs: number): Promise<DaneFinding> {
    return this.flights.run(domain, async () => {
      const finding = await this.options.lookup(domain, timeoutMs);
      const lifetime = lifetimeOf(finding);
      const foundAt = this.options.clock.now();
      if (lifetime === undefined) {
        // A local fault: forget any stale finding too, so that the fault is seen, not hidden.
        this.entries.delete(domain);
      } else {
        this.entries.set(domain, { finding, foundAt, expiresAt: foundAt + lifetime * 1000 });
      }
      return finding;
    });
  }

  /** Lookups under way. */
  get inFlight(): number {
    return this.flights.size;
  }

  /** Findings kept. */
  get size(): number {
    return this.entries.size;
  }
}
