/**
 * PolicyCache in one SQLite file (better-sqlite3), so that policies survive a restart: an
 * attacker who blocks a policy host cannot downgrade a domain whose policy the daemon already
 * knew (RFC 8461 §10.2, "the sender's cache").
 *
 * WAL mode and a busy timeout let several daemons on one host share the file. One table keyed
 * by domain holds the entry JSON verbatim plus `expires_at`, which only the purge reads;
 * freshness stays the resolver's business. better-sqlite3 is synchronous: statements are tiny
 * and in WAL readers never wait for writers, so the event loop is held for microseconds;
 * only a writer waiting on another process's write lock can block, up to the busy timeout.
 *
 * Loaded late by adapters/cache/registry.ts, so a memory-cache user never loads the native module.
 */
import { closeSync, existsSync, lstatSync, mkdirSync, openSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { PolicyCache, PolicyEntry } from '../../src/cache/types.js';
import { systemClock, type Clock } from '../../src/clock.js';
import { decodeEntryText, encodeEntry } from './entry-json.js';

/** `PRAGMA user_version` of the schema this code writes; bump with a migration. */
export const SCHEMA_VERSION = 1;
/** Our table; the Python resolver's is `sts_policy_cache`, so the two are never confused. */
export const TABLE = 'mta_sts_policy';
/**
 * Leases (`acquireLease`), e.g. one refresh of a domain per window across daemons sharing the
 * file. Not part of the versioned schema: it is disposable coordination state, created when
 * missing, and older versions that do not know it still open the file (a schema bump would make
 * a downgrade refuse it).
 */
export const LEASE_TABLE = 'mta_sts_lease';
/** Batch size of `entries()` when the caller gives none. */
export const DEFAULT_BATCH_SIZE = 500;
/**
 * Entries expired longer than this are deleted. An expired policy is never used again
 * (RFC 8461 §3.2 max_age), but a week of history keeps `cache list` useful after an outage.
 */
export const PURGE_EXPIRED_AFTER_MS = 7 * 86_400_000;
/** How often the purge runs while the cache is open (also once at open). */
export const PURGE_INTERVAL_MS = 3_600_000;
/** The database file: readable by the daemon's user only (policies are not secret, but its own). */
export const FILE_MODE = 0o600;
/** A missing state directory is created private to the daemon's user. */
export const DIRECTORY_MODE = 0o700;

export interface SqliteCacheOptions {
  /** Absolute path of the database file. */
  readonly path: string;
  /** SQLite busy timeout in milliseconds (the Python tool's `timeout`, in seconds there). */
  readonly busyTimeoutMs: number;
  /** Create the directory and file when missing (the daemon); `false` for `cache list` and co. */
  readonly create?: boolean;
  readonly clock?: Clock;
  readonly purgeAfterMs?: number;
  /** 0 disables the periodic purge (the purge at open still runs). */
  readonly purgeIntervalMs?: number;
  /**
   * A file SQLite reports damaged (SQLITE_CORRUPT, SQLITE_NOTADB, a failed quick_check) at open:
   * `move` renames it (and its -wal/-shm) to `<file>.corrupt-<time>` and starts a new one;
   * `refuse` (the default here; the daemon's config defaults to move) fails the open. Another
   * program's file or a newer schema is always refused.
   */
  readonly onCorrupt?: 'move' | 'refuse';
}

/** What `open()` did with a damaged file under `onCorrupt: move`. */
export interface MovedAside {
  readonly from: string;
  readonly to: string;
  readonly reason: string;
}

/** Thrown (as cause) when the file is damaged, so that `open()` can tell it from a refusal. */
class CorruptFileError extends Error {}

type Row = { readonly domain: string; readonly entry: string };

interface Statements {
  readonly get: Database.Statement<[string], Row>;
  readonly upsert: Database.Statement<[string, string, number]>;
  readonly remove: Database.Statement<[string]>;
  readonly page: Database.Statement<[string, number], Row>;
  readonly first: Database.Statement<[number], Row>;
  readonly purge: Database.Statement<[number]>;
  /** name, owner, expires_at, now: one row changed when the lease was taken. */
  readonly lease: Database.Statement<[string, string, number, number]>;
  readonly leasePurge: Database.Statement<[number]>;
}

export class SqlitePolicyCache implements PolicyCache {
  readonly kind = 'sqlite';
  readonly path: string;
  private readonly clock: Clock;
  private db: Database.Database | undefined;
  private statements: Statements | undefined;
  private purgeTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: SqliteCacheOptions) {
    this.path = options.path;
    this.clock = options.clock ?? systemClock;
  }

  /**
   * Opens (creating when allowed) and checks the file. Throws with a message naming the file
   * when it is not a database, is damaged, is another program's, or is from a newer version:
   * never starts empty over a user's file.
   */
  /** Set when `open()` moved a damaged file aside (the caller logs it). */
  movedAside: MovedAside | undefined;

  async open(): Promise<void> {
    if (this.db !== undefined) return;
    try {
      this.openOnce();
    } catch (err) {
      if (!(err instanceof CorruptFileError) || (this.options.onCorrupt ?? 'refuse') !== 'move' || this.movedAside !== undefined) {
        throw err;
      }
      this.movedAside = moveAside(this.path, err.message, this.clock.now());
      this.openOnce();
    }
  }

  /** Warnings about the file's owner or its directory found at open (the caller logs them). */
  readonly warnings: string[] = [];

  private openOnce(): void {
    if (this.options.create ?? true) createPrivateFile(this.path);
    else if (!existsSync(this.path)) throw new Error(`${this.path} does not exist (no policy was stored there yet?)`);
    this.warnings.push(...checkFileSafety(this.path));
    let db: Database.Database;
    try {
      db = new Database(this.path, { fileMustExist: true, timeout: this.options.busyTimeoutMs });
    } catch (err) {
      throw fileError(this.path, err);
    }
    try {
      const check = db.pragma('quick_check(1)', { simple: true });
      if (check !== 'ok') throw new CorruptFileError(`damaged database (quick_check: ${String(check)})`);
      // WAL: readers and one writer at a time across processes; NORMAL is durable enough there
      // (a power cut may lose the last writes, never the file).
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      migrate(db);
      db.exec(`CREATE TABLE IF NOT EXISTS ${LEASE_TABLE} (
        name TEXT NOT NULL PRIMARY KEY,
        owner TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      ) WITHOUT ROWID`);
      this.statements = prepare(db);
    } catch (err) {
      db.close();
      throw fileError(this.path, err);
    }
    this.db = db;
    this.purge();
    const every = this.options.purgeIntervalMs ?? PURGE_INTERVAL_MS;
    if (every > 0) {
      this.purgeTimer = setInterval(() => {
        try {
          this.purge();
        } catch {
          // A busy or failing file: the next round tries again; reads and writes report errors themselves.
        }
      }, every);
      this.purgeTimer.unref();
    }
  }

  async get(domain: string): Promise<PolicyEntry | undefined> {
    const row = this.named(() => this.stmts().get.get(domain));
    return row === undefined ? undefined : decodeEntry(row);
  }

  async set(entry: PolicyEntry): Promise<void> {
    this.named(() => this.stmts().upsert.run(entry.domain, encodeEntry(entry), entry.expiresAt));
  }

  async delete(domain: string): Promise<boolean> {
    return this.named(() => this.stmts().remove.run(domain).changes > 0);
  }

  /** Run a statement; an error says which file (`attempt to write a readonly database` alone does not). */
  private named<T>(work: () => T): T {
    try {
      return work();
    } catch (err) {
      const message = (err as Error).message;
      if (message.includes(this.path)) throw err;
      throw Object.assign(new Error(`${this.path}: ${message}`, { cause: err }), { code: (err as { code?: unknown }).code });
    }
  }

  /** Every entry in domain order, by keyset pagination (`domain > last`), so each batch is one index range. */
  async *entries(batchSize = DEFAULT_BATCH_SIZE): AsyncIterable<readonly PolicyEntry[]> {
    const size = Math.max(1, Math.floor(batchSize));
    let rows = this.stmts().first.all(size);
    while (rows.length > 0) {
      const batch = rows.map(decodeEntry).filter((e): e is PolicyEntry => e !== undefined);
      const last = rows[rows.length - 1] as Row;
      if (batch.length > 0) yield batch;
      if (rows.length < size) return;
      rows = this.stmts().page.all(last.domain, size);
    }
  }

  /** Delete entries expired more than `purgeAfterMs` ago; returns how many went. */
  purge(): number {
    const now = this.clock.now();
    // An expired lease is worth nothing: it only takes room.
    this.stmts().leasePurge.run(now);
    return this.stmts().purge.run(now - (this.options.purgeAfterMs ?? PURGE_EXPIRED_AFTER_MS)).changes;
  }

  /**
   * One statement, so atomic across every process sharing the file: the row is inserted, or
   * taken over only when the lease in it has expired. Times are this process's clock; daemons
   * sharing a file share a host, hence a clock.
   */
  async acquireLease(name: string, ttlMs: number, owner: string): Promise<boolean> {
    const now = this.clock.now();
    return this.stmts().lease.run(name, owner, now + Math.max(0, ttlMs), now).changes > 0;
  }

  async close(): Promise<void> {
    if (this.purgeTimer !== undefined) clearInterval(this.purgeTimer);
    this.purgeTimer = undefined;
    this.statements = undefined;
    const db = this.db;
    this.db = undefined;
    db?.close();
  }

  private stmts(): Statements {
    if (this.statements === undefined) throw new Error(`sqlite cache ${this.path} is not open`);
    return this.statements;
  }
}

