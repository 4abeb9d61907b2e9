/**
 * Turns the YAML document's root node into a BridgeConfig, reporting every problem found.
 * Key names follow the Python postfix-mta-sts-resolver (`mta-sts-daemon.yml`) so that its
 * files load unchanged; our own additions are listed in README.md, "Configuration".
 */
import { isMap, type Node } from 'yaml';
import {
  buildDefaultConfig,
  DEFAULT_CACHE_GRACE_SEC,
  DEFAULT_CACHE_SIZE,
  DEFAULT_IDLE_TIMEOUT_SEC,
  DEFAULT_REQUEST_TIMEOUT_SEC,
  DEFAULT_LOGGING,
  DEFAULT_NEGATIVE_CACHE_SIZE,
  DEFAULT_NEGATIVE_CACHE_TTL_SEC,
  DEFAULT_SHUTDOWN_TIMEOUT_SEC,
  defaultProactiveFetching,
} from './defaults.js';
import {
  CACHE_ENTRIES_MAX,
  CACHE_GRACE_MAX_SEC,
  IDLE_TIMEOUT_MAX_SEC,
  REQUEST_TIMEOUT_MAX_SEC,
  NEGATIVE_CACHE_TTL_MAX_SEC,
  PROACTIVE_CONCURRENCY_MAX,
  PROACTIVE_INTERVAL_MAX_SEC,
  PROACTIVE_JITTER_MAX,
  SHUTDOWN_TIMEOUT_MAX_SEC,
} from './limits.js';
import { asMap, describe, readBool, readEnum, readMap, readNumber, readString, report, warn, type Field, type ReadContext } from './node-reader.js';
import type { BridgeConfig, CacheConfig, LoggingConfig, ProactiveFetchingConfig } from './types.js';
import { readSqliteCache, readStateDirectory } from './validate-cache-sqlite.js';
import { readPostgresCache } from './validate-cache-postgres.js';
import { readRedisCache } from './validate-cache-redis.js';
import { readListeners } from './validate-listeners.js';
import { readDns } from './validate-dns.js';
import { readMetrics } from './validate-metrics.js';
import { readPolicyDelegation } from './validate-policy-delegation.js';
import { readDefaultZone, readZones } from './validate-zone.js';

/** Every top-level key: the Python tool's, then ours. */
export const TOP_LEVEL_KEYS = [
  // postfix-mta-sts-resolver
  'host',
  'port',
  'path',
  'mode',
  'reuse_port',
  'shutdown_timeout',
  'cache_grace',
  'cache',
  'proactive_policy_fetching',
  'default_zone',
  'zones',
  // Found in the Python tool's early example file; it never read it. Accepted with a warning.
  'logfile',
  // mta-sts-bridge
  'listeners',
  'negative_cache_ttl',
  'negative_cache_size',
  'idle_timeout',
  'request_timeout',
  'logging',
  'policy_delegation',
  'state_directory',
  'user',
  'group',
  'metrics',
  'dns',
] as const;

const CACHE_KEYS = ['type', 'options'] as const;
const INTERNAL_CACHE_OPTION_KEYS = ['cache_size'] as const;
/** Backends the Python tool has; internal (memory) and sqlite exist here so far. */
const CACHE_TYPES = ['internal', 'sqlite', 'redis', 'redis_sentinel', 'postgres'] as const;
const CACHE_TYPE_ALIASES: Readonly<Record<string, 'internal'>> = { memory: 'internal' };
/** The Python tool's four keys, then ours (`jitter`). */
const PROACTIVE_KEYS = ['enabled', 'interval', 'concurrency_limit', 'grace_ratio', 'jitter'] as const;
const LOGGING_KEYS = ['level', 'format'] as const;
const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
// The Python tool's -v spelling and the usual long one.
const LOG_LEVEL_ALIASES: Readonly<Record<string, 'warn'>> = { warning: 'warn' };
const LOG_FORMATS = ['text', 'json'] as const;

