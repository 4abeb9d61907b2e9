/**
 * In-memory PolicyCache on lru-cache, bounded by entry count. Lost on restart: the persistent
 * backends (SQLite, Redis) exist for that. Entries are stored as given; the port's entries are
 * read-only plain objects, so no defensive copy is made on the warm-lookup path.
 */
import { LRUCache } from 'lru-cache';
import { LocalLeases } from '../../src/cache/local-leases.js';
import type { PolicyCache, PolicyEntry } from '../../src/cache/types.js';
import type { Clock } from '../../src/clock.js';

/** Batch size of `entries()` when the caller gives none. */
export const DEFAULT_BATCH_SIZE = 500;

export class MemoryPolicyCache implements PolicyCache {
  readonly kind = 'memory';
  readonly memoryHoldsAll = true;
  private readonly lru: LRUCache<string, PolicyEntry>;
  private readonly leases: LocalLeases;

  /** `clock` times the leases only (entries carry their own absolute times). */
  constructor(maxEntries: number, clock?: Clock) {
    this.lru = new LRUCache<string, PolicyEntry>({ max: maxEntries });
    this.leases = new LocalLeases(clock);
  }

  async open(): Promise<void> {}

  async get(domain: string): Promise<PolicyEntry | undefined> {
    return this.lru.get(domain);
  }

  async set(entry: PolicyEntry): Promise<void> {
    this.lru.set(entry.domain, entry);
  }

  peek(domain: string): PolicyEntry | undefined {
    return this.lru.get(domain);
  }

  hold(entry: PolicyEntry): void {
    this.lru.set(entry.domain, entry);
  }

  async delete(domain: string): Promise<boolean> {
    return this.lru.delete(domain);
  }

  async *entries(batchSize = DEFAULT_BATCH_SIZE): AsyncIterable<readonly PolicyEntry[]> {
    // Snapshot first so that writers during iteration cannot disturb it.
    const all = [...this.lru.values()];
    for (let i = 0; i < all.length; i += batchSize) yield all.slice(i, i + batchSize);
  }

  /** Number of entries held (for tests and `cache list`). */
  get size(): number {
    return this.lru.size;
  }

  memoryEntryCount(): number {
    return this.lru.size;
  }

  /** In-process: this backend is never shared, so the lease only orders work inside one daemon. */
  async acquireLease(name: string, ttlMs: number, owner: string): Promise<boolean> {
    return this.leases.acquire(name, ttlMs, owner);
  }

  async close(): Promise<void> {
    this.lru.clear();
    this.leases.clear();
  }
}
