/**
 * Puts an in-process LRU layer in front of any persistent backend (SQLite, Redis, PostgreSQL) so
 * that a failing backend never fails a lookup. Reads hit memory first, then the backend; writes
 * go to both. When the backend fails, answers come from memory, the failure is logged once
 * (healthy → failing, with its cause), failures are counted, the backend is probed again with
 * exponential back-off, and entries written meanwhile are written back once it recovers.
 * Generic: it knows nothing about SQL or Redis, only the PolicyCache port.
 */
import { LRUCache } from 'lru-cache';
import type { Logger } from 'winston';
import type { Clock } from '../clock.js';
import { LocalLeases } from './local-leases.js';
import type { PolicyCache, PolicyEntry } from './types.js';

/** First retry after a failure; doubled on every failed probe. */
export const RETRY_INITIAL_MS = 1_000;
/** Upper bound of the retry interval: a recovered backend is noticed within a minute. */
export const RETRY_MAX_MS = 60_000;
/** A domain under RFC 2606's reserved `.invalid` TLD: a probe read that can never collide with a policy. */
export const PROBE_DOMAIN = 'health-probe.mta-sts-bridge.invalid';
/** Batch size of `entries()` served from memory when the caller gives none (the memory backend's). */
export const MEMORY_BATCH_SIZE = 500;

export interface ResilientOptions {
  /** Entries kept in memory (also the bound of writes remembered while the backend is down). */
  readonly memorySize: number;
  readonly log: Logger;
  readonly retryInitialMs?: number;
  readonly retryMaxMs?: number;
  /** Times the leases granted locally while the backend fails. */
  readonly clock?: Clock;
}

/** A snapshot for logs, `cache` commands and tests. */
export interface ResilientStats {
  readonly healthy: boolean;
  /** Backend operations that failed since the cache was opened. */
  readonly failures: number;
  /** Writes (and deletes) waiting to be replayed on the backend. */
  readonly pending: number;
  /** Entries written back after recoveries. */
  readonly writtenBack: number;
}

/** A write the backend missed: the entry to store, or `null` for a delete. */
type Pending = PolicyEntry | null;

export class ResilientPolicyCache implements PolicyCache {
  readonly kind: string;
  private readonly memory: LRUCache<string, PolicyEntry>;
  private readonly pending = new Map<string, Pending>();
  private readonly localLeases: LocalLeases;
  private readonly log: Logger;
  private healthy = true;
  private failures = 0;
  private writtenBack = 0;
  private retryMs: number;
  private retryTimer: NodeJS.Timeout | undefined;
  private probing: Promise<boolean> | undefined;
  private closed = false;

  constructor(
    /** The wrapped backend (exposed for `cache` commands and tests). */
    readonly backend: PolicyCache,
    private readonly options: ResilientOptions,
  ) {
    this.kind = backend.kind;
    this.memory = new LRUCache<string, PolicyEntry>({ max: options.memorySize });
    this.log = options.log.child({ component: 'cache', backend: backend.kind });
    this.retryMs = options.retryInitialMs ?? RETRY_INITIAL_MS;
    this.localLeases = new LocalLeases(options.clock);
  }

  /** Opening is not made resilient: a backend that cannot be opened must stop the start (ECACHE_OPEN). */
  async open(): Promise<void> {
    this.closed = false;
    await this.backend.open();
  }

  async get(domain: string): Promise<PolicyEntry | undefined> {
    const hit = this.memory.get(domain);
    if (hit !== undefined || !this.healthy) return hit;
    try {
      const entry = await this.backend.get(domain);
      if (entry !== undefined) this.memory.set(domain, entry);
      return entry;
    } catch (err) {
      this.failed(err, 'get');
      return undefined;
    }
  }

  async set(entry: PolicyEntry): Promise<void> {
    this.memory.set(entry.domain, entry);
    if (!this.healthy) {
      this.remember(entry.domain, entry);
      return;
    }
    try {
      await this.backend.set(entry);
    } catch (err) {
      this.remember(entry.domain, entry);
      this.failed(err, 'set');
    }
  }

  peek(domain: string): PolicyEntry | undefined {
    return this.memory.get(domain);
  }

  hold(entry: PolicyEntry): void {
    // Only what memory already has a slot for: a checked copy replaces the unchecked one.
    if (this.memory.has(entry.domain)) this.memory.set(entry.domain, entry);
  }

  async delete(domain: string): Promise<boolean> {
    const inMemory = this.memory.delete(domain);
    if (!this.healthy) {
      this.remember(domain, null);
      return inMemory;
    }
    try {
      return (await this.backend.delete(domain)) || inMemory;
    } catch (err) {
      this.remember(domain, null);
      this.failed(err, 'delete');
      return inMemory;
    }
  }

