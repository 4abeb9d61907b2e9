/**
 * The freshness state machine of RFC 8461 §3.3 / §5, in one place. Backends only store;
 * this module decides what is fresh, what must be refetched, and what applies when
 * discovery or fetching fails.
 *
 * One resolution of a policy domain:
 *  1. An unexpired cached entry checked less than `cache_grace` seconds ago answers at once.
 *  2. A domain recently found without MTA-STS answers "no policy" at once (negative cache).
 *  3. Otherwise the TXT record is looked up:
 *     - same id as the cached, unexpired entry: the entry answers (no fetch);
 *     - new id, or nothing cached: the policy is fetched, unless a fetch for this domain and id
 *       failed less than five minutes ago (RFC 8461 §3.3), in which case nothing is fetched;
 *     - no record, DNS error or failed fetch: an unexpired cached policy still applies (MUST);
 *       without one, there is no policy (or a DNS error, which the adapter may answer as TEMP).
 *  A fetched policy (of any mode, `none` included) replaces what was cached.
 *
 * A proactive refresh (`refresh`, RFC 8461 §3.3 / §10.2) of a cached, unexpired policy looks
 * up the TXT record (so a new id is noticed) and then fetches the policy file even when the id
 * is unchanged. Same rules: a fetched policy replaces the entry; any failure leaves it as it
 * was (it still applies until it expires); the five-minute back-off after a failed fetch holds.
 */
import type { LRUCache } from 'lru-cache';
import { growingLru } from '../cache/growing-lru.js';
import type { Logger } from 'winston';
import type { PolicyCache, PolicyEntry } from '../cache/types.js';
import { checkStoredEntry } from '../cache/entry-check.js';
import { CachedPolicy } from '../cache/cached-policy.js';
import type { Clock } from '../clock.js';
import type { ZoneConfig } from '../config/types.js';
import { parsePolicyFile } from '../policy/policy-file.js';
import type { PolicyMode } from '../policy/types.js';
import { discover } from './discovery.js';
import { isLocalFault, LOCAL_FAULT_FETCH_CODE } from './local-fault.js';
import { SingleFlight } from './single-flight.js';
import type { Metrics } from '../metrics/types.js';
import type { Discovery, DnsPort, FetchResult, NoPolicyReason, PolicyFetcher, Resolution } from './types.js';

/** RFC 8461 §3.3: after a failed fetch, wait at least five minutes before trying again for the same id. */
export const FETCH_BACKOFF_MS = 5 * 60 * 1000;

/** Bound on the per-domain bookkeeping of fetch failures and discovery times (memory only). */
export const BOOKKEEPING_MAX_ENTRIES = 100_000;

export interface ResolverDeps {
  readonly cache: PolicyCache;
  readonly dns: DnsPort;
  readonly fetcher: PolicyFetcher;
  readonly clock: Clock;
  readonly log: Logger;
  /** Seconds during which a cached entry answers without any DNS query. */
  readonly cacheGraceSec: number;
  /** Seconds a domain without MTA-STS is remembered. 0 disables the negative cache. */
  readonly negativeCacheTtlSec: number;
  /** Maximum number of domains remembered without MTA-STS. */
  readonly negativeCacheSize: number;
  /** Fetch results and DNS errors are reported here (nothing when absent). */
  readonly metrics?: Metrics;
  /**
   * Called once per resolution that ended in a local fault (EMFILE, c-ares' ECONNREFUSED,
   * ELOCAL_FAULT, EINTERNAL, ...) with its code; for a metrics counter. Default: nothing.
   */
  readonly onLocalFault?: (code: string) => void;
}

interface NegativeMark {
  readonly reason: NoPolicyReason;
  readonly until: number;
}

interface FailureMark {
  readonly id: string;
  readonly at: number;
  readonly code: string;
}

/** Counters for tests, `query` and future metrics. */
export interface ResolverStats {
  txtLookups: number;
  fetches: number;
  fetchFailures: number;
  backoffSkips: number;
  cacheErrors: number;
  /** Resolutions answered as a temporary failure because of a local fault (see local-fault.ts). */
  localFaults: number;
  /** Invalid stored entries found (each counted once per domain and stored version). */
  invalidEntries: number;
}

/**
 * What a proactive refresh did. In every case but `refreshed` the cached entry is left as it was
 * and still applies until `expiresAt` (RFC 8461 §3.3).
 */
