/**
 * Looks into an existing SQLite cache file without changing it: opened read-only, checked
 * with `PRAGMA quick_check`, its schema version and tables read. For `check-config`, which
 * must say what `serve` would refuse (the same checks as SqlitePolicyCache.open and its
 * migration) without creating, migrating or locking anything for long.
 */
import Database from 'better-sqlite3';
import type { CacheFileInspection } from '../../src/cache/cache-file-inspection.js';
import { SCHEMA_VERSION } from './sqlite.js';

export function inspectSqliteFile(path: string): CacheFileInspection {
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true, timeout: 1000 });
  } catch (err) {
    return { kind: 'unusable', message: (err as Error).message };
  }
  try {
    const check = db.pragma('quick_check(1)', { simple: true });
    if (check !== 'ok') return { kind: 'unusable', message: `damaged database (quick_check: ${String(check)})` };
    const version = db.pragma('user_version', { simple: true }) as number;
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((t) => t.name);
    // The same order as the migration in sqlite.ts.
    if (version === SCHEMA_VERSION) return { kind: 'ours', version };
    if (version > SCHEMA_VERSION) return { kind: 'newer', version, known: SCHEMA_VERSION };
    if (tables.length === 0) return { kind: 'empty' };
    if (tables.includes('sts_policy_cache')) return { kind: 'python', tables };
    return { kind: 'foreign', tables };
  } catch (err) {
    return { kind: 'unusable', message: (err as Error).message };
  } finally {
    db.close();
  }
}
