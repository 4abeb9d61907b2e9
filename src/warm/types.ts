/**
 * The warm-up port: protocol adapters that see a destination early (Postfix policy delegation
 * at RCPT) ask for its policy to be resolved in the background, so that the lookup made later
 * by the smtp client finds it in the cache.
 */

/**
 * What became of one request to warm a domain. None of them is an error: warming is an
 * optimisation, and the caller's answer never depends on it.
 * - `queued`: it will be resolved in the background.
 * - `duplicate`: already waiting or being resolved.
 * - `recent`: resolved a moment ago; the cache (or the negative cache) holds the answer.
 * - `skipped`: listed in `policy_delegation.skip_domains` (local or ignored destinations).
 * - `dropped`: the queue is full (counted and logged).
 * - `stopped`: the daemon is shutting down.
 */
export type WarmOutcome = 'queued' | 'duplicate' | 'recent' | 'skipped' | 'dropped' | 'stopped';

export interface WarmService {
  /**
   * Ask for `domain` (a lower-case A-label policy domain) to be resolved in zone `zoneName`
   * (the default zone when absent). Returns at once; never throws.
   */
  enqueue(domain: string, zoneName?: string): WarmOutcome;
}

/** Counters since start, for tests, logs and future metrics. */
export interface WarmStats {
  queued: number;
  duplicates: number;
  recent: number;
  skipped: number;
  dropped: number;
  /** Resolutions finished (whatever their outcome). */
  completed: number;
  /** Resolutions that threw or rejected (a broken LookupService; never expected). */
  failed: number;
}