export type RefreshOutcome =
  /** The policy file was fetched and stored (`changed`: another id or another text than before). */
  | {
      readonly kind: 'refreshed';
      readonly domain: string;
      readonly id: string;
      readonly previousId: string;
      readonly mode: PolicyMode;
      readonly previousMode: PolicyMode;
      readonly changed: boolean;
      readonly expiresAt: number;
    }
  /**
   * Discovery or fetch failed: `stage` 'dns' (a DNS error, `code` from the DNS seam), 'txt' (no
   * usable TXT record, `code` EREFRESH_NO_RECORD, the reason in `detail`) or 'fetch' (`code`
   * EFETCH_* or EPOLICY_INVALID).
   */
  | {
      readonly kind: 'failed';
      readonly domain: string;
      readonly stage: 'dns' | 'txt' | 'fetch';
      readonly code: string;
      readonly detail: string;
      readonly previousMode: PolicyMode;
      readonly expiresAt: number;
    }
  /** A fetch for this domain and id failed less than five minutes ago: nothing was fetched. */
  | {
      readonly kind: 'backoff';
      readonly domain: string;
      readonly code: string;
      readonly previousMode: PolicyMode;
      readonly expiresAt: number;
    }
  /** Nothing unexpired is cached: there is nothing to keep alive (a lookup fetches it anew). */
  | { readonly kind: 'not-cached'; readonly domain: string }
  /** A programming error, caught (EINTERNAL). */
  | { readonly kind: 'error'; readonly domain: string; readonly code: 'EINTERNAL'; readonly detail: string };

export class Resolver {
  readonly stats: ResolverStats = {
    txtLookups: 0,
    fetches: 0,
    fetchFailures: 0,
    backoffSkips: 0,
    cacheErrors: 0,
    localFaults: 0,
    invalidEntries: 0,
  };
  private readonly flights = new SingleFlight<Resolution>();
  private readonly refreshes = new SingleFlight<RefreshOutcome>();
  private readonly negative: LRUCache<string, NegativeMark>;
  private readonly failures = growingLru<string, FailureMark>(BOOKKEEPING_MAX_ENTRIES);
  /**
   * Last time discovery ran for a domain whose cached entry it did not rewrite (a stale entry
   * kept), so that grace also covers those answers. Only such domains have a slot here.
   */
  private readonly discoveredAt = growingLru<string, number>(BOOKKEEPING_MAX_ENTRIES);
  private readonly log: Logger;
  /** Domains whose invalid stored entry was logged, with which version of it. */
  private readonly invalidLogged = growingLru<string, string>(BOOKKEEPING_MAX_ENTRIES);
  /** Domains whose expired cached entry was logged, with which version of it. */
  private readonly expiredLogged = growingLru<string, string>(BOOKKEEPING_MAX_ENTRIES);

  constructor(private readonly deps: ResolverDeps) {
    this.negative = growingLru<string, NegativeMark>(deps.negativeCacheSize);
    this.log = deps.log.child({ component: 'resolver' });
  }

  /**
   * Resolve the policy of `domain` (a lower-case A-label). Never rejects. Concurrent calls for
   * one domain share one resolution; the zone's timeout of the first caller bounds it.
   */
  resolve(domain: string, zone: ZoneConfig): Promise<Resolution> {
    return this.flights.run(domain, () =>
      this.resolveOnce(domain, zone)
        .catch((err: unknown): Resolution => {
          // Defensive: every expected failure is a value; this catches programming errors only.
          this.log.error('resolution failed unexpectedly', { domain, code: 'EINTERNAL', error: String(err) });
          return { kind: 'dns-error', domain, code: 'EINTERNAL', detail: String(err) };
        })
        .then((resolution) => this.noteLocalFault(resolution)),
    );
  }

  /** Count and log a resolution that ended in a local fault: it will be answered TEMP, never "no policy". */
  private noteLocalFault(resolution: Resolution): Resolution {
    if (resolution.kind !== 'dns-error' || !isLocalFault(resolution.code)) return resolution;
    this.stats.localFaults += 1;
    this.log.error('local fault, answering temporary failure', {
      domain: resolution.domain,
      code: resolution.code,
      reason: resolution.detail,
    });
    try {
      this.deps.onLocalFault?.(resolution.code);
    } catch {
      // A metrics hook must not change the answer.
    }
    return resolution;
  }

  /**
   * The warm path: the cached entry of `domain` when it answers without any DNS query right now
   * (step 1 of a resolution: unexpired and checked less than `cache_grace` ago), synchronously
   * and without allocating. Only entries this resolver made or checked (CachedPolicy) qualify;
   * anything else, and every other case, is for `resolve`.
   */
  freshEntry(domain: string): CachedPolicy | undefined {
    const entry = this.deps.cache.peek?.(domain);
    if (!(entry instanceof CachedPolicy)) return undefined;
    const now = this.deps.clock.now();
    if (entry.expiresAt <= now) return undefined;
    const graceMs = this.deps.cacheGraceSec * 1000;
    if (now - entry.checkedAt < graceMs) return entry;
    const discovered = this.discoveredAt.get(domain);
    return discovered !== undefined && now - discovered < graceMs ? entry : undefined;
  }