/** Validates the document root (null for an empty file). Returns a config even when problems were reported. */
export function validateRoot(ctx: ReadContext, root: Node | null): BridgeConfig {
  const defaults = buildDefaultConfig();
  if (root === null) return defaults;
  if (!isMap(root)) {
    report(ctx, 'ECONFIG_TYPE', '', root, `the configuration must be a mapping of keys (like "port: 8461"), found ${describe(root)}`);
    return defaults;
  }
  const top = readMap(ctx, root, '', TOP_LEVEL_KEYS);
  const num = (key: string, rule: Parameters<typeof readNumber>[2], fallback: number): number => {
    const field = top.get(key);
    return (field === undefined ? undefined : readNumber(ctx, field, rule)) ?? fallback;
  };

  const logfile = top.get('logfile');
  if (logfile !== undefined) {
    warn(ctx, 'ECONFIG_IGNORED', logfile.path, logfile.keyNode, 'ignored: logs go to stderr (the Python resolver never read this key either)');
  }

  const zones = readZones(ctx, top.get('zones'));
  const metrics = readMetrics(ctx, top.get('metrics'));
  const dns = readDns(ctx, top.get('dns'));
  return {
    listeners: readListeners(
      ctx,
      {
        host: top.get('host'),
        port: top.get('port'),
        path: top.get('path'),
        mode: top.get('mode'),
        reusePort: top.get('reuse_port'),
        listeners: top.get('listeners'),
      },
      Object.keys(zones),
    ),
    shutdownTimeoutSec: num('shutdown_timeout', { above: 0, max: SHUTDOWN_TIMEOUT_MAX_SEC }, DEFAULT_SHUTDOWN_TIMEOUT_SEC),
    cacheGraceSec: num('cache_grace', { min: 0, max: CACHE_GRACE_MAX_SEC }, DEFAULT_CACHE_GRACE_SEC),
    negativeCacheTtlSec: num('negative_cache_ttl', { min: 0, max: NEGATIVE_CACHE_TTL_MAX_SEC }, DEFAULT_NEGATIVE_CACHE_TTL_SEC),
    negativeCacheSize: num('negative_cache_size', { integer: true, min: 0, max: CACHE_ENTRIES_MAX }, DEFAULT_NEGATIVE_CACHE_SIZE),
    idleTimeoutSec: num('idle_timeout', { above: 0, max: IDLE_TIMEOUT_MAX_SEC }, DEFAULT_IDLE_TIMEOUT_SEC),
    requestTimeoutSec: num('request_timeout', { above: 0, max: REQUEST_TIMEOUT_MAX_SEC }, DEFAULT_REQUEST_TIMEOUT_SEC),
    cache: readCache(ctx, top.get('cache'), readStateDirectory(ctx, top.get('state_directory'))),
    defaultZone: readDefaultZone(ctx, top.get('default_zone')),
    zones,
    logging: readLogging(ctx, top.get('logging')),
    policyDelegation: readPolicyDelegation(ctx, top.get('policy_delegation')),
    proactiveFetching: readProactive(ctx, top.get('proactive_policy_fetching')),
    ...readRunAs(ctx, top.get('user'), top.get('group')),
    ...(metrics !== undefined ? { metrics } : {}),
    ...(dns !== undefined ? { dns } : {}),
  };
}

/** `user:` and `group:` (names or numeric ids; resolved when the daemon starts, see src/privileges.ts). */
function readRunAs(ctx: ReadContext, user: Field | undefined, group: Field | undefined): { user?: string; group?: string } {
  const one = (field: Field | undefined): string | undefined => {
    if (field === undefined) return undefined;
    const n = field.node as { value?: unknown } | null;
    if (typeof n?.value === 'number' && Number.isInteger(n.value) && n.value >= 0 && n.value < 2 ** 32 - 1) return String(n.value);
    const s = readString(ctx, field);
    if (s === undefined) return undefined;
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}\$?$/.test(s)) {
      report(ctx, 'ECONFIG_BAD_VALUE', field.path, field.node, `must be a user or group name or a numeric id, found ${JSON.stringify(s)}`);
      return undefined;
    }
    return s;
  };
  const u = one(user);
  const g = one(group);
  if (g !== undefined && u === undefined && user === undefined) {
    report(ctx, 'ECONFIG_BAD_VALUE', group?.path ?? 'group', group?.node, 'needs "user:" too (the group alone is never dropped to)');
  }
  return { ...(u !== undefined ? { user: u } : {}), ...(g !== undefined ? { group: g } : {}) };
}

