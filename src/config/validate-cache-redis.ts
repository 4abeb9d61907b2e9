/**
 * `cache: {type: redis, options: {...}}` and `cache: {type: redis_sentinel, options: {...}}`.
 * Option keys are the Python postfix-mta-sts-resolver's (`url`, older versions' `address`,
 * `max_connections`, `socket_timeout`, `socket_connect_timeout`; for Sentinel
 * `sentinel_master_name`, `sentinels`, `password`) plus ours: `prefix`, `cluster_nodes`,
 * `cache_size`. Credentials and TLS of a single server go in the URL (`rediss://`,
 * `redis://:password@host`), as redis-py's `from_url` takes them there too.
 */
import { redactUrl } from '../cache/describe-connection.js';
import { isScalar, isSeq, type Node } from 'yaml';
import { DEFAULT_CACHE_SIZE } from './defaults.js';
import { CACHE_ENTRIES_MAX, PORT_MAX, PORT_MIN } from './limits.js';
import { asMap, asSeq, describe, readBool, readMap, readNumber, readString, report, warn, type Field, type ReadContext } from './node-reader.js';
import type { HostPort, RedisCacheConfig, RedisConnection } from './types.js';

export const REDIS_CACHE_OPTION_KEYS = [
  'url',
  'address',
  'cluster_nodes',
  'prefix',
  'socket_timeout',
  'socket_connect_timeout',
  'max_connections',
  'cache_size',
] as const;

export const REDIS_SENTINEL_OPTION_KEYS = [
  'sentinel_master_name',
  'sentinels',
  'username',
  'password',
  'sentinel_password',
  'db',
  'ssl',
  'prefix',
  'socket_timeout',
  'socket_connect_timeout',
  'max_connections',
  'cache_size',
] as const;

/** Our own: every key starts with this, so a shared Redis never sees bare domain names as keys. */
export const DEFAULT_REDIS_PREFIX = 'mta-sts-bridge:';
/**
 * Our own, shorter than the Python tool's 5 s (`defaults.REDIS_TIMEOUT`): a lookup waits at
 * most this long for a hung Redis before the memory layer answers instead, and Postfix's
 * socketmap client gives up after 100 s (dict_sockmap.c). Its own example configs use 1.0.
 */
export const DEFAULT_REDIS_TIMEOUT_SEC = 1;
/** Same reasoning for connecting (the Python tool's `socket_connect_timeout`). */
export const DEFAULT_REDIS_CONNECT_TIMEOUT_SEC = 1;
/** Longest command/connect timeout: well under Postfix's 100 s socketmap timeout (dict_sockmap.c `DICT_SOCKMAP_DEF_TIMEOUT`). */
export const REDIS_TIMEOUT_MAX_SEC = 30;
/** Redis numbers databases 0..`databases`-1 (redis.conf, default 16); the server refuses a missing one. This bound only rejects nonsense. */
export const REDIS_DB_MAX = 1_000_000;
/** Sentinel's default port (redis.io sentinel docs). */
export const REDIS_SENTINEL_DEFAULT_PORT = 26379;
/** Redis's default port. */
export const REDIS_DEFAULT_PORT = 6379;
/** A prefix is part of every key; Redis keys may be 512 MB, but a long prefix is surely a mistake. */
export const REDIS_PREFIX_MAX_LENGTH = 200;

const URL_SCHEMES = ['redis:', 'rediss:', 'unix:'] as const;

/** The Redis cache's `options` block, for `type: redis` (`sentinel` false) or `type: redis_sentinel`. */
export function readRedisCache(ctx: ReadContext, options: Field | undefined, sentinel: boolean, typeField: Field | undefined): RedisCacheConfig | undefined {
  const where = typeField?.path ?? 'cache.type';
  if (options === undefined) {
    const need = sentinel ? '"sentinel_master_name" and "sentinels"' : '"url" (redis://host:port/db) or "cluster_nodes"';
    report(ctx, 'ECONFIG_MISSING_KEY', where.replace(/\.type$/, '.options'), typeField?.node, `a ${sentinel ? 'redis_sentinel' : 'redis'} cache needs options: ${need}`);
    return undefined;
  }
  const map = asMap(ctx, options);
  if (map === undefined) return undefined;
  const f = readMap(ctx, map, options.path, sentinel ? REDIS_SENTINEL_OPTION_KEYS : REDIS_CACHE_OPTION_KEYS);

  const maxConnections = f.get('max_connections');
  if (maxConnections !== undefined && readNumber(ctx, maxConnections, { integer: true, min: 1 }) !== undefined) {
    warn(ctx, 'ECONFIG_IGNORED', maxConnections.path, maxConnections.keyNode, 'ignored: one connection (per Redis node) carries every command, pipelined');
  }
  const timeout = readSeconds(ctx, f.get('socket_timeout'), DEFAULT_REDIS_TIMEOUT_SEC);
  const connectTimeout = readSeconds(ctx, f.get('socket_connect_timeout'), DEFAULT_REDIS_CONNECT_TIMEOUT_SEC);
  const size = f.get('cache_size');
  const cacheSize = (size === undefined ? undefined : readNumber(ctx, size, { integer: true, min: 1, max: CACHE_ENTRIES_MAX })) ?? DEFAULT_CACHE_SIZE;
  const prefix = readPrefix(ctx, f.get('prefix'));
  const connection = sentinel ? readSentinel(ctx, f, options) : readSingleOrCluster(ctx, f, options);
  if (connection === undefined || prefix === undefined || timeout === undefined || connectTimeout === undefined) return undefined;
  return { type: 'redis', connection, prefix, commandTimeoutMs: timeout * 1000, connectTimeoutMs: connectTimeout * 1000, cacheSize };
}