  /** The backend's entries while it works; memory's (not yet yielded ones) when it fails. */
  async *entries(batchSize?: number): AsyncIterable<readonly PolicyEntry[]> {
    const seen = new Set<string>();
    if (this.healthy) {
      try {
        for await (const batch of this.backend.entries(batchSize)) {
          // Writes the backend missed win over what it holds.
          const out = batch.filter((e) => !this.pending.has(e.domain));
          for (const e of out) seen.add(e.domain);
          if (out.length > 0) yield out;
        }
        return;
      } catch (err) {
        this.failed(err, 'entries');
      }
    }
    const rest = [...this.memory.values()].filter((e) => !seen.has(e.domain));
    const size = Math.max(1, batchSize ?? MEMORY_BATCH_SIZE);
    for (let i = 0; i < rest.length; i += size) yield rest.slice(i, i + size);
  }

  /**
   * The backend's lease while it works. While it fails (or when it has no leases) the lease is
   * granted from a table in this process. A lease only saves duplicate work across a fleet: two
   * members refreshing one domain cost one extra fetch, and both store a valid policy. Refusing
   * instead would stop every refresh for the whole outage and let cached policies run out, the
   * very downgrade proactive refresh exists to prevent (RFC 8461 §10.2); the local table still
   * keeps this process from doing the same work twice. Local grants are not written back.
   */
  async acquireLease(name: string, ttlMs: number, owner: string): Promise<boolean> {
    if (this.backend.acquireLease !== undefined && this.healthy) {
      try {
        return await this.backend.acquireLease(name, ttlMs, owner);
      } catch (err) {
        this.failed(err, 'acquireLease');
      }
    }
    return this.localLeases.acquire(name, ttlMs, owner);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (!this.healthy && this.pending.size > 0) {
      // One last chance to keep what was learned during the outage.
      await this.probe();
      if (this.pending.size > 0) {
        this.log.warn('cache backend still failing at close: recent policies not persisted', {
          code: 'ECACHE_BACKEND',
          pending: this.pending.size,
        });
      }
    }
    this.memory.clear();
    await this.backend.close();
  }

  memoryEntryCount(): number {
    return this.memory.size;
  }

  stats(): ResilientStats {
    return { healthy: this.healthy, failures: this.failures, pending: this.pending.size, writtenBack: this.writtenBack };
  }

  /**
   * Try the backend now: replay the missed writes (or read a probe key when there are none).
   * Resolves true when the backend works again. The back-off timer calls this; tests may too.
   */
  probe(): Promise<boolean> {
    this.probing ??= this.runProbe().finally(() => {
      this.probing = undefined;
    });
    return this.probing;
  }

  private async runProbe(): Promise<boolean> {
    try {
      if (this.pending.size === 0) await this.backend.get(PROBE_DOMAIN);
      let replayed = 0;
      // Until none is left: writes made while a replay awaits are replayed too.
      for (let next = this.pending.entries().next(); next.done !== true; next = this.pending.entries().next()) {
        const [domain, write] = next.value;
        if (write === null) {
          await this.backend.delete(domain);
        } else {
          // Another process sharing the backend may have stored something newer meanwhile.
          const stored = await this.backend.get(domain);
          if (stored === undefined || stored.checkedAt <= write.checkedAt) await this.backend.set(write);
        }
        // Only forget it if nothing newer was written while we awaited.
        if (this.pending.get(domain) === write) this.pending.delete(domain);
        replayed += 1;
      }
      this.writtenBack += replayed;
      this.recovered(replayed);
      return true;
    } catch (err) {
      this.failures += 1;
      this.log.debug('cache backend probe failed', { code: 'ECACHE_BACKEND', cause: errorText(err), retryMs: this.retryMs });
      this.retryMs = Math.min(this.retryMs * 2, this.options.retryMaxMs ?? RETRY_MAX_MS);
      this.scheduleProbe();
      return false;
    }
  }

  private failed(err: unknown, operation: string): void {
    this.failures += 1;
    if (!this.healthy) {
      this.log.debug('cache backend operation failed', { operation, code: 'ECACHE_BACKEND', cause: errorText(err) });
      return;
    }
    this.healthy = false;
    this.log.warn('cache backend failing: serving from memory', {
      operation,
      code: 'ECACHE_BACKEND',
      cause: errorText(err),
      retryMs: this.retryMs,
    });
    this.scheduleProbe();
  }

  private recovered(replayed: number): void {
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.retryMs = this.options.retryInitialMs ?? RETRY_INITIAL_MS;
    if (this.healthy) return;
    this.healthy = true;
    this.log.info('cache backend recovered', { failures: this.failures, writtenBack: replayed });
  }

  private scheduleProbe(): void {
    if (this.closed || this.retryTimer !== undefined) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.probe();
    }, this.retryMs);
    this.retryTimer.unref();
  }

  /** Remember a missed write; bounded like the memory layer, the oldest forgotten first. */
  private remember(domain: string, write: Pending): void {
    this.pending.delete(domain);
    this.pending.set(domain, write);
    if (this.pending.size > this.options.memorySize) {
      const oldest = this.pending.keys().next();
      if (oldest.done !== true) this.pending.delete(oldest.value);
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
