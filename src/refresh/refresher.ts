/**
 * Proactive refresh of cached policies (RFC 8461 §3.3: senders SHOULD refresh cached policies
 * before they expire; §10.2: this is what keeps an attacker who blocks policy discovery from
 * downgrading a domain whose policy was known). The Python tool's `proactive_policy_fetching`.
 *
 * Every run walks the cache (`entries()` in batches) and refreshes the entries that are due
 * (src/refresh/schedule.ts) through the resolver, which alone decides what is stored. At most
 * `concurrency_limit` refreshes run at once. A fleet sharing a backend refreshes each domain
 * once per window: a refresh first takes the lease `refresh:<domain>`; without it, the domain
 * is someone else's this time. A failed refresh of a policy other than `none` is a warning
 * (the RFC's "alert the operator"); nothing that goes wrong ends the refresher.
 */
import { hostname } from 'node:os';
import type { Logger } from 'winston';
import type { PolicyCache, PolicyEntry } from '../cache/types.js';
import type { Clock } from '../clock.js';
import type { ZoneConfig } from '../config/types.js';
import type { RefreshOutcome } from '../resolver/resolver.js';
import type { Metrics } from '../metrics/types.js';
import { TaskPool } from './pool.js';
import { dueness, firstRunDelay, leaseTtl, nextRunDelay, type RefreshTiming } from './schedule.js';
import { realSleeper, type Sleeper } from './timers.js';

/** Entries read from the cache at a time (the Python tool's `DOMAIN_QUEUE_LIMIT`). */
export const SCAN_BATCH_SIZE = 1_000;
/** Prefix of the per-domain lease names, so that other users of leases cannot collide. */
export const LEASE_PREFIX = 'refresh:';

/** What the refresher needs of the resolver. */
export interface RefreshTarget {
  refresh(domain: string, zone: ZoneConfig): Promise<RefreshOutcome>;
}

export interface RefresherOptions {
  /** Seconds between the starts of two runs, at most (`interval`). */
  readonly intervalSec: number;
  /** Refreshes running at once (`concurrency_limit`). */
  readonly concurrencyLimit: number;
  /** `grace_ratio`: entries fetched less than interval / graceRatio ago are not due. */
  readonly graceRatio: number;
  /** `jitter`: fraction of the interval by which a run may start early, at random. */
  readonly jitter: number;
  /** Zone whose timeout bounds each refresh (the default zone). */
  readonly zone: ZoneConfig;
  /** Lease owner; unique per process by default (host, pid, random). */
  readonly owner?: string;
  readonly batchSize?: number;
}

export interface RefresherDeps {
  readonly cache: PolicyCache;
  readonly target: RefreshTarget;
  readonly clock: Clock;
  readonly log: Logger;
  readonly sleeper?: Sleeper;
  /** Uniform in [0, 1); Math.random by default. */
  readonly random?: () => number;
  /** Every refresh outcome is reported here (nothing when absent). */
  readonly metrics?: Metrics | undefined;
}

/** Counts of one run, logged at its end and kept for tests and `lastRun`. */
export interface RunReport {
  readonly startedAt: number;
  durationMs: number;
  /** Entries looked at. */
  scanned: number;
  /** Entries due when scanned. */
  due: number;
  /** Due, but another member of the fleet holds the lease. */
  leased: number;
  /** Due when scanned, but not any more when re-read (refreshed meanwhile), or gone. */
  skipped: number;
  /** Refreshed: fetched and stored. */
  refreshed: number;
  /** Of those, with another id or text than before. */
  changed: number;
  /** Refreshes that failed or were held back by the fetch back-off: the cached policy still applies. */
  failed: number;
  /** Exceptions caught (EREFRESH_DOMAIN, EREFRESH_SCAN, EINTERNAL). */
  errors: number;
  /** Most refreshes seen running at once. */
  peakConcurrency: number;
  /** The run was cut short by stop(). */
  aborted: boolean;
}