function readSeconds(ctx: ReadContext, field: Field | undefined, fallback: number): number | undefined {
  if (field === undefined) return fallback;
  return readNumber(ctx, field, { above: 0, max: REDIS_TIMEOUT_MAX_SEC });
}

function readPrefix(ctx: ReadContext, field: Field | undefined): string | undefined {
  if (field === undefined) return DEFAULT_REDIS_PREFIX;
  const prefix = readString(ctx, field);
  if (prefix === undefined) return undefined;
  if (prefix.length > REDIS_PREFIX_MAX_LENGTH || /[\s*?[\]\\]/.test(prefix)) {
    // Glob characters would make the SCAN pattern match other programs' keys.
    report(ctx, 'ECONFIG_BAD_VALUE', field.path, field.node, `must be at most ${REDIS_PREFIX_MAX_LENGTH} characters without spaces or * ? [ ] \\, found "${prefix}"`);
    return undefined;
  }
  return prefix;
}

function readSingleOrCluster(ctx: ReadContext, f: Map<string, Field>, options: Field): RedisConnection | undefined {
  const url = f.get('url');
  const address = f.get('address');
  const cluster = f.get('cluster_nodes');
  if (url !== undefined && address !== undefined) {
    report(ctx, 'ECONFIG_BAD_VALUE', address.path, address.keyNode, '"address" is the older name of "url": give only one of them');
    return undefined;
  }
  const single = url ?? address;
  if (single !== undefined && cluster !== undefined) {
    report(ctx, 'ECONFIG_BAD_VALUE', cluster.path, cluster.keyNode, `give either "${single === url ? 'url' : 'address'}" (one server) or "cluster_nodes" (a Redis Cluster), not both`);
    return undefined;
  }
  if (single !== undefined) {
    const text = readString(ctx, single);
    if (text === undefined) return undefined;
    const problem = redisUrlProblem(text);
    if (problem !== undefined) {
      report(ctx, 'ECONFIG_BAD_VALUE', single.path, single.node, problem);
      return undefined;
    }
    return { kind: 'url', url: text };
  }
  if (cluster !== undefined) return readCluster(ctx, cluster);
  report(ctx, 'ECONFIG_MISSING_KEY', `${options.path}.url`, options.node, 'missing "url" (redis://host:port/db, rediss:// for TLS, unix:///path/redis.sock) or "cluster_nodes"');
  return undefined;
}

function readCluster(ctx: ReadContext, field: Field): RedisConnection | undefined {
  const seq = asSeq(ctx, field);
  if (seq === undefined) return undefined;
  const nodes: HostPort[] = [];
  let scheme: string | undefined;
  let username: string | undefined;
  let password: string | undefined;
  let ok = seq.items.length > 0;
  if (!ok) report(ctx, 'ECONFIG_BAD_VALUE', field.path, field.node, 'must list at least one node (redis://host:port)');
  seq.items.forEach((item, i) => {
    const path = `${field.path}[${i}]`;
    const node = item as Node;
    if (!isScalar(node) || typeof node.value !== 'string') {
      report(ctx, 'ECONFIG_TYPE', path, node, `must be a URL string (redis://host:port), found ${describe(node)}`);
      ok = false;
      return;
    }
    const text = node.value.includes('://') ? node.value : `redis://${node.value}`;
    const problem = redisUrlProblem(text);
    const parsed = problem === undefined ? new URL(text) : undefined;
    if (parsed === undefined || parsed.protocol === 'unix:') {
      report(ctx, 'ECONFIG_BAD_VALUE', path, node, problem ?? 'cluster nodes are reached over TCP: redis://host:port or rediss://host:port');
      ok = false;
      return;
    }
    if (scheme !== undefined && parsed.protocol !== scheme) {
      report(ctx, 'ECONFIG_BAD_VALUE', path, node, `every node must use the same scheme (${scheme}//): TLS is all or nothing in a cluster`);
      ok = false;
    }
    scheme ??= parsed.protocol;
    if (parsed.password !== '' && password === undefined) {
      password = decodeURIComponent(parsed.password);
      if (parsed.username !== '') username = decodeURIComponent(parsed.username);
    }
    nodes.push({ host: unbracket(parsed.hostname), port: parsed.port === '' ? REDIS_DEFAULT_PORT : Number(parsed.port) });
  });
  if (!ok) return undefined;
  return {
    kind: 'cluster',
    nodes,
    tls: scheme === 'rediss:',
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
  };
}

