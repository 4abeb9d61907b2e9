/**
 * When the refresher runs and which cached policies a run refreshes. Pure functions of the
 * settings, the entry's absolute times and a random number, so the rules are tested alone.
 *
 * With I = interval, g = grace_ratio, j = jitter and u a fresh random number in [0, 1):
 *  - the first run starts min(I, 60 s + u·j·I) after start-up;
 *  - each next run starts I·(1 − u·j) after the previous one started (or MIN_SLEEP_MS after it
 *    ended, if it ran longer): runs are never more than I apart, and a fleet drifts out of step;
 *  - a run refreshes an unexpired entry when it was fetched at least I/g ago (the Python tool's
 *    rule), or when it expires within LAST_CHANCE_RUNS·I (ours: so that a max_age shorter than
 *    the interval still gets refreshed, and a failed refresh is tried once more before expiry);
 *  - expired entries are left alone: nothing is left to keep, and a lookup fetches anew.
 */
import type { PolicyEntry } from '../cache/types.js';

/** The settings the schedule depends on, in milliseconds. */
export interface RefreshTiming {
  readonly intervalMs: number;
  /** > 0 (validated): entries fetched less than intervalMs / graceRatio ago are not due. */
  readonly graceRatio: number;
  /** 0 ≤ jitter ≤ 0.5 (validated, PROACTIVE_JITTER_MAX). */
  readonly jitter: number;
}

/**
 * RFC 8461 §3.3 / §10.2 (refresh before expiry): a policy expiring within this many intervals is
 * due however recently it was fetched, so the two runs before its expiry both try to refresh it.
 */
export const LAST_CHANCE_RUNS = 2;
/** The first run waits this long after start-up (less when the interval is shorter), so start-up settles first. */
export const FIRST_RUN_DELAY_MS = 60_000;
/** Python tool `constants.MIN_PROACTIVE_FETCH_INTERVAL` (1 s): the least pause between two runs. */
export const MIN_SLEEP_MS = 1_000;

export type Dueness = { readonly due: true; readonly why: 'age' | 'expiry' } | { readonly due: false; readonly why: 'recent' | 'expired' };

/** Whether a run at `now` refreshes `entry`. */
export function dueness(entry: Pick<PolicyEntry, 'fetchedAt' | 'expiresAt'>, now: number, t: RefreshTiming): Dueness {
  if (entry.expiresAt <= now) return { due: false, why: 'expired' };
  if (now - entry.fetchedAt >= t.intervalMs / t.graceRatio) return { due: true, why: 'age' };
  if (entry.expiresAt - now <= LAST_CHANCE_RUNS * t.intervalMs) return { due: true, why: 'expiry' };
  return { due: false, why: 'recent' };
}

/** Milliseconds from start-up to the first run; `u` in [0, 1). */
export function firstRunDelay(t: RefreshTiming, u: number): number {
  return Math.min(t.intervalMs, FIRST_RUN_DELAY_MS + u * t.jitter * t.intervalMs);
}

/** Milliseconds to wait after a run that started at `runStart` and ended at `now`; `u` in [0, 1). */
export function nextRunDelay(t: RefreshTiming, runStart: number, now: number, u: number): number {
  return Math.max(MIN_SLEEP_MS, runStart + t.intervalMs * (1 - u * t.jitter) - now);
}

/**
 * How long a member of a fleet holds a domain's refresh lease: the least spacing of two refreshes
 * of one domain (I/g), but no longer than the shortest spacing of two runs, I·(1 − j), so that a
 * failed refresh is normally retried by the next run, whichever member makes it.
 */
export function leaseTtl(t: RefreshTiming): number {
  return Math.max(1, Math.min(t.intervalMs / t.graceRatio, t.intervalMs * (1 - t.jitter)));
}
