/**
 * PolicyCache in Redis (ioredis), so that a fleet of daemons shares what any of them learned
 * and policies survive a daemon's restart (RFC 8461 §10.2: an attacker who blocks a policy
 * host must not be able to downgrade a domain the senders already knew).
 *
 * One string key per domain, `<prefix>policy:<domain>`, holding the entry JSON verbatim, with
 * a TTL that outlives the entry's own expiry by a margin (freshness stays the resolver's
 * business; Redis only forgets what can never be used again). Leases for proactive refresh
 * live at `<prefix>lease:<name>`.
 *
 * A dead Redis must never hold a lookup: commands fail at once while disconnected (no offline
 * queue, no per-request retries) and time out after `commandTimeoutMs` when Redis hangs; the
 * resilient layer (src/cache/resilient.ts) then answers from memory and probes with back-off,
 * while ioredis reconnects in the background.
 *
 * Loaded late by adapters/cache/registry.ts, so a user of another backend never loads ioredis.
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { PolicyCache, PolicyEntry } from '../../src/cache/types.js';
import { systemClock, type Clock } from '../../src/clock.js';
import type { HostPort, RedisConnection } from '../../src/config/types.js';
import { decodeEntryText, encodeEntry } from './entry-json.js';

/** Batch size of `entries()` when the caller gives none (also the SCAN COUNT hint). */
export const DEFAULT_BATCH_SIZE = 500;
/**
 * How long a key outlives its entry's `expiresAt`. An expired policy is never applied again
 * (RFC 8461 §3.2 max_age), but a week of history keeps it listable after an outage; the same
 * as the SQLite backend's purge delay.
 */
export const EXPIRED_RETENTION_MS = 7 * 86_400_000;
/**
 * RFC 8461 §3.2: max_age is at most 31557600 s (a year). A TTL beyond that comes from a wrong
 * clock somewhere; it is capped so that such a key still goes away some day.
 */
export const MAX_POLICY_LIFETIME_MS = 31_557_600_000;
/** ioredis reconnects after `attempt × this`, up to RECONNECT_MAX_MS: a returning Redis is seen within a second. */
export const RECONNECT_STEP_MS = 100;
export const RECONNECT_MAX_MS = 1_000;
/** `CLIENT SETNAME`, so that `CLIENT LIST` on a shared Redis shows who is connected. */
export const CONNECTION_NAME = 'mta-sts-bridge';

export interface RedisCacheOptions {
  readonly connection: RedisConnection;
  /** Prepended to every key. */
  readonly prefix: string;
  readonly commandTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly clock?: Clock;
}

/** What to construct: a client for one server (URL or Sentinel) or for a cluster. */
export type RedisClientPlan =
  | { readonly kind: 'redis'; readonly options: RedisOptions }
  | { readonly kind: 'cluster'; readonly nodes: readonly HostPort[]; readonly options: ClusterOptions };

/** The key of `domain`'s entry. Pure. */
export function policyKey(prefix: string, domain: string): string {
  return `${prefix}policy:${domain}`;
}

/** The key of lease `name`. Pure. */
export function leaseKey(prefix: string, name: string): string {
  return `${prefix}lease:${name}`;
}

/** The SCAN pattern matching every policy key under `prefix` (glob characters in it escaped). Pure. */
export function policyPattern(prefix: string): string {
  return `${policyKey(prefix, '').replace(/[*?[\]\\]/g, '\\$&')}*`;
}

/** Milliseconds a stored entry lives: until its expiry (capped) plus the retention margin. Pure. */
export function entryTtlMs(entry: PolicyEntry, now: number): number {
  const left = Math.min(Math.max(entry.expiresAt - now, 0), MAX_POLICY_LIFETIME_MS);
  return Math.ceil(left) + EXPIRED_RETENTION_MS;
}

