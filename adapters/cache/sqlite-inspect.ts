/**
 * Looks into an existing SQLite cache file without changing it: opened read-only, checked
 * with `PRAGMA quick_check`, its schema version and tables read. For `check-config`, which
 * must say what `serve` would refuse (the same checks as SqlitePolicyCache.open and its
 * migration) without creating, migrating or locking anything for long (nor creating the
 * `-wal`/`-shm` files a read-only connection would: see `inspectSqliteFile`).
 */
import { closeSync, existsSync, openSync, readSync, fstatSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { CacheFileInspection } from '../../src/cache/cache-file-inspection.js';
import { isCorruptCode, SCHEMA_VERSION } from './sqlite.js';

/** A file larger than this is judged by its header alone (see `inspectSqliteFile`). */
export const MAX_COPY_BYTES = 64 * 1024 * 1024;

/**
 * Open the file without creating anything next to it. A read-only connection to a WAL
 * database still creates `-wal` and `-shm` when they are missing: run as root (the unit's
 * ExecStartPre) that would leave root-owned files the daemon's user cannot open. So: while
 * `-shm` exists (a daemon has the file open, or crashed) a read-only connection uses it;
 * otherwise the file, fully checkpointed, is looked at as a copy in memory (its header's WAL
 * mark reset on the copy, since an in-memory database cannot be in WAL mode).
 */
export function inspectSqliteFile(path: string): CacheFileInspection {
  let db: Database.Database;
  try {
    if (existsSync(`${path}-shm`)) {
      db = new Database(path, { readonly: true, fileMustExist: true, timeout: 1000 });
    } else {
      const copy = readBounded(path);
      if (copy === undefined) return inspectHeader(path);
      if (copy.length > 19 && copy[18] === 2 && copy[19] === 2) {
        copy[18] = 1;
        copy[19] = 1;
      }
      db = new Database(copy, { readonly: true });
    }
  } catch (err) {
    return { kind: damagedOr(err), message: (err as Error).message };
  }
  try {
    const check = db.pragma('quick_check(1)', { simple: true });
    if (check !== 'ok') return { kind: 'damaged', message: `damaged database (quick_check: ${String(check)})` };
    const version = db.pragma('user_version', { simple: true }) as number;
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map(
      (t) => t.name,
    );
    // The same order as the migration in sqlite.ts.
    if (version === SCHEMA_VERSION) return { kind: 'ours', version };
    if (version > SCHEMA_VERSION) return { kind: 'newer', version, known: SCHEMA_VERSION };
    if (tables.length === 0) return { kind: 'empty' };
    if (tables.includes('sts_policy_cache')) return { kind: 'python', tables };
    return { kind: 'foreign', tables };
  } catch (err) {
    return { kind: damagedOr(err), message: (err as Error).message };
  } finally {
    db.close();
  }
}

/** Damaged by the same rule as sqlite.ts moves a file aside by; anything else unusable. */
function damagedOr(err: unknown): 'damaged' | 'unusable' {
  return isCorruptCode(err) ? 'damaged' : 'unusable';
}

/** The whole file, or undefined when it is larger than MAX_COPY_BYTES. Throws when unreadable. */
function readBounded(path: string): Buffer | undefined {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size > MAX_COPY_BYTES) return undefined;
    const buf = Buffer.alloc(size);
    let at = 0;
    while (at < size) {
      const n = readSync(fd, buf, at, size - at, at);
      if (n === 0) break;
      at += n;
    }
    return buf.subarray(0, at);
  } finally {
    closeSync(fd);
  }
}

/** A big file: its 100-byte header only (magic string, user_version at offset 60). */
function inspectHeader(path: string): CacheFileInspection {
  const fd = openSync(path, 'r');
  const head = Buffer.alloc(100);
  try {
    readSync(fd, head, 0, 100, 0);
  } finally {
    closeSync(fd);
  }
  if (head.subarray(0, 16).toString('latin1') !== 'SQLite format 3\0') return { kind: 'damaged', message: 'file is not a database' };
  const version = head.readInt32BE(60);
  if (version > SCHEMA_VERSION) return { kind: 'newer', version, known: SCHEMA_VERSION };
  // Tables are not listed for a file this big; serve's own checks judge it at startup.
  return { kind: 'ours', version };
}
