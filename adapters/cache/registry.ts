/**
 * The cache registry: opens the cache backend named by the config. The one place that knows
 * every backend; the composition root (main/) calls it, src/ never does. Backends other than
 * memory are loaded late with import() so that a user of the memory cache never loads a
 * database driver.
 */
import type { Logger } from 'winston';
import type { CacheConfig, PostgresCacheConfig, RedisCacheConfig, SqliteCacheConfig } from '../../src/config/types.js';
import { describeRedisConnection, redactDsn } from '../../src/cache/describe-connection.js';
import { BridgeError } from '../../src/errors.js';
import type { CacheFileInspection } from '../../src/cache/cache-file-inspection.js';
import { ResilientPolicyCache } from '../../src/cache/resilient.js';
import { cacheFileLocation, type OpenCacheDeps } from '../../src/cache/cache-location.js';
import type { PolicyCache } from '../../src/cache/types.js';

export { cacheFileLocation, type OpenCacheDeps };

/** Look into an existing sqlite cache file without changing it (`check-config`). */
export async function inspectSqliteCacheFile(path: string): Promise<CacheFileInspection> {
  const { inspectSqliteFile } = await import('./sqlite-inspect.js');
  return inspectSqliteFile(path);
}

/**
 * What opening a Redis or PostgreSQL cache at startup would refuse, found without changing
 * the server (`check-config`): Redis is connected to and PINGed (no write); PostgreSQL is
 * checked in a read-only transaction (no table created, nothing purged). Throws ECACHE_OPEN
 * as `openSharedBackend` would.
 */
