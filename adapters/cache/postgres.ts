/**
 * PolicyCache in one PostgreSQL table (node-postgres), so that a fleet of daemons shares what
 * any of them learned and policies survive restarts (RFC 8461 §10.2).
 *
 * The table is created when missing. It holds the entry JSON verbatim as text (jsonb would
 * reorder its keys; the contract wants the same bytes back) and `expires_at`, which only the
 * purge reads: freshness stays the resolver's business. A second table holds the leases of
 * proactive refresh. Every connection and statement is bounded by the configured timeout, so a
 * dead or hung server costs a lookup at most that long before the resilient layer
 * (src/cache/resilient.ts) answers from memory.
 *
 * Loaded late by adapters/cache/registry.ts, so a user of another backend never loads pg.
 */
import pg from 'pg';
import type { PolicyCache, PolicyEntry } from '../../src/cache/types.js';
import { systemClock, type Clock } from '../../src/clock.js';
import { decodeEntryText, encodeEntry } from './entry-json.js';

/** Our table; the Python resolver's is `sts_policy_cache`, so the two never collide in one database. */
export const TABLE = 'mta_sts_policy';
/** Leases of proactive refresh (one row per lease name). */
export const LEASE_TABLE = 'mta_sts_lease';
/** Batch size of `entries()` when the caller gives none. */
export const DEFAULT_BATCH_SIZE = 500;
/** Entries expired longer than this are deleted; the same week as the SQLite backend's purge. */
export const PURGE_EXPIRED_AFTER_MS = 7 * 86_400_000;
/** How often the purge runs while the cache is open (also once at open). */
export const PURGE_INTERVAL_MS = 3_600_000;
/** An idle pooled connection is closed after this long; lookups are bursty, connections cheap to reopen. */
export const IDLE_CONNECTION_MS = 30_000;
/**
 * Key of the transaction-scoped advisory lock taken while creating the tables: two daemons
 * starting at once on an empty database would otherwise race in CREATE TABLE IF NOT EXISTS
 * (it is not atomic against a concurrent create). Any fixed 64-bit number works; this is
 * "mtasts" in ASCII.
 */
export const SCHEMA_LOCK_KEY = 0x6d74_6173_7473;
/** `application_name`, so that pg_stat_activity on a shared server shows who is connected. */
export const APPLICATION_NAME = 'mta-sts-bridge';

export interface PostgresCacheOptions {
  /** libpq connection URI. */
  readonly dsn: string;
  /** Bound of connecting and of each statement, in milliseconds. */
  readonly timeoutMs: number;
  readonly poolSize: number;
  readonly clock?: Clock;
  readonly purgeAfterMs?: number;
  /** 0 disables the periodic purge (the purge at open still runs). */
  readonly purgeIntervalMs?: number;
}

type Row = { readonly domain: string; readonly entry: string };

const SQL = {
  createTable: `CREATE TABLE IF NOT EXISTS ${TABLE} (
    domain text NOT NULL PRIMARY KEY,
    entry text NOT NULL,
    expires_at bigint NOT NULL
  )`,
  createIndex: `CREATE INDEX IF NOT EXISTS ${TABLE}_expires_at ON ${TABLE} (expires_at)`,
  createLeaseTable: `CREATE TABLE IF NOT EXISTS ${LEASE_TABLE} (
    name text NOT NULL PRIMARY KEY,
    owner text NOT NULL,
    expires_at timestamptz NOT NULL
  )`,
  // Fails when a table of that name is someone else's (other columns): never write into it.
  check: `SELECT domain, entry, expires_at FROM ${TABLE} LIMIT 0`,
  checkLease: `SELECT name, owner, expires_at FROM ${LEASE_TABLE} LIMIT 0`,
  get: `SELECT domain, entry FROM ${TABLE} WHERE domain = $1`,
  upsert: `INSERT INTO ${TABLE} (domain, entry, expires_at) VALUES ($1, $2, $3)
    ON CONFLICT (domain) DO UPDATE SET entry = EXCLUDED.entry, expires_at = EXCLUDED.expires_at`,
  remove: `DELETE FROM ${TABLE} WHERE domain = $1`,
  first: `SELECT domain, entry FROM ${TABLE} ORDER BY domain LIMIT $1`,
  page: `SELECT domain, entry FROM ${TABLE} WHERE domain > $1 ORDER BY domain LIMIT $2`,
  purge: `DELETE FROM ${TABLE} WHERE expires_at < $1`,
  // The server's clock for every daemon of the fleet: a lease is taken only when none is
  // held or the held one has expired; the conflicting row is locked, so one taker wins.
  lease: `INSERT INTO ${LEASE_TABLE} (name, owner, expires_at)
    VALUES ($1, $2, clock_timestamp() + $3 * interval '1 millisecond')
    ON CONFLICT (name) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
    WHERE ${LEASE_TABLE}.expires_at <= clock_timestamp()`,
} as const;

export class PostgresPolicyCache implements PolicyCache {
  readonly kind = 'postgres';
  private readonly clock: Clock;
  private pool: pg.Pool | undefined;
  private purgeTimer: NodeJS.Timeout | undefined;
  /** The pool's last error event (a pooled idle connection that died, e.g. the server stopped). */
  lastError: Error | undefined;

  constructor(private readonly options: PostgresCacheOptions) {
    this.clock = options.clock ?? systemClock;
  }

