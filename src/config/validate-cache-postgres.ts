/**
 * `cache: {type: postgres, options: {...}}`. Option keys are the Python
 * postfix-mta-sts-resolver's (`dsn`, `timeout`, and asyncpg's pool keys `min_size`/`max_size`
 * it passes through) plus our `cache_size` for the memory layer in front of the database.
 */
import { redactDsn } from '../cache/describe-connection.js';
import { DEFAULT_CACHE_SIZE } from './defaults.js';
import { CACHE_ENTRIES_MAX } from './limits.js';
import { asMap, readMap, readNumber, readString, report, warn, type Field, type ReadContext } from './node-reader.js';
import type { PostgresCacheConfig } from './types.js';

export const POSTGRES_CACHE_OPTION_KEYS = ['dsn', 'timeout', 'min_size', 'max_size', 'cache_size'] as const;

/**
 * Our own, shorter than the Python tool's: a lookup waits at most this long for a connection or
 * a statement before the memory layer answers instead. Two seconds leave room for a TCP + TLS
 * + SCRAM handshake on a slow network; our statements are single-row index lookups.
 */
export const DEFAULT_POSTGRES_TIMEOUT_SEC = 2;
/** Longest timeout: well under Postfix's 100 s socketmap timeout (dict_sockmap.c `DICT_SOCKMAP_DEF_TIMEOUT`). */
export const POSTGRES_TIMEOUT_MAX_SEC = 30;
/** asyncpg's `create_pool` default `max_size` (10), which the Python tool inherits. */
export const DEFAULT_POSTGRES_POOL_SIZE = 10;
/** PostgreSQL's default `max_connections` is 100; one daemon taking more is surely a mistake. */
export const POSTGRES_POOL_MAX = 100;

const URI_SCHEMES = ['postgres:', 'postgresql:'];

/** The postgres cache's `options` block; `dsn` is required. */
export function readPostgresCache(ctx: ReadContext, options: Field | undefined, typeField: Field | undefined): PostgresCacheConfig | undefined {
  if (options === undefined) {
    const where = (typeField?.path ?? 'cache.type').replace(/\.type$/, '.options');
    report(ctx, 'ECONFIG_MISSING_KEY', where, typeField?.node, 'a postgres cache needs options: {dsn: "postgresql://user@host/database"}');
    return undefined;
  }
  const map = asMap(ctx, options);
  if (map === undefined) return undefined;
  const f = readMap(ctx, map, options.path, POSTGRES_CACHE_OPTION_KEYS);

  const dsnField = f.get('dsn');
  let dsn: string | undefined;
  if (dsnField === undefined) {
    report(ctx, 'ECONFIG_MISSING_KEY', `${options.path}.dsn`, options.node, 'missing "dsn" (postgresql://user@host:5432/database)');
  } else {
    dsn = readString(ctx, dsnField);
    const problem = dsn === undefined ? undefined : dsnProblem(dsn);
    if (problem !== undefined) {
      report(ctx, 'ECONFIG_BAD_VALUE', dsnField.path, dsnField.node, problem);
      dsn = undefined;
    }
  }
  const minSize = f.get('min_size');
  if (minSize !== undefined && readNumber(ctx, minSize, { integer: true, min: 0, max: POSTGRES_POOL_MAX }) !== undefined) {
    warn(ctx, 'ECONFIG_IGNORED', minSize.path, minSize.keyNode, 'ignored: connections are opened on demand and closed when idle');
  }
  const timeoutField = f.get('timeout');
  const timeout = timeoutField === undefined ? DEFAULT_POSTGRES_TIMEOUT_SEC : readNumber(ctx, timeoutField, { above: 0, max: POSTGRES_TIMEOUT_MAX_SEC });
  const maxSize = f.get('max_size');
  const poolSize = maxSize === undefined ? DEFAULT_POSTGRES_POOL_SIZE : readNumber(ctx, maxSize, { integer: true, min: 1, max: POSTGRES_POOL_MAX });
  const size = f.get('cache_size');
  const cacheSize = (size === undefined ? undefined : readNumber(ctx, size, { integer: true, min: 1, max: CACHE_ENTRIES_MAX })) ?? DEFAULT_CACHE_SIZE;
  if (dsn === undefined || timeout === undefined || poolSize === undefined) return undefined;
  return { type: 'postgres', dsn, timeoutMs: timeout * 1000, poolSize, cacheSize };
}

/**
 * Why `dsn` cannot be used, or undefined. Pure; checks the form only (the driver parses it).
 * A libpq connection URI is required, as asyncpg (which the Python tool hands `dsn` to) takes
 * only that form: `postgresql://user:password@host:port/database?sslmode=verify-full`, or a
 * unix socket directory as the host, percent-encoded (`postgresql://user@%2Frun%2Fpostgresql/db`)
 * or as `?host=/run/postgresql`. Messages never repeat a password.
 */
export function dsnProblem(dsn: string): string | undefined {
  let url: URL;
  try {
    url = new URL(dsn);
  } catch {
    return `must be a connection URI such as postgresql://user@host:5432/database, found "${redactDsn(dsn)}"`;
  }
  if (!URI_SCHEMES.includes(url.protocol)) return `the scheme must be postgresql:// or postgres://, found "${url.protocol}//"`;
  return undefined;
}

export { redactDsn } from '../cache/describe-connection.js';
