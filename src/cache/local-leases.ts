/**
 * Leases held in this process only: the lease of the memory backend, and the fallback of the
 * resilient layer while its shared backend fails. Same rules as `PolicyCache.acquireLease`:
 * one holder per name until its TTL passes, not re-entrant.
 */
import { systemClock, type Clock } from '../clock.js';

/**
 * Expired leases are swept once this many are held. Leases are taken per cached domain, so the
 * table stays near the cache's size; the sweep only keeps it from growing with domains that left.
 */
export const LEASE_SWEEP_THRESHOLD = 10_000;

export class LocalLeases {
  private readonly held = new Map<string, { readonly owner: string; readonly expiresAt: number }>();

  constructor(private readonly clock: Clock = systemClock) {}

  /** True when `owner` took `name` for `ttlMs` now; false while an unexpired lease of that name exists. */
  acquire(name: string, ttlMs: number, owner: string): boolean {
    const now = this.clock.now();
    const current = this.held.get(name);
    if (current !== undefined && current.expiresAt > now) return false;
    if (current === undefined && this.held.size >= LEASE_SWEEP_THRESHOLD) this.sweep(now);
    this.held.set(name, { owner, expiresAt: now + Math.max(0, ttlMs) });
    return true;
  }

  /** Number of leases remembered, expired ones included until the next sweep (for tests). */
  get size(): number {
    return this.held.size;
  }

  clear(): void {
    this.held.clear();
  }

  private sweep(now: number): void {
    for (const [name, lease] of this.held) if (lease.expiresAt <= now) this.held.delete(name);
  }
}