export class Refresher {
  readonly owner: string;
  /** Completed runs. */
  runs = 0;
  lastRun: RunReport | undefined;
  private readonly timing: RefreshTiming;
  private readonly log: Logger;
  private readonly sleeper: Sleeper;
  private readonly random: () => number;
  private controller: AbortController | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly deps: RefresherDeps,
    private readonly options: RefresherOptions,
  ) {
    this.timing = { intervalMs: options.intervalSec * 1000, graceRatio: options.graceRatio, jitter: options.jitter };
    this.owner = options.owner ?? `${safeHostname()}:${process.pid}:${ownerSuffix()}`;
    this.log = deps.log.child({ component: 'refresher' });
    this.sleeper = deps.sleeper ?? realSleeper;
    this.random = deps.random ?? Math.random;
  }

  /** Start the periodic runs (idempotent). */
  start(): void {
    if (this.loop !== undefined) return;
    const controller = new AbortController();
    this.controller = controller;
    this.log.info('proactive refresh started', {
      intervalSec: this.options.intervalSec,
      concurrency: this.options.concurrencyLimit,
      graceRatio: this.options.graceRatio,
      jitter: this.options.jitter,
      owner: this.owner,
    });
    this.loop = this.periodically(controller.signal);
  }

  /**
   * Stop: the pause between runs and every wait for a free slot end at once, no new refresh
   * starts; resolves when the refreshes already under way (each bounded by the zone timeout)
   * have finished, since they write to the cache, which closes after this.
   */
  async stop(): Promise<void> {
    const loop = this.loop;
    if (loop === undefined) return;
    this.controller?.abort();
    await loop;
    this.loop = undefined;
    this.controller = undefined;
  }

  /** One run over the whole cache. Never rejects; `signal` cuts it short. */
  async runOnce(signal: AbortSignal = new AbortController().signal): Promise<RunReport> {
    const { cache, clock } = this.deps;
    const report: RunReport = {
      startedAt: clock.now(),
      durationMs: 0,
      scanned: 0,
      due: 0,
      leased: 0,
      skipped: 0,
      refreshed: 0,
      changed: 0,
      failed: 0,
      errors: 0,
      peakConcurrency: 0,
      aborted: false,
    };
    const pool = new TaskPool(Math.max(1, this.options.concurrencyLimit));
    try {
      scan: for await (const batch of cache.entries(this.options.batchSize ?? SCAN_BATCH_SIZE)) {
        for (const entry of batch) {
          if (signal.aborted) break scan;
          report.scanned += 1;
          if (!dueness(entry, clock.now(), this.timing).due) continue;
          report.due += 1;
          if (!(await pool.slot(signal))) break scan;
          pool.run(() => this.refreshOne(entry, report));
        }
      }
    } catch (err) {
      report.errors += 1;
      this.log.warn('proactive refresh: reading the cache failed; the run is cut short', {
        code: 'EREFRESH_SCAN',
        cause: errorText(err),
      });
    }
    await pool.drain();
    report.aborted = signal.aborted;
    report.peakConcurrency = pool.peak;
    report.durationMs = clock.now() - report.startedAt;
    this.runs += 1;
    this.lastRun = report;
    this.log.info('proactive refresh run finished', { ...report, startedAt: new Date(report.startedAt).toISOString() });
    return report;
  }

  private async periodically(signal: AbortSignal): Promise<void> {
    let delay = firstRunDelay(this.timing, this.random());
    while (await this.sleeper.sleep(delay, signal)) {
      const started = this.deps.clock.now();
      try {
        await this.runOnce(signal);
      } catch (err) {
        // runOnce catches everything; this guards the loop against a logger that throws.
        this.log.error('proactive refresh run failed', { code: 'EINTERNAL', cause: errorText(err) });
      }
      if (signal.aborted) break;
      delay = nextRunDelay(this.timing, started, this.deps.clock.now(), this.random());
      this.log.debug('next proactive refresh run', { inMs: delay });
    }
  }

  /** Lease, re-read, refresh, log. Never rejects. */
  private async refreshOne(scanned: PolicyEntry, report: RunReport): Promise<void> {
    const { cache, clock, target } = this.deps;
    const domain = scanned.domain;
    try {
      if (cache.acquireLease !== undefined) {
        const mine = await cache.acquireLease(`${LEASE_PREFIX}${domain}`, leaseTtl(this.timing), this.owner);
        if (!mine) {
          report.leased += 1;
          this.log.debug('refresh skipped: another member of the fleet holds the lease', { domain });
          return;
        }
      }
      // The batch may be minutes old: another member may have refreshed it since.
      const current = await cache.get(domain);
      if (current === undefined || !dueness(current, clock.now(), this.timing).due) {
        report.skipped += 1;
        return;
      }
      this.record(await target.refresh(domain, this.options.zone), report);
    } catch (err) {
      report.errors += 1;
      this.log.error('refresh of one domain failed unexpectedly; the run goes on', {
        domain,
        code: 'EREFRESH_DOMAIN',
        cause: errorText(err),
      });
    }
  }

  private record(outcome: RefreshOutcome, report: RunReport): void {
    this.deps.metrics?.refreshed(outcome.kind, 'code' in outcome ? outcome.code : undefined);
    switch (outcome.kind) {
      case 'refreshed':
        report.refreshed += 1;
        if (outcome.changed) {
          report.changed += 1;
          this.log.info('policy refreshed: it changed', {
            domain: outcome.domain,
            id: outcome.id,
            previousId: outcome.previousId,
            mode: outcome.mode,
            previousMode: outcome.previousMode,
          });
        } else {
          this.log.debug('policy refreshed: unchanged', { domain: outcome.domain, id: outcome.id });
        }
        return;
      case 'failed': {
        report.failed += 1;
        const fields = {
          domain: outcome.domain,
          code: outcome.code,
          stage: outcome.stage,
          cause: outcome.detail,
          mode: outcome.previousMode,
          expiresAt: new Date(outcome.expiresAt).toISOString(),
        };
        // RFC 8461 §10.2: alert the operator, unless the cached policy is `none` (nothing to lose).
        if (outcome.previousMode === 'none') this.log.debug('policy refresh failed (cached mode none)', fields);
        else this.log.warn('policy refresh failed: the cached policy applies until it expires', fields);
        return;
      }
      case 'backoff':
        report.failed += 1;
        this.log.debug('policy refresh held back: a fetch failed less than five minutes ago', {
          domain: outcome.domain,
          code: outcome.code,
        });
        return;
      case 'not-cached':
        report.skipped += 1;
        return;
      case 'error':
        report.errors += 1;
        this.log.error('policy refresh failed unexpectedly', { domain: outcome.domain, code: outcome.code, cause: outcome.detail });
        return;
      default: {
        const _never: never = outcome;
        return _never;
      }
    }
  }
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}

/**
 * Eight hex digits telling this process from an earlier one with the same host and pid (a lease
 * of a crashed daemon). Uniqueness, not secrecy: anyone who can write leases can write policies,
 * so Math.random serves, and node:crypto is not loaded at start for it.
 */
function ownerSuffix(): string {
  return Math.floor(Math.random() * 0x1_0000_0000)
    .toString(16)
    .padStart(8, '0');
}

function safeHostname(): string {
  try {
    return hostname();
  } catch {
    return 'unknown-host';
  }
}