/** The background refresher (src/refresh/refresher.ts); keys the block leaves out take the defaults. */
function readProactive(ctx: ReadContext, field: Field | undefined): ProactiveFetchingConfig {
  const defaults = defaultProactiveFetching();
  if (field === undefined) return defaults;
  const map = asMap(ctx, field);
  if (map === undefined) return defaults;
  const f = readMap(ctx, map, field.path, PROACTIVE_KEYS);
  const get = <T>(key: (typeof PROACTIVE_KEYS)[number], read: (field: Field) => T | undefined): T | undefined => {
    const found = f.get(key);
    return found === undefined ? undefined : read(found);
  };
  return {
    enabled: get('enabled', (x) => readBool(ctx, x)) ?? defaults.enabled,
    intervalSec: get('interval', (x) => readNumber(ctx, x, { integer: true, min: 1, max: PROACTIVE_INTERVAL_MAX_SEC })) ?? defaults.intervalSec,
    concurrencyLimit:
      get('concurrency_limit', (x) => readNumber(ctx, x, { integer: true, min: 1, max: PROACTIVE_CONCURRENCY_MAX })) ?? defaults.concurrencyLimit,
    graceRatio: get('grace_ratio', (x) => readNumber(ctx, x, { above: 0 })) ?? defaults.graceRatio,
    jitter: get('jitter', (x) => readNumber(ctx, x, { min: 0, max: PROACTIVE_JITTER_MAX })) ?? defaults.jitter,
  };
}

function readCache(ctx: ReadContext, field: Field | undefined, stateDirectory: string | undefined): CacheConfig {
  const fallback: CacheConfig = { type: 'internal', cacheSize: DEFAULT_CACHE_SIZE };
  // No cache block at all: the persistent default. A block without `type` is the Python tool's `internal`.
  if (field === undefined) return readSqliteCache(ctx, undefined, stateDirectory);
  const map = asMap(ctx, field);
  if (map === undefined) return fallback;
  const f = readMap(ctx, map, field.path, CACHE_KEYS);
  const typeField = f.get('type');
  const type = typeField === undefined ? 'internal' : readEnum(ctx, typeField, CACHE_TYPES, CACHE_TYPE_ALIASES);
  if (type === undefined) return fallback;
  if (type === 'sqlite') return readSqliteCache(ctx, f.get('options'), stateDirectory);
  if (type === 'redis' || type === 'redis_sentinel') return readRedisCache(ctx, f.get('options'), type === 'redis_sentinel', typeField) ?? fallback;
  if (type === 'postgres') return readPostgresCache(ctx, f.get('options'), typeField) ?? fallback;
  const options = f.get('options');
  if (options === undefined) return fallback;
  const optionsMap = asMap(ctx, options);
  if (optionsMap === undefined) return fallback;
  const size = readMap(ctx, optionsMap, options.path, INTERNAL_CACHE_OPTION_KEYS).get('cache_size');
  const cacheSize = size === undefined ? undefined : readNumber(ctx, size, { integer: true, min: 1, max: CACHE_ENTRIES_MAX });
  return { type: 'internal', cacheSize: cacheSize ?? DEFAULT_CACHE_SIZE };
}

function readLogging(ctx: ReadContext, field: Field | undefined): LoggingConfig {
  if (field === undefined) return { ...DEFAULT_LOGGING };
  const map = asMap(ctx, field);
  if (map === undefined) return { ...DEFAULT_LOGGING };
  const f = readMap(ctx, map, field.path, LOGGING_KEYS);
  const level = f.get('level');
  const format = f.get('format');
  return {
    level: (level === undefined ? undefined : readEnum(ctx, level, LOG_LEVELS, LOG_LEVEL_ALIASES)) ?? DEFAULT_LOGGING.level,
    format: (format === undefined ? undefined : readEnum(ctx, format, LOG_FORMATS)) ?? DEFAULT_LOGGING.format,
  };
}