  /**
   * The warm path for a domain without MTA-STS: its negative-cache answer when step 2 of a
   * resolution would give it right now, synchronously. Only when the cache holds everything in
   * memory (`memoryHoldsAll`): with a persistent or shared backend a policy may be stored there
   * (by a refresh, another daemon) that a resolution would find first.
   */
  freshAbsence(domain: string): Resolution | undefined {
    const cache = this.deps.cache;
    if (cache.memoryHoldsAll !== true || cache.peek === undefined || cache.peek(domain) !== undefined) return undefined;
    const neg = this.negative.get(domain);
    if (neg === undefined || neg.until <= this.deps.clock.now()) return undefined;
    return { kind: 'no-policy', domain, reason: neg.reason, source: 'negative-cache' };
  }

  /** Number of resolutions under way (single-flight keys). */
  get inFlight(): number {
    return this.flights.size;
  }

  /**
   * Proactively refresh the cached policy of `domain`: fetch its policy file even when the TXT
   * id is unchanged (RFC 8461 §3.3). Never rejects. Concurrent refreshes of one domain share one;
   * the zone's timeout bounds it. Logs nothing: the caller decides whom to alert.
   */
  refresh(domain: string, zone: ZoneConfig): Promise<RefreshOutcome> {
    return this.refreshes.run(domain, () =>
      this.refreshOnce(domain, zone).catch((err: unknown): RefreshOutcome => ({
        kind: 'error',
        domain,
        code: 'EINTERNAL',
        detail: String(err),
      })),
    );
  }

  private async refreshOnce(domain: string, zone: ZoneConfig): Promise<RefreshOutcome> {
    const { clock } = this.deps;
    const started = clock.now();
    const deadline = started + zone.timeoutSec * 1000;
    const entry = await this.usableEntry(domain, started);
    if (entry === undefined) return { kind: 'not-cached', domain };
    const kept = { domain, previousMode: entry.policy.mode, expiresAt: entry.expiresAt } as const;

    const { found, now } = await this.discoverBy(domain, deadline);
    switch (found.kind) {
      case 'error':
        return { kind: 'failed', stage: 'dns', code: found.code, detail: found.message, ...kept };
      case 'none': {
        const problems = found.problems.map((p) => p.code).join(',');
        return {
          kind: 'failed',
          stage: 'txt',
          code: 'EREFRESH_NO_RECORD',
          detail: problems === '' ? found.reason : `${found.reason} ${problems}`,
          ...kept,
        };
      }
      case 'record':
        break;
      default: {
        const unreachable: never = found;
        return unreachable;
      }
    }

    const id = found.record.id;
    const failure = this.backoffFor(domain, id, now);
    if (failure !== undefined) return { kind: 'backoff', code: failure.code, ...kept };

    const outcome = await this.fetchAndStore(domain, id, deadline);
    if (outcome.kind === 'failure') {
      return { kind: 'failed', stage: 'fetch', code: outcome.code, detail: outcome.message, ...kept };
    }
    return {
      kind: 'refreshed',
      domain,
      id,
      previousId: entry.id,
      mode: outcome.entry.policy.mode,
      previousMode: entry.policy.mode,
      changed: entry.id !== id || entry.policyText !== outcome.entry.policyText,
      expiresAt: outcome.entry.expiresAt,
    };
  }