/** The ioredis construction for a validated connection config. Pure (no client is made). */
export function redisClientPlan(options: Pick<RedisCacheOptions, 'connection' | 'commandTimeoutMs' | 'connectTimeoutMs'>): RedisClientPlan {
  const failFast: RedisOptions = {
    commandTimeout: options.commandTimeoutMs,
    connectTimeout: options.connectTimeoutMs,
    // A command never waits for a reconnect: it fails, and the memory layer answers.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    lazyConnect: true,
    connectionName: CONNECTION_NAME,
    retryStrategy: (attempt: number) => Math.min(attempt * RECONNECT_STEP_MS, RECONNECT_MAX_MS),
  };
  const c = options.connection;
  switch (c.kind) {
    case 'url':
      return { kind: 'redis', options: { ...failFast, ...urlOptions(c.url) } };
    case 'sentinel':
      return {
        kind: 'redis',
        options: {
          ...failFast,
          sentinels: c.sentinels.map((s) => ({ host: s.host, port: s.port })),
          name: c.masterName,
          db: c.db,
          ...(c.username !== undefined ? { username: c.username } : {}),
          ...(c.password !== undefined ? { password: c.password } : {}),
          ...(c.sentinelPassword !== undefined ? { sentinelPassword: c.sentinelPassword } : {}),
          ...(c.tls ? { tls: {}, sentinelTLS: {}, enableTLSForSentinelMode: true } : {}),
          sentinelRetryStrategy: (attempt: number) => Math.min(attempt * RECONNECT_STEP_MS, RECONNECT_MAX_MS),
          // A failover is not an outage. The demoted master refuses writes (READONLY) and then
          // drops its clients; the client asks the sentinels for the new master. A command caught
          // in that switch waits for the reconnect and is sent once more, still bounded by
          // `commandTimeout` (socket_timeout), instead of failing into a memory miss.
          // The timeout runs from the first send and is not restarted by the resend. What this
          // allows: a command whose reply was lost with the old master is sent again (SET PX and
          // DEL are idempotent; a lease's SET NX sent again answers "taken", so that holder skips
          // one refresh round, nothing worse); a command that timed out while queued may still
          // run after the reconnect (the queue is flushed with an error every second reconnect
          // attempt, so it stays bounded during an outage). URL and cluster modes keep failFast.
          enableOfflineQueue: true,
          maxRetriesPerRequest: 1,
          reconnectOnError: (err: Error) => (err.message.startsWith('READONLY') ? 2 : false),
        },
      };
    case 'cluster': {
      const {
        lazyConnect: _lazy,
        enableOfflineQueue: _queue,
        maxRetriesPerRequest: _retries,
        retryStrategy: _retry,
        ...perNode
      } = failFast;
      return {
        kind: 'cluster',
        nodes: c.nodes,
        options: {
          lazyConnect: true,
          enableOfflineQueue: false,
          maxRedirections: 16,
          clusterRetryStrategy: (attempt: number) => Math.min(attempt * RECONNECT_STEP_MS, RECONNECT_MAX_MS),
          redisOptions: {
            ...perNode,
            maxRetriesPerRequest: 0,
            ...(c.username !== undefined ? { username: c.username } : {}),
            ...(c.password !== undefined ? { password: c.password } : {}),
            ...(c.tls ? { tls: {} } : {}),
          },
        },
      };
    }
    default: {
      const _never: never = c;
      throw new Error(`unknown redis connection ${String(_never)}`);
    }
  }
}

