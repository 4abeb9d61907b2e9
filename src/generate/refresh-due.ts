/**
 * RFC 8461 §3.3 asks senders to refresh a cached policy before it expires (about daily), even
 * when the TXT id has not changed. A generator run has no background refresher, so each run
 * refreshes the entries that are due, through the resolver's own `refresh()` (which keeps an
 * unexpired policy when the refresh fails), before resolving them.
 */
import type { PolicyEntry } from '../cache/types.js';

/** RFC 8461 §3.3: refresh about daily. */
export const REFRESH_INTERVAL_MS = 24 * 60 * 60 * 1000;

/** True when `entry` should be fetched again: older than a day or than half its max_age. */
export function isRefreshDue(entry: PolicyEntry, now: number): boolean {
  const lifetime = entry.expiresAt - entry.fetchedAt;
  // Half the lifetime leaves a short max_age room for a failed refresh to be retried in time.
  return now - entry.fetchedAt >= Math.min(REFRESH_INTERVAL_MS, lifetime / 2);
}