  private async resolveOnce(domain: string, zone: ZoneConfig): Promise<Resolution> {
    const { clock, cacheGraceSec } = this.deps;
    const started = clock.now();
    const deadline = started + zone.timeoutSec * 1000;
    const entry = await this.usableEntry(domain, started);

    if (entry !== undefined) {
      const lastCheck = Math.max(entry.checkedAt, this.discoveredAt.get(domain) ?? 0);
      if (started - lastCheck < cacheGraceSec * 1000) return cachedResolution(entry);
    } else {
      const neg = this.negative.get(domain);
      if (neg !== undefined) {
        if (neg.until > started) {
          return { kind: 'no-policy', domain, reason: neg.reason, source: 'negative-cache' };
        }
        this.negative.delete(domain);
      }
    }

    const { found, now } = await this.discoverBy(domain, deadline);
    /** The cached entry still applies although it was not rewritten (RFC 8461 §3.3 / §5). */
    const stale = (kept: PolicyEntry, reason: string): Resolution => {
      this.discoveredAt.set(domain, now);
      return fromEntry(kept, 'stale', reason);
    };

    switch (found.kind) {
      case 'error':
        if (entry !== undefined) return stale(entry, `dns-error ${found.code}`);
        return { kind: 'dns-error', domain, code: found.code, detail: found.message };
      case 'none':
        if (entry !== undefined) return stale(entry, `txt ${found.reason}`);
        this.remember(domain, found.reason, now);
        return {
          kind: 'no-policy',
          domain,
          reason: found.reason,
          source: 'lookup',
          ...(found.problems.length > 0 ? { detail: found.problems.map((p) => p.code).join(',') } : {}),
        };
      case 'record':
        break;
      default: {
        const unreachable: never = found;
        return unreachable;
      }
    }

    const id = found.record.id;
    if (entry !== undefined && entry.id === id) {
      const touched = entry.touched(now);
      this.discoveredAt.delete(domain);
      await this.store(touched);
      return fromEntry(touched, 'cache', 'id-unchanged');
    }

    const failure = this.backoffFor(domain, id, now);
    if (failure !== undefined) {
      if (entry !== undefined) return stale(entry, `fetch-backoff ${failure.code}`);
      return { kind: 'no-policy', domain, reason: 'fetch-backoff', source: 'lookup', detail: failure.code };
    }

    const outcome = await this.fetchAndStore(domain, id, deadline);
    if (outcome.kind === 'entry') {
      return fromEntry(outcome.entry, 'fetched', entry === undefined ? 'new' : entry.id === id ? 'refresh' : 'new-id');
    }

    if (outcome.code === LOCAL_FAULT_FETCH_CODE) {
      // Not the remote's fault: a cached policy still applies; without one, defer (never "no policy").
      if (entry !== undefined) return stale(entry, `fetch-failed ${outcome.code}`);
      return { kind: 'dns-error', domain, code: outcome.code, detail: outcome.message };
    }
    this.log.warn('policy fetch failed', {
      domain,
      id,
      code: outcome.code,
      cause: outcome.message,
      fallback: entry !== undefined ? 'cached policy' : 'no policy',
    });
    if (entry !== undefined) return stale(entry, `fetch-failed ${outcome.code}`);
    return { kind: 'no-policy', domain, reason: 'fetch-failed', source: 'lookup', detail: outcome.code };
  }

  /** The TXT lookup (RFC 8461 §3.1) within what is left of the deadline; records when it ran. */
  private async discoverBy(domain: string, deadline: number): Promise<{ found: Discovery; now: number }> {
    const { clock } = this.deps;
    this.stats.txtLookups += 1;
    const found = await discover(this.deps.dns, domain, Math.max(1, deadline - clock.now()));
    if (found.kind === 'error') this.deps.metrics?.dnsError(found.code);
    return { found, now: clock.now() };
  }

  /** The failed fetch that forbids fetching `domain` with `id` now (RFC 8461 §3.3), if any. */
  private backoffFor(domain: string, id: string, now: number): FailureMark | undefined {
    const failure = this.failures.get(domain);
    if (failure === undefined || failure.id !== id || now - failure.at >= FETCH_BACKOFF_MS) return undefined;
    this.stats.backoffSkips += 1;
    return failure;
  }

  /** Fetch and parse the policy; store it on success, remember the failure (for back-off) otherwise. */
  private async fetchAndStore(
    domain: string,
    id: string,
    deadline: number,
  ): Promise<{ kind: 'entry'; entry: CachedPolicy } | { kind: 'failure'; code: string; message: string }> {
    const { clock } = this.deps;
    this.stats.fetches += 1;
    const fetched = await this.deps.fetcher.fetch(domain, Math.max(1, deadline - clock.now()));
    const after = clock.now();
    const outcome = this.toEntry(domain, id, fetched, after);
    this.deps.metrics?.policyFetched(outcome.kind === 'entry' ? undefined : outcome.code);
    if (outcome.kind === 'entry') {
      this.failures.delete(domain);
      this.negative.delete(domain);
      this.discoveredAt.delete(domain);
      await this.store(outcome.entry);
    } else {
      this.stats.fetchFailures += 1;
      // A local fault says nothing about the remote: no five-minute back-off for it.
      if (outcome.code !== LOCAL_FAULT_FETCH_CODE) this.failures.set(domain, { id, at: after, code: outcome.code });
    }
    return outcome;
  }