export async function probeSharedBackend(config: RedisCacheConfig | PostgresCacheConfig, deps: OpenCacheDeps = {}): Promise<void> {
  if (config.type === 'redis') {
    const backend = await openSharedBackend(config, deps);
    await backend.close().catch(() => undefined);
    return;
  }
  try {
    const { probePostgres } = await import('./postgres.js');
    await probePostgres({ dsn: config.dsn, timeoutMs: config.timeoutMs });
  } catch (err) {
    throw new BridgeError('ECACHE_OPEN', `cannot open ${config.type} cache at ${redactDsn(config.dsn)}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/**
 * The persistent backend alone, opened, without the memory layer: for `mta-sts-bridge cache`,
 * which must see the file as it is and report its errors. Throws ECACHE_OPEN.
 */
export async function openPersistentBackend(
  config: SqliteCacheConfig,
  deps: OpenCacheDeps & { readonly create?: boolean } = {},
): Promise<
  PolicyCache & {
    readonly path: string;
    readonly movedAside?: { from: string; to: string; reason: string } | undefined;
    readonly warnings?: readonly string[];
  }
> {
  const where = cacheFileLocation(config, deps);
  if (!where.ok) throw new BridgeError('ECACHE_OPEN', `cannot open sqlite cache: ${where.message}`);
  let backend;
  try {
    const { SqlitePolicyCache } = await import('./sqlite.js');
    backend = new SqlitePolicyCache({
      path: where.path,
      busyTimeoutMs: config.timeoutSec * 1000,
      create: deps.create ?? true,
      // Only the daemon (which creates) moves a damaged file aside; a tool reports it.
      onCorrupt: (deps.create ?? true) ? (config.onCorrupt ?? 'move') : 'refuse',
      ...(deps.clock !== undefined ? { clock: deps.clock } : {}),
    });
    await backend.open();
  } catch (err) {
    throw new BridgeError('ECACHE_OPEN', `cannot open sqlite cache: ${(err as Error).message}`, { cause: err });
  }
  return backend;
}

/** A persistent cache opened as it is, for a tool (not the daemon): `path` names it in messages. */
export type ConfiguredCache = PolicyCache & { readonly path: string };

/**
 * The daemon's configured persistent cache, opened as it is for a tool that looks into it
 * (`mta-sts-bridge cache`, `generate --from-cache`): the backend alone, no memory layer; a
 * missing sqlite file is an error and is never created (read-only in that sense: `cache evict`
 * still deletes through it). A memory (`internal`) cache exists only
 * inside a running daemon: `undefined` then (the caller reports ECACHE_NOT_PERSISTENT).
 * Throws ECACHE_OPEN.
 */
export async function openConfiguredCacheReadOnly(config: CacheConfig, deps: OpenCacheDeps = {}): Promise<ConfiguredCache | undefined> {
  switch (config.type) {
    case 'internal':
      return undefined;
    case 'sqlite':
      return openPersistentBackend(config, { ...deps, create: false });
    case 'redis':
    case 'postgres': {
      const shared = await openSharedBackend(config, deps);
      return Object.assign(shared, { path: shared.where });
    }
    default: {
      const unknown: never = config;
      throw new BridgeError('ECONFIG_UNSUPPORTED', `cache type ${String((unknown as { type: unknown }).type)} is not implemented`);
    }
  }
}

export async function openCache(config: CacheConfig, log: Logger, deps: OpenCacheDeps = {}): Promise<PolicyCache> {
  let cache: PolicyCache;
  switch (config.type) {
    case 'internal': {
      const { MemoryPolicyCache } = await import('./memory.js');
      cache = new MemoryPolicyCache(config.cacheSize);
      break;
    }
    case 'sqlite': {
      const where = cacheFileLocation(config, deps);
      const backend = await openPersistentBackend(config, deps);
      for (const warning of backend.warnings ?? [])
        log.warn('cache file permissions', { component: 'cache', code: 'ECACHE_UNSAFE', file: backend.path, reason: warning });
      if (backend.movedAside !== undefined) {
        log.error('damaged cache file moved aside; starting with an empty cache', {
          component: 'cache',
          code: 'ECACHE_CORRUPT',
          file: backend.movedAside.from,
          movedTo: backend.movedAside.to,
          reason: backend.movedAside.reason,
        });
      }
      // A persistent backend is never allowed to fail a lookup: memory in front, retries behind.
      const resilient = new ResilientPolicyCache(backend, { memorySize: config.cacheSize, log });
      log.info('cache opened', {
        component: 'cache',
        backend: backend.kind,
        file: backend.path,
        ...(where.ok ? { location: where.source } : {}),
        memory: config.cacheSize,
      });
      return resilient;
    }
    case 'redis':
    case 'postgres':
      return openSharedCache(config, log, deps);
    default: {
      const unknown: never = config;
      throw new BridgeError('ECONFIG_UNSUPPORTED', `cache type ${String((unknown as { type: unknown }).type)} is not implemented`);
    }
  }
  try {
    await cache.open();
  } catch (err) {
    throw new BridgeError('ECACHE_OPEN', `cannot open ${cache.kind} cache: ${(err as Error).message}`, { cause: err });
  }
  log.info('cache opened', { component: 'cache', backend: cache.kind });
  return cache;
}

/**
 * A network backend alone, opened, without the memory layer (for tools that must see the
 * shared store as it is, and for tests). Throws ECACHE_OPEN naming the server, secrets hidden.
 */
export async function openSharedBackend(
  config: RedisCacheConfig | PostgresCacheConfig,
  deps: OpenCacheDeps = {},
): Promise<PolicyCache & { readonly where: string }> {
  const where = config.type === 'redis' ? describeRedisConnection(config.connection) : redactDsn(config.dsn);
  let backend: PolicyCache;
  try {
    if (config.type === 'redis') {
      const { RedisPolicyCache } = await import('./redis.js');
      backend = new RedisPolicyCache({
        connection: config.connection,
        prefix: config.prefix,
        commandTimeoutMs: config.commandTimeoutMs,
        connectTimeoutMs: config.connectTimeoutMs,
        ...(deps.clock !== undefined ? { clock: deps.clock } : {}),
      });
    } else {
      const { PostgresPolicyCache } = await import('./postgres.js');
      backend = new PostgresPolicyCache({
        dsn: config.dsn,
        timeoutMs: config.timeoutMs,
        poolSize: config.poolSize,
        ...(deps.clock !== undefined ? { clock: deps.clock } : {}),
      });
    }
    await backend.open();
  } catch (err) {
    throw new BridgeError('ECACHE_OPEN', `cannot open ${config.type} cache at ${where}: ${(err as Error).message}`, { cause: err });
  }
  return Object.assign(backend, { where });
}

/** Redis or PostgreSQL behind the memory layer: a failing server never fails a lookup. */
async function openSharedCache(config: RedisCacheConfig | PostgresCacheConfig, log: Logger, deps: OpenCacheDeps): Promise<PolicyCache> {
  const backend = await openSharedBackend(config, deps);
  const resilient = new ResilientPolicyCache(backend, { memorySize: config.cacheSize, log });
  log.info('cache opened', { component: 'cache', backend: backend.kind, server: backend.where, memory: config.cacheSize });
  return resilient;
}