  /** Connects, creates the tables when missing and checks them. Throws naming the cause. */
  async open(): Promise<void> {
    if (this.pool !== undefined) return;
    const t = this.options.timeoutMs;
    const pool = new pg.Pool({
      connectionString: this.options.dsn,
      max: this.options.poolSize,
      connectionTimeoutMillis: t,
      idleTimeoutMillis: IDLE_CONNECTION_MS,
      // Client side (a hung server or network) and server side (a statement stuck on a lock).
      query_timeout: t,
      statement_timeout: t,
      lock_timeout: t,
      application_name: APPLICATION_NAME,
      allowExitOnIdle: true,
    });
    // An idle connection that dies (server stopped) is reported here; without a listener the process would exit.
    pool.on('error', (err) => {
      this.lastError = err;
    });
    try {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK_KEY]);
        for (const [create, check, table] of [
          [SQL.createTable, SQL.check, TABLE],
          [SQL.createLeaseTable, SQL.checkLease, LEASE_TABLE],
        ] as const) {
          await client.query(create);
          await client.query(check).catch((err: Error) => {
            throw new Error(`table ${table} exists but is not an mta-sts-bridge cache (${err.message}); use another database or schema`, {
              cause: err,
            });
          });
        }
        await client.query(SQL.createIndex);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw new Error((err as Error).message, { cause: err });
    }
    this.pool = pool;
    await this.purge().catch(() => undefined);
    const every = this.options.purgeIntervalMs ?? PURGE_INTERVAL_MS;
    if (every > 0) {
      this.purgeTimer = setInterval(() => {
        // A failing server: the next round tries again; reads and writes report errors themselves.
        this.purge().catch(() => undefined);
      }, every);
      this.purgeTimer.unref();
    }
  }

  async get(domain: string): Promise<PolicyEntry | undefined> {
    const { rows } = await this.db().query<Row>(SQL.get, [domain]);
    const row = rows[0];
    return row === undefined ? undefined : decodeEntryText(row.domain, row.entry);
  }

  async set(entry: PolicyEntry): Promise<void> {
    await this.db().query(SQL.upsert, [entry.domain, encodeEntry(entry), entry.expiresAt]);
  }

  async delete(domain: string): Promise<boolean> {
    const result = await this.db().query(SQL.remove, [domain]);
    return (result.rowCount ?? 0) > 0;
  }

  /** Every entry in domain order, by keyset pagination (`domain > last`): each batch is one index range. */
  async *entries(batchSize = DEFAULT_BATCH_SIZE): AsyncIterable<readonly PolicyEntry[]> {
    const size = Math.max(1, Math.floor(batchSize));
    let rows = (await this.db().query<Row>(SQL.first, [size])).rows;
    while (rows.length > 0) {
      const batch = rows.map((r) => decodeEntryText(r.domain, r.entry)).filter((e): e is PolicyEntry => e !== undefined);
      const last = rows[rows.length - 1] as Row;
      if (batch.length > 0) yield batch;
      if (rows.length < size) return;
      rows = (await this.db().query<Row>(SQL.page, [last.domain, size])).rows;
    }
  }

  /** Take lease `name` for `ttlMs` unless an unexpired one is held (by anyone, this owner included). */
  async acquireLease(name: string, ttlMs: number, owner: string): Promise<boolean> {
    const result = await this.db().query(SQL.lease, [name, owner, Math.max(1, Math.ceil(ttlMs))]);
    return result.rowCount === 1;
  }

  /** Delete entries expired more than `purgeAfterMs` ago; resolves with how many went. */
  async purge(): Promise<number> {
    const cutoff = this.clock.now() - (this.options.purgeAfterMs ?? PURGE_EXPIRED_AFTER_MS);
    return (await this.db().query(SQL.purge, [cutoff])).rowCount ?? 0;
  }

  async close(): Promise<void> {
    if (this.purgeTimer !== undefined) clearInterval(this.purgeTimer);
    this.purgeTimer = undefined;
    const pool = this.pool;
    this.pool = undefined;
    await pool?.end();
  }

  private db(): pg.Pool {
    if (this.pool === undefined) throw new Error('postgres cache is not open');
    return this.pool;
  }
}

/**
 * What `open` would refuse, found without changing anything (`check-config`): connects, and in
 * a READ ONLY transaction that is rolled back checks that each table, where it exists, is ours,
 * and where it does not, that it could be created (CREATE on the current schema). Creates no
 * table, purges nothing, starts no timer. Throws naming the cause.
 */
export async function probePostgres(options: Pick<PostgresCacheOptions, 'dsn' | 'timeoutMs'>): Promise<void> {
  const t = options.timeoutMs;
  const client = new pg.Client({
    connectionString: options.dsn,
    connectionTimeoutMillis: t,
    query_timeout: t,
    statement_timeout: t,
    lock_timeout: t,
    application_name: APPLICATION_NAME,
  });
  // A connection dropped under us is reported by the failing query; without a listener the process would exit.
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('BEGIN READ ONLY');
    for (const [check, table] of [
      [SQL.check, TABLE],
      [SQL.checkLease, LEASE_TABLE],
    ] as const) {
      const found = await client.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [table]);
      if (found.rows[0]?.t !== null && found.rows[0]?.t !== undefined) {
        await client.query(check).catch((err: Error) => {
          throw new Error(`table ${table} exists but is not an mta-sts-bridge cache (${err.message}); use another database or schema`, {
            cause: err,
          });
        });
        continue;
      }
      const schema = await client.query<{ s: string | null; create: boolean | null }>(
        "SELECT current_schema() AS s, has_schema_privilege(current_schema(), 'CREATE') AS create",
      );
      const row = schema.rows[0];
      if (row?.s === null || row?.s === undefined)
        throw new Error(`table ${table} does not exist and no schema of the search_path exists to create it in`);
      if (row.create !== true)
        throw new Error(`table ${table} does not exist and this user may not create it in schema ${row.s} (no CREATE privilege)`);
    }
    await client.query('ROLLBACK');
  } finally {
    await client.end().catch(() => undefined);
  }
}