  /** Parse a fetch result into a cache entry, or a coded failure. */
  private toEntry(
    domain: string,
    id: string,
    fetched: FetchResult,
    now: number,
  ): { kind: 'entry'; entry: CachedPolicy } | { kind: 'failure'; code: string; message: string } {
    if (fetched.kind === 'error') return { kind: 'failure', code: fetched.code, message: fetched.message };
    const parsed = parsePolicyFile(fetched.body);
    if (!parsed.ok) {
      return {
        kind: 'failure',
        code: 'EPOLICY_INVALID',
        message: parsed.problems.map((p) => `${p.code}${p.line !== undefined ? ` (line ${p.line})` : ''}: ${p.message}`).join('; '),
      };
    }
    return {
      kind: 'entry',
      entry: CachedPolicy.of({
        domain,
        id,
        policyText: fetched.body,
        fetchedAt: now,
        expiresAt: now + parsed.value.maxAge * 1000,
        checkedAt: now,
      }),
    };
  }

  /**
   * The cached entry if present and unexpired; a backend failure counts as a miss. An entry this
   * resolver made is trusted as it is; any other (read from a store) is checked first, and the
   * checked copy is handed back to the cache's memory so that the warm path can answer from it.
   */
  private async usableEntry(domain: string, now: number): Promise<CachedPolicy | undefined> {
    let stored: PolicyEntry | undefined;
    try {
      stored = await this.deps.cache.get(domain);
    } catch (err) {
      this.stats.cacheErrors += 1;
      this.log.warn('cache read failed', { domain, code: 'ECACHE_BACKEND', cause: (err as Error).message });
      return undefined;
    }
    if (stored === undefined) return undefined;
    let entry: CachedPolicy;
    if (stored instanceof CachedPolicy) {
      entry = stored;
    } else {
      const checked = checkStoredEntry(stored, now);
      if (!checked.ok) {
        this.noteInvalidEntry(stored, checked.problem);
        return undefined;
      }
      entry = CachedPolicy.of(checked.entry);
      this.deps.cache.hold?.(entry);
    }
    // RFC 8461 §3.2 max_age: the policy may be used until fetchedAt + max_age, not after.
    if (entry.expiresAt > now) return entry;
    this.noteExpired(entry);
    return undefined;
  }

  /**
   * Log a cached policy found expired (max_age passed without a successful refresh), once per
   * domain and stored version: from here on the domain is treated as having nothing cached.
   */
  private noteExpired(entry: PolicyEntry): void {
    const key = `${entry.id}\u0000${String(entry.expiresAt)}`;
    if (this.expiredLogged.get(entry.domain) === key) return;
    this.expiredLogged.set(entry.domain, key);
    this.log.info('cached policy expired', {
      domain: entry.domain,
      id: entry.id,
      expiredAt: new Date(entry.expiresAt).toISOString(),
      reason: 'max_age passed without a successful refresh',
    });
  }

  /** Log an invalid stored entry once per domain and stored version (not on every lookup). */
  private noteInvalidEntry(entry: PolicyEntry, problem: string): void {
    const key = `${entry.domain}\u0000${entry.id}\u0000${String(entry.fetchedAt)}\u0000${String(entry.expiresAt)}`;
    if (this.invalidLogged.get(entry.domain) === key) return;
    this.invalidLogged.set(entry.domain, key);
    this.stats.invalidEntries += 1;
    this.log.error('cached entry is invalid, treated as absent', {
      domain: entry.domain,
      code: 'ECACHE_ENTRY_INVALID',
      backend: this.deps.cache.kind,
      reason: problem,
    });
  }

  private async store(entry: PolicyEntry): Promise<void> {
    try {
      await this.deps.cache.set(entry);
    } catch (err) {
      this.stats.cacheErrors += 1;
      this.log.warn('cache write failed', { domain: entry.domain, code: 'ECACHE_BACKEND', cause: (err as Error).message });
    }
  }

  private remember(domain: string, reason: NoPolicyReason, now: number): void {
    const ttl = this.deps.negativeCacheTtlSec * 1000;
    if (ttl > 0) this.negative.set(domain, { reason, until: now + ttl });
  }
}

/** What a fresh cached entry resolves to (the resolver's step 1, the warm path's answer). */
export function cachedResolution(entry: PolicyEntry): Resolution {
  return fromEntry(entry, 'cache', 'grace');
}

function fromEntry(entry: PolicyEntry, source: 'cache' | 'fetched' | 'stale', reason: string): Resolution {
  return {
    kind: 'policy',
    domain: entry.domain,
    id: entry.id,
    policy: entry.policy,
    source,
    fetchedAt: entry.fetchedAt,
    expiresAt: entry.expiresAt,
    reason,
  };
}
