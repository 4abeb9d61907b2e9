/**
 * RFC 8461 §3.3 asks senders to refresh a cached policy before it expires (about daily), even
 * when the TXT id has not changed. The resolver fetches only on a new id, which suits the daemon
 * (its refresher is separate) but would let a generator's policies run out at max_age.
 *
 * This decorator presents an entry that is due for refresh with an id no TXT record can carry
 * (ids are 1-32 characters), so the resolver fetches it again; if that fetch fails, the resolver
 * still applies the cached, unexpired entry (last-known-good). Writes pass through unchanged, so
 * the sentinel id is never stored.
 */
import type { PolicyCache, PolicyEntry } from '../cache/types.js';
import type { Clock } from '../clock.js';

/** RFC 8461 §3.3: refresh about daily. */
export const REFRESH_INTERVAL_MS = 24 * 60 * 60 * 1000;
/** An id that never equals a TXT `id=` value (RFC 8461 §3.1: 1*32 letters or digits). */
export const REFRESH_SENTINEL_ID = '';

/** True when `entry` should be fetched again: older than a day or than half its max_age. */
export function isRefreshDue(entry: PolicyEntry, now: number): boolean {
  const lifetime = entry.expiresAt - entry.fetchedAt;
  // Half the lifetime leaves a short max_age room for a failed refresh to be retried in time.
  return now - entry.fetchedAt >= Math.min(REFRESH_INTERVAL_MS, lifetime / 2);
}

export class RefreshDueCache implements PolicyCache {
  readonly kind: string;

  constructor(
    private readonly inner: PolicyCache,
    private readonly clock: Clock,
  ) {
    this.kind = inner.kind;
  }

  open(): Promise<void> {
    return this.inner.open();
  }

  async get(domain: string): Promise<PolicyEntry | undefined> {
    const entry = await this.inner.get(domain);
    if (entry === undefined || !isRefreshDue(entry, this.clock.now())) return entry;
    return { ...entry, id: REFRESH_SENTINEL_ID };
  }

  set(entry: PolicyEntry): Promise<void> {
    return this.inner.set(entry);
  }

  delete(domain: string): Promise<boolean> {
    return this.inner.delete(domain);
  }

  entries(batchSize?: number): AsyncIterable<readonly PolicyEntry[]> {
    return this.inner.entries(batchSize);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