function readSentinel(ctx: ReadContext, f: Map<string, Field>, options: Field): RedisConnection | undefined {
  const name = f.get('sentinel_master_name');
  const list = f.get('sentinels');
  if (name === undefined) report(ctx, 'ECONFIG_MISSING_KEY', `${options.path}.sentinel_master_name`, options.node, 'missing "sentinel_master_name" (the name the sentinels monitor, e.g. mymaster)');
  if (list === undefined) report(ctx, 'ECONFIG_MISSING_KEY', `${options.path}.sentinels`, options.node, 'missing "sentinels" (a list of [host, port])');
  const masterName = name === undefined ? undefined : readString(ctx, name);
  const sentinels = list === undefined ? undefined : readSentinelList(ctx, list);
  const str = (key: string): string | undefined | null => {
    const field = f.get(key);
    if (field === undefined) return undefined;
    return readString(ctx, field, false) ?? null;
  };
  const username = str('username');
  const password = str('password');
  const sentinelPassword = str('sentinel_password');
  const dbField = f.get('db');
  const db = dbField === undefined ? 0 : readNumber(ctx, dbField, { integer: true, min: 0, max: REDIS_DB_MAX });
  const sslField = f.get('ssl');
  const tls = sslField === undefined ? false : readBool(ctx, sslField);
  if (masterName === undefined || sentinels === undefined || db === undefined || tls === undefined) return undefined;
  if (username === null || password === null || sentinelPassword === null) return undefined;
  return {
    kind: 'sentinel',
    masterName,
    sentinels,
    db,
    tls,
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(sentinelPassword !== undefined ? { sentinelPassword } : {}),
  };
}

/** `[["sentinel1", 26379], "sentinel2:26379", "sentinel3"]`: the Python tool's pairs, or host[:port] strings. */
function readSentinelList(ctx: ReadContext, field: Field): HostPort[] | undefined {
  const seq = asSeq(ctx, field);
  if (seq === undefined) return undefined;
  if (seq.items.length === 0) {
    report(ctx, 'ECONFIG_BAD_VALUE', field.path, field.node, 'must list at least one sentinel');
    return undefined;
  }
  const out: HostPort[] = [];
  let ok = true;
  seq.items.forEach((item, i) => {
    const path = `${field.path}[${i}]`;
    const node = item as Node;
    const hp = sentinelEntry(node);
    if (hp === undefined) {
      report(ctx, 'ECONFIG_BAD_VALUE', path, node, `must be [host, port] or "host:port" with a port ${PORT_MIN}..${PORT_MAX}, found ${describe(node)}`);
      ok = false;
      return;
    }
    out.push(hp);
  });
  return ok ? out : undefined;
}

function sentinelEntry(node: Node): HostPort | undefined {
  if (isSeq(node)) {
    const [host, port] = node.items.map((n) => (isScalar(n) ? n.value : undefined));
    if (node.items.length !== 2 || typeof host !== 'string' || host === '') return undefined;
    const p = typeof port === 'number' ? port : typeof port === 'string' && /^[0-9]+$/.test(port) ? Number(port) : NaN;
    return validPort(p) ? { host, port: p } : undefined;
  }
  if (isScalar(node) && typeof node.value === 'string') {
    const m = /^(?:\[([^\]]+)\]|([^:\s]+))(?::([0-9]+))?$/.exec(node.value);
    if (m === null) return undefined;
    const port = m[3] === undefined ? REDIS_SENTINEL_DEFAULT_PORT : Number(m[3]);
    return validPort(port) ? { host: m[1] ?? m[2] ?? '', port } : undefined;
  }
  return undefined;
}

function validPort(p: number): boolean {
  return Number.isInteger(p) && p >= PORT_MIN && p <= PORT_MAX;
}

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * Why `text` is not a usable Redis URL, or undefined when it is. Pure. The message never
 * repeats a password. Accepted: `redis://[[user]:password@]host[:port][/db]`, `rediss://...`
 * (TLS), `unix:///path/to/redis.sock[?db=N]`.
 */
export function redisUrlProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `must be a URL such as redis://127.0.0.1:6379/0, found "${redactUrl(text)}"`;
  }
  if (!(URL_SCHEMES as readonly string[]).includes(url.protocol)) {
    return `the scheme must be redis://, rediss:// (TLS) or unix://, found "${url.protocol}//"`;
  }
  if (url.protocol === 'unix:') {
    if (!url.pathname.startsWith('/') || url.pathname === '/') return 'a unix:// URL needs the socket\'s absolute path: unix:///run/redis/redis.sock';
    const db = url.searchParams.get('db');
    if (db !== null && !/^[0-9]+$/.test(db)) return `?db= must be a database number, found "${db}"`;
    return undefined;
  }
  if (url.hostname === '') return `names no host, found "${redactUrl(text)}"`;
  if (!/^\/?(?:[0-9]+)?$/.test(url.pathname)) return `the path must be a database number (/0), found "${url.pathname}"`;
  return undefined;
}

export { describeRedisConnection, redactUrl } from '../cache/describe-connection.js';
