/**
 * The PolicyCache port. Backends only store; freshness is decided in one place, the resolver
 * (src/resolver/resolver.ts). Entries are plain JSON-able objects with absolute times in
 * milliseconds since the epoch, so that persistent and shared backends (SQLite, Redis, ...)
 * can store them verbatim.
 */
import type { StsPolicy } from '../policy/types.js';

export const CACHE_ENTRY_VERSION = 1;

/** A remembered policy for one policy domain. */
export interface PolicyEntry {
  readonly v: typeof CACHE_ENTRY_VERSION;
  /** Lower-case A-label policy domain. */
  readonly domain: string;
  /** TXT `id=` that announced this policy. */
  readonly id: string;
  /** The policy file exactly as fetched. */
  readonly policyText: string;
  readonly policy: StsPolicy;
  /** When the policy file was fetched. */
  readonly fetchedAt: number;
  /** fetchedAt + max_age (RFC 8461 §3.2). */
  readonly expiresAt: number;
  /** Last time the TXT record confirmed this entry (or it was fetched). */
  readonly checkedAt: number;
}

/** The port every cache backend implements. All methods are async; none throws on a miss. */
export interface PolicyCache {
  /** Backend name for logs: 'memory', 'sqlite', ... */
  readonly kind: string;
  open(): Promise<void>;
  get(domain: string): Promise<PolicyEntry | undefined>;
  set(entry: PolicyEntry): Promise<void>;
  delete(domain: string): Promise<boolean>;
  /** Every entry, in batches (for proactive refresh and export). Order is backend-defined. */
  entries(batchSize?: number): AsyncIterable<readonly PolicyEntry[]>;
  close(): Promise<void>;
  /**
   * Optional: take the lease `name` for `ttlMs` milliseconds on behalf of `owner`, so that
   * processes sharing the backend do a piece of work once (the refresher: one refresh of a domain
   * per window across a fleet). Resolves true when this call took it: no lease of that name was
   * held, or it had expired. Resolves false while an unexpired lease exists, whoever holds it
   * (the holder asking again included: leases are not re-entrant, nor released early). Atomic
   * across every process sharing the backend. Leases are not entries: `get` and `entries` never
   * see them. A backend without it is single-process; callers then proceed as if granted.
   */
  acquireLease?(name: string, ttlMs: number, owner: string): Promise<boolean>;
  /**
   * Optional, cheap (no I/O): entries held in this process's memory (all of them for the memory
   * backend; the memory layer's for a persistent one). For the `cache_entries` metric.
   */
  memoryEntryCount?(): number;
  /**
   * Optional, synchronous, no I/O: the entry held in this process's memory for `domain`, exactly
   * the object last given to `set` or `hold` (or read from the backend); counts as a use for
   * eviction. The warm path answers from it when the resolver made it (a CachedPolicy).
   */
  peek?(domain: string): PolicyEntry | undefined;
  /**
   * Optional: keep `entry` in this process's memory in place of what is held for its domain,
   * without writing to any backend (the resolver hands back an entry it read and checked).
   */
  hold?(entry: PolicyEntry): void;
  /**
   * True when every entry of this cache is in this process's memory, so that a `peek` miss is
   * a miss of the whole cache (the memory backend); absent or false for any backend with a
   * store behind its memory.
   */
  readonly memoryHoldsAll?: boolean;
}

/**
 * True when `value` (e.g. parsed from a store) has the shape of a current-version PolicyEntry.
 * Stores treat anything else as absent, so the resolver fetches the policy again.
 */
export function isPolicyEntry(value: unknown): value is PolicyEntry {
  if (typeof value !== 'object' || value === null) return false;
  const e = value as Partial<Record<keyof PolicyEntry, unknown>>;
  return (
    e.v === CACHE_ENTRY_VERSION &&
    typeof e.domain === 'string' &&
    typeof e.id === 'string' &&
    typeof e.policyText === 'string' &&
    typeof e.policy === 'object' &&
    e.policy !== null &&
    typeof e.fetchedAt === 'number' &&
    typeof e.expiresAt === 'number' &&
    typeof e.checkedAt === 'number'
  );
}