/** `redis://[user:pw@]host[:port][/db]`, `rediss://…` (TLS, SNI = host), `unix:///path[?db=N]` as ioredis options. Pure. */
export function urlOptions(text: string): RedisOptions {
  const url = new URL(text);
  const auth: RedisOptions = {
    ...(url.username !== '' ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password !== '' ? { password: decodeURIComponent(url.password) } : {}),
  };
  if (url.protocol === 'unix:') {
    const db = url.searchParams.get('db');
    return { ...auth, path: decodeURIComponent(url.pathname), db: db === null ? 0 : Number(db) };
  }
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const db = url.pathname.replace(/^\//, '');
  return {
    ...auth,
    host,
    port: url.port === '' ? 6379 : Number(url.port),
    db: db === '' ? 0 : Number(db),
    ...(url.protocol === 'rediss:' ? { tls: { servername: host } } : {}),
  };
}

type Client = Redis | Cluster;

export class RedisPolicyCache implements PolicyCache {
  readonly kind = 'redis';
  private readonly clock: Clock;
  private client: Client | undefined;
  /** The client's last error event (ioredis reports connection trouble there, not per command). */
  lastError: Error | undefined;

  constructor(private readonly options: RedisCacheOptions) {
    this.clock = options.clock ?? systemClock;
  }

  /** Every key of this cache starts with it. */
  get prefix(): string {
    return this.options.prefix;
  }

  /** Connects and checks the server answers (PING). Throws naming the cause when it cannot. */
  async open(): Promise<void> {
    if (this.client !== undefined) return;
    const plan = redisClientPlan(this.options);
    const client: Client = plan.kind === 'cluster' ? new Cluster([...plan.nodes], plan.options) : new Redis(plan.options);
    // Without a listener ioredis prints every connection error to stderr; the resilient layer logs state changes instead.
    client.on('error', (err: Error) => {
      this.lastError = err;
    });
    try {
      await client.connect();
      await client.ping();
    } catch (err) {
      client.disconnect();
      const cause = this.lastError ?? (err as Error);
      throw new Error(cause.message, { cause });
    }
    this.client = client;
  }

  async get(domain: string): Promise<PolicyEntry | undefined> {
    const text = await this.redis().get(policyKey(this.options.prefix, domain));
    return text === null ? undefined : decodeEntryText(domain, text);
  }

  async set(entry: PolicyEntry): Promise<void> {
    const ttl = entryTtlMs(entry, this.clock.now());
    await this.redis().set(policyKey(this.options.prefix, entry.domain), encodeEntry(entry), 'PX', ttl);
  }

  async delete(domain: string): Promise<boolean> {
    return (await this.redis().del(policyKey(this.options.prefix, domain))) > 0;
  }

  /**
   * Every entry, by SCAN over the policy keys (on each master of a cluster), then one pipelined
   * GET per key of a batch. SCAN may return a key twice: those are dropped. Keys written during
   * the iteration may or may not be seen (SCAN's guarantee).
   */
  async *entries(batchSize = DEFAULT_BATCH_SIZE): AsyncIterable<readonly PolicyEntry[]> {
    const size = Math.max(1, Math.floor(batchSize));
    const client = this.redis();
    const nodes: Redis[] = client instanceof Cluster ? client.nodes('master') : [client];
    const start = policyKey(this.options.prefix, '').length;
    const seen = new Set<string>();
    let batch: PolicyEntry[] = [];
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', policyPattern(this.options.prefix), 'COUNT', size);
        cursor = next;
        const fresh = keys.filter((k) => !seen.has(k));
        for (const k of fresh) seen.add(k);
        if (fresh.length === 0) continue;
        // One key per GET: keys of different cluster slots may not share a multi-key command.
        const replies = (await node.pipeline(fresh.map((k) => ['get', k])).exec()) ?? [];
        for (let i = 0; i < fresh.length; i += 1) {
          const [err, text] = replies[i] ?? [null, null];
          if (err !== null) throw err;
          if (typeof text !== 'string') continue; // expired or deleted since the SCAN
          const entry = decodeEntryText((fresh[i] as string).slice(start), text);
          if (entry === undefined) continue;
          batch.push(entry);
          if (batch.length === size) {
            yield batch;
            batch = [];
          }
        }
      } while (cursor !== '0');
    }
    if (batch.length > 0) yield batch;
  }

  /**
   * Take lease `name` for `ttlMs` unless someone (this owner included) holds an unexpired one:
   * `SET key owner NX PX ttl`, atomic on the server, so one daemon of a fleet wins.
   */
  async acquireLease(name: string, ttlMs: number, owner: string): Promise<boolean> {
    const reply = await this.redis().set(leaseKey(this.options.prefix, name), owner, 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX');
    return reply === 'OK';
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client === undefined) return;
    if (client.status !== 'ready') {
      client.disconnect();
      return;
    }
    try {
      await client.quit();
    } catch {
      client.disconnect();
    }
  }

  private redis(): Client {
    if (this.client === undefined) throw new Error('redis cache is not open');
    return this.client;
  }
}