/** mkdir -p with 0700 for what is created; the file created 0600 (SQLite's -wal/-shm copy its mode). */
function createPrivateFile(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: DIRECTORY_MODE });
  try {
    closeSync(openSync(path, 'wx', FILE_MODE));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

/**
 * Who else can change the policies the daemon trusts. Refused (throws): the file is a symbolic
 * link, is writable by group or others, or its directory is writable by others without the
 * sticky bit (anyone could replace the file). Warned (returned): the file or its directory is
 * owned by another user than the one running (root may own them), or the directory is
 * group-writable.
 */
export function checkFileSafety(path: string): string[] {
  const warnings: string[] = [];
  const uid = typeof process.geteuid === 'function' ? process.geteuid() : undefined;
  const file = lstatSync(path);
  if (file.isSymbolicLink()) throw new Error(`${path}: is a symbolic link; refusing to follow it (point filename at the real file)`);
  if ((file.mode & 0o022) !== 0) {
    throw new Error(
      `${path}: writable by group or others (mode ${(file.mode & 0o777).toString(8)}); anyone could plant or erase policies: chmod 600 it`,
    );
  }
  if (uid !== undefined && file.uid !== uid && file.uid !== 0)
    warnings.push(`${path} is owned by uid ${file.uid}, not by the running uid ${uid}`);
  const dir = lstatSync(dirname(path));
  if ((dir.mode & 0o002) !== 0 && (dir.mode & 0o1000) === 0) {
    throw new Error(
      `${path}: its directory ${dirname(path)} is writable by others (mode ${(dir.mode & 0o7777).toString(8)}); anyone could replace the file`,
    );
  }
  if ((dir.mode & 0o020) !== 0)
    warnings.push(`${path}: its directory ${dirname(path)} is group-writable (mode ${(dir.mode & 0o7777).toString(8)})`);
  if (uid !== undefined && dir.uid !== uid && dir.uid !== 0)
    warnings.push(`${path}: its directory ${dirname(path)} is owned by uid ${dir.uid}, not by the running uid ${uid}`);
  return warnings;
}

/** SQLite's own verdict that a file is damaged or not a database (extended codes included). */
export function isCorruptCode(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
  return code.startsWith('SQLITE_CORRUPT') || code.startsWith('SQLITE_NOTADB');
}

/** An open error naming the file; a damaged file's as CorruptFileError (never another program's or a newer schema's). */
function fileError(path: string, err: unknown): Error {
  const message = `${path}: ${(err as Error).message}`;
  if (err instanceof CorruptFileError || isCorruptCode(err)) return new CorruptFileError(message, { cause: err });
  return new Error(message, { cause: err });
}

/**
 * Rename a damaged `path` (and its -wal and -shm, which belong to it) to `<path>.corrupt-<time>`.
 * rename(2) acts on the name itself: a symlink is moved, never followed, and nothing is opened.
 * A path that is a symlink is refused anyway: the daemon runs as root and did not create it.
 */
function moveAside(path: string, reason: string, now: number): MovedAside {
  if (lstatSync(path).isSymbolicLink()) throw new Error(`${path}: damaged and a symbolic link; not moved (${reason})`);
  const stamp = new Date(now)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
  let to = `${path}.corrupt-${stamp}`;
  for (let n = 1; existsSync(to) || existsSync(`${to}-wal`); n += 1) to = `${path}.corrupt-${stamp}-${n}`;
  renameSync(path, to);
  for (const suffix of ['-wal', '-shm']) {
    try {
      renameSync(`${path}${suffix}`, `${to}${suffix}`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return { from: path, to, reason };
}

/** Brings the schema to SCHEMA_VERSION, refusing files that are not ours or are newer. */
function migrate(db: Database.Database): void {
  const run = db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version === SCHEMA_VERSION) return;
    if (version > SCHEMA_VERSION) {
      throw new Error(
        `written by a newer mta-sts-bridge (schema ${version}, this one knows ${SCHEMA_VERSION}); upgrade, or use another filename`,
      );
    }
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map(
      (t) => t.name,
    );
    if (tables.length > 0) {
      const python = tables.includes('sts_policy_cache') ? ' (it looks like the Python postfix-mta-sts-resolver cache)' : '';
      throw new Error(`not an mta-sts-bridge cache: it holds the tables ${tables.join(', ')}${python}; choose another filename`);
    }
    db.exec(`CREATE TABLE ${TABLE} (
      domain TEXT NOT NULL PRIMARY KEY,
      entry TEXT NOT NULL,
      expires_at INTEGER NOT NULL
    ) WITHOUT ROWID`);
    db.exec(`CREATE INDEX ${TABLE}_expires_at ON ${TABLE} (expires_at)`);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  });
  // IMMEDIATE takes the write lock first: two daemons creating the same new file do it once.
  run.immediate();
}

function prepare(db: Database.Database): Statements {
  return {
    get: db.prepare<[string], Row>(`SELECT domain, entry FROM ${TABLE} WHERE domain = ?`),
    upsert: db.prepare<[string, string, number]>(
      `INSERT INTO ${TABLE} (domain, entry, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (domain) DO UPDATE SET entry = excluded.entry, expires_at = excluded.expires_at`,
    ),
    remove: db.prepare<[string]>(`DELETE FROM ${TABLE} WHERE domain = ?`),
    first: db.prepare<[number], Row>(`SELECT domain, entry FROM ${TABLE} ORDER BY domain LIMIT ?`),
    page: db.prepare<[string, number], Row>(`SELECT domain, entry FROM ${TABLE} WHERE domain > ? ORDER BY domain LIMIT ?`),
    purge: db.prepare<[number]>(`DELETE FROM ${TABLE} WHERE expires_at < ?`),
    lease: db.prepare<[string, string, number, number]>(
      `INSERT INTO ${LEASE_TABLE} (name, owner, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
       WHERE ${LEASE_TABLE}.expires_at <= ?`,
    ),
    leasePurge: db.prepare<[number]>(`DELETE FROM ${LEASE_TABLE} WHERE expires_at <= ?`),
  };
}

/**
 * The stored JSON back to an entry. A row that does not parse, or is of another entry version,
 * counts as absent: the resolver then fetches the policy again and overwrites it.
 */
export function decodeEntry(row: Row): PolicyEntry | undefined {
  return decodeEntryText(row.domain, row.entry);
}
