/**
 * The configuration, declared once (zod): every key with its type, range and default. Key names
 * follow the Python postfix-mta-sts-resolver (`mta-sts-daemon.yml`) so its files load unchanged,
 * and its defaults (`defaults.py`) where a key is shared; "ours" marks our own choices. Each rule
 * reports a stable ECONFIG_* code; yaml-source.ts adds the line. `buildConfig` takes plain data
 * (from YAML, or `{}` for the embedded defaults) and never throws.
 */
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { redactDsn, redactUrl } from '../cache/describe-connection.js';
import { DANE_DEFAULTS, type DaneSettings } from '../dane/decision.js';
import { parseResolverAddress } from '../dane/resolver-address.js';
import { parseDnssecProbe } from '../dane/probe-spec.js';
import { toPolicyDomain } from '../policy/domain.js';
import {
  checkHost,
  checkUnixPath,
  formatListenAddress,
  listenAddressKey,
  parseListenAddress,
  PORT_MAX,
  PORT_MIN,
  type ListenAddress,
} from '../server/listen-address.js';
import * as D from './defaults.js';
import { pathText, type ConfigProblemCode } from './problems.js';
import { didYouMean } from './suggest.js';

// ---- Limits (each says where it comes from, so it can be argued with) -------------------------
/** Largest config file (1 MiB; 40,000 one-line zones take ~600 KB); issue 13: 50 MB took 3 GB. */
export const CONFIG_FILE_MAX_BYTES = 1_048_576;
/** Entries read through aliases and `<<` merges, whole file: bounds an "alias bomb" to ~1 s. */
export const CONFIG_ALIAS_EXPANSION_MAX = 250_000;
/** Memory sanity bound of every cache (entries): ten million is gigabytes already. */
const CACHE_ENTRIES_MAX = 10_000_000;
/** Postfix's socketmap client gives up after 100 s (dict_sockmap.c): every wait stays well below. */
const BACKEND_TIMEOUT_MAX_SEC = 30;

// ---- Defaults: those of an empty file come from defaults.ts (plain data), the others are here ---
const TOP = D.DEFAULT_LIMITS;
const ZONE = D.DEFAULT_ZONE;
const P = D.DEFAULT_PROACTIVE_FETCHING;
/** Our own key prefix, so a shared Redis never holds bare domain names as keys. */
const DEFAULT_REDIS_PREFIX = 'mta-sts-bridge:';

/** A problem found by the schema; yaml-source.ts turns it into a ConfigProblem with a line. */
export interface Issue {
  readonly code: ConfigProblemCode;
  readonly path: readonly PropertyKey[];
  readonly message: string;
  /** Locate at the key ('key'), the enclosing mapping ('parent') or a sibling key's value. */
  readonly on?: string | undefined;
}
type Ctx = z.RefinementCtx;

function fail(ctx: Ctx, code: ConfigProblemCode, message: string, path: PropertyKey[] = [], on?: string): never {
  ctx.addIssue({ code: 'custom', message, path, params: { code, on } });
  return z.NEVER;
}

/** The defined entries of `o`: a config leaves an absent optional key out, never sets it to undefined. */
function present<O extends object>(o: O): { [K in keyof O]?: Exclude<O[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof O]?: Exclude<O[K], undefined> };
}

/** A short description of what was found instead, for type errors. */
function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  if (typeof v === 'number') return `the number ${String(v)}`;
  return v !== null && typeof v === 'object' ? 'a mapping' : String(v);
}
const MAPPING = 'a mapping (key: value lines)';
/** ECONFIG_TYPE: `must be WANT, found` a description of what is there instead. */
const wrongType = (ctx: Ctx, want: string, v: unknown, path?: PropertyKey[]): never =>
  fail(ctx, 'ECONFIG_TYPE', `must be ${want}, found ${describe(v)}`, path);

// ---- Scalars ----------------------------------------------------------------------------------
interface NumberRule {
  readonly integer?: boolean;
  readonly min?: number;
  /** Exclusive lower bound. */
  readonly above?: number;
  readonly max?: number;
}
const bool = z.unknown().transform((v, ctx) => (typeof v === 'boolean' ? v : wrongType(ctx, 'true or false', v)));
const num = (r: NumberRule) =>
  z.unknown().transform((v, ctx): number => {
    const low = r.min !== undefined ? `at least ${r.min}` : r.above !== undefined ? `greater than ${r.above}` : undefined;
    const range = [low, r.max !== undefined ? `at most ${r.max}` : undefined].filter((x) => x !== undefined).join(' and ');
    const want = `${r.integer === true ? 'an integer' : 'a number'}${range === '' ? '' : ` ${range}`}`;
    if (typeof v !== 'number' || !Number.isFinite(v) || (r.integer === true && !Number.isInteger(v))) return wrongType(ctx, want, v);
    if ((r.min !== undefined && v < r.min) || (r.above !== undefined && v <= r.above) || (r.max !== undefined && v > r.max)) {
      return fail(ctx, 'ECONFIG_RANGE', `must be ${want}, found ${v}`);
    }
    return v;
  });
const str = (nonEmpty = true) =>
  z.unknown().transform((v, ctx): string => {
    if (typeof v !== 'string') return wrongType(ctx, 'a string', v);
    return nonEmpty && v.trim() === '' ? fail(ctx, 'ECONFIG_BAD_VALUE', 'must not be empty') : v;
  });
const oneOf = <V extends string>(values: readonly V[], aliases: Readonly<Record<string, V>> = {}) =>
  str().transform((s, ctx): V => {
    if ((values as readonly string[]).includes(s)) return s as V;
    if (Object.hasOwn(aliases, s)) return aliases[s] as V;
    return fail(ctx, 'ECONFIG_BAD_VALUE', `must be one of ${values.map((x) => `"${x}"`).join(', ')}, found "${s}"${didYouMean(s, values)}`);
  });
/** A string in which `problem` finds nothing wrong (it says what is wrong, or returns undefined). */
const checked = (code: ConfigProblemCode, problem: (s: string) => string | undefined) =>
  str().transform((s, ctx) => {
    const why = problem(s);
    return why === undefined ? s : fail(ctx, code, why);
  });
/** A value that must be given: MISSING_KEY, located at the enclosing mapping. */
const need = <S extends z.ZodType<unknown, unknown>>(schema: S, message: string) =>
  z
    .unknown()
    .optional()
    .transform((v, ctx): unknown => (v === undefined ? fail(ctx, 'ECONFIG_MISSING_KEY', message, [], 'parent') : v))
    .pipe(schema);
const size = (max: number, min = 1) => num({ integer: true, min, max });
const cacheSize = size(CACHE_ENTRIES_MAX).default(D.DEFAULT_CACHE_SIZE);
const seconds = (max: number, dflt: number) => num({ above: 0, max }).default(dflt);
const list = z.unknown().transform((v, ctx): unknown[] => (Array.isArray(v) ? (v as unknown[]) : wrongType(ctx, 'a list', v)));
/** Parses `v` with `schema` inside a transform, its issues placed under `path`; undefined when it fails. */
function sub<S extends z.ZodType>(ctx: Ctx, schema: S, v: unknown, path: PropertyKey[] = []): z.output<S> | undefined {
  const r = schema.safeParse(v);
  if (r.success) return r.data;
  for (const i of r.error.issues) ctx.addIssue({ ...(i as z.core.$ZodIssueCustom), path: [...path, ...i.path] });
  return undefined;
}
/** A mapping with exactly these keys (unknown ones get a did-you-mean hint). */
const KNOWN = '\0known:';
const obj = <S extends z.core.$ZodLooseShape>(shape: S) =>
  z.strictObject(shape, {
    error: (iss) =>
      iss.code === 'unrecognized_keys' ? KNOWN + Object.keys(shape).join('\0') : `must be ${MAPPING}, found ${describe(iss.input)}`,
  });

/** A unix socket file mode: PyYAML's 0666 (octal), 0o666, decimal 438, or the strings "0666", "0o666", "666". */
const fileMode = z.unknown().transform((v, ctx): number => {
  let value = v;
  if (typeof v === 'string') {
    const m = /^(?:0o?)?([0-7]{1,4})$/.exec(v.trim());
    if (m?.[1] === undefined) {
      const why = /^0[0-9]+$/.test(v) ? 'an octal file mode (digits 0-7 only)' : 'an octal file mode such as 0666 or 0o660';
      return fail(ctx, 'ECONFIG_BAD_VALUE', `"${v}" is not ${why}`);
    }
    value = Number.parseInt(m[1], 8);
  }
  if (typeof value !== 'number' || !Number.isInteger(value)) return wrongType(ctx, 'an octal file mode such as 0666 or 0o660', v);
  if (value >= 0 && value <= 0o777) return value; // permission bits only: chmod(2) on a socket ignores the rest
  const hint = /^[0-7]{3}$/.test(String(value)) ? ` (did you mean 0${value}? without the leading 0 it is the decimal number ${value})` : '';
  return fail(ctx, 'ECONFIG_RANGE', `must be a file mode between 0 and 0777, found ${value} (0o${value.toString(8)})${hint}`);
});
/** A user or group: a name as useradd(8) takes it (32 characters, `$` for machine accounts) or a numeric id. */
const account = (what: string, nameRule = /^[A-Za-z_][A-Za-z0-9_.-]*\$?$/) =>
  z
    .unknown()
    .transform((v) => (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 2 ** 32 - 1 ? String(v) : v))
    .pipe(str())
    .transform((s, ctx) =>
      /^[0-9]+$/.test(s) || (nameRule.test(s) && s.length <= 32)
        ? s
        : fail(ctx, 'ECONFIG_BAD_VALUE', `must be ${what}, found ${JSON.stringify(s)}`),
    );

// ---- Blocks -----------------------------------------------------------------------------------
/** A zone block fills left-out keys from these defaults, not from `default_zone` (the Python tool's rule). */
const zoneSchema = obj({
  strict_testing: bool.default(ZONE.strictTesting),
  timeout: seconds(60, ZONE.timeoutSec), // max far below Postfix's 100 s
  require_sni: bool.default(ZONE.requireSni),
  tlsrpt: bool.default(ZONE.tlsrpt),
  dns_error: oneOf(['no-policy', 'temp'], { no_policy: 'no-policy', tempfail: 'temp' }).default(ZONE.dnsErrorAnswer),
  dane: bool.optional(),
  dane_level: oneOf(['dane', 'dane-only']).optional(),
  dane_lookup_failure: oneOf(['temp', 'sts']).optional(),
}).transform((z) => {
  const noDane = z.dane === undefined && z.dane_level === undefined && z.dane_lookup_failure === undefined;
  const dane: DaneSettings | undefined = noDane
    ? undefined
    : {
        enabled: z.dane ?? DANE_DEFAULTS.enabled,
        level: z.dane_level ?? DANE_DEFAULTS.level,
        lookupFailure: z.dane_lookup_failure ?? DANE_DEFAULTS.lookupFailure,
      };
  return {
    /** Treat `mode: testing` like `enforce` (Python tool's key). */
    strictTesting: z.strict_testing,
    /** Total deadline, in seconds, for one resolution (DNS + HTTPS). */
    timeoutSec: z.timeout,
    /** Add `servername=hostname` to secure answers (Postfix 3.4+). */
    requireSni: z.require_sni,
    /** Add Postfix 3.10 TLSRPT / MX-pattern attributes (`policy_type=sts ...`). */
    tlsrpt: z.tlsrpt,
    /** Answer on a DNS error with nothing cached: 'no-policy' (RFC 8461 default) or 'temp' (defer mail). */
    dnsErrorAnswer: z.dns_error,
    ...present({
      /** Zone keys `dane`, `dane_level`, `dane_lookup_failure` (docs/dane.md); absent: DANE off. */
      dane,
    }),
  };
});

const zones = z.unknown().transform((map, ctx): Record<string, z.output<typeof zoneSchema>> => {
  if (map === null || typeof map !== 'object' || Array.isArray(map)) return wrongType(ctx, MAPPING, map);
  const out: [string, z.output<typeof zoneSchema>][] = [];
  for (const [name, block] of Object.entries(map)) {
    // Postfix sends "NAME KEY" and the server splits at the first space: such a name never matches.
    if (/\s/.test(name) || name === '')
      fail(ctx, 'ECONFIG_BAD_VALUE', 'a zone name must be one word: Postfix sends "NAME KEY" separated by a space', [name], 'key');
    else {
      const zone = sub(ctx, zoneSchema, block, [name]);
      if (zone !== undefined) out.push([name, zone]);
    }
  }
  return Object.fromEntries(out); // own properties: even a zone called "__proto__" stays plain data
});

const sqliteOptions = obj({
  filename: checked('ECONFIG_BAD_VALUE', (f) =>
    f === ':memory:' ? 'an in-memory SQLite database persists nothing; use "type: internal" instead' : undefined,
  ).default(D.DEFAULT_CACHE.filename),
  threads: size(1024).optional(), // the Python tool's pool size: accepted, ignored
  timeout: seconds(BACKEND_TIMEOUT_MAX_SEC, D.DEFAULT_SQLITE_TIMEOUT_SEC), // better-sqlite3 waits synchronously
  cache_size: cacheSize,
  on_corrupt: oneOf(['move', 'refuse']).default(D.DEFAULT_CACHE.onCorrupt ?? 'move'),
}).transform((o) => ({
  type: 'sqlite' as const,
  /**
   * The database file as written (`options.filename`, the Python tool's key). A relative name
   * is taken inside the state directory, never relative to the working directory.
   */
  filename: o.filename,
  /** SQLite busy timeout in seconds (`options.timeout`, the Python tool's key). */
  timeoutSec: o.timeout,
  /** Entries kept in the in-process memory layer in front of the file (`options.cache_size`). */
  cacheSize: o.cache_size,
  ...present({
    /**
     * `options.on_corrupt`: a file SQLite reports damaged or not a database at start is moved
     * aside and a new one created (`move`, also when absent), or the start is refused (`refuse`).
     */
    onCorrupt: o.on_corrupt,
  }),
}));

/** Why `text` is not a usable Redis URL (never repeating a password), or undefined. */
export function redisUrlProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `must be a URL such as redis://127.0.0.1:6379/0, found "${redactUrl(text)}"`;
  }
  if (!['redis:', 'rediss:', 'unix:'].includes(url.protocol))
    return `the scheme must be redis://, rediss:// (TLS) or unix://, found "${url.protocol}//"`;
  if (url.protocol === 'unix:') {
    if (!url.pathname.startsWith('/') || url.pathname === '/')
      return "a unix:// URL needs the socket's absolute path: unix:///run/redis/redis.sock";
    const db = url.searchParams.get('db');
    return db !== null && !/^[0-9]+$/.test(db) ? `?db= must be a database number, found "${db}"` : undefined;
  }
  if (url.hostname === '') return `names no host, found "${redactUrl(text)}"`;
  return /^\/?(?:[0-9]+)?$/.test(url.pathname) ? undefined : `the path must be a database number (/0), found "${url.pathname}"`;
}

const redisUrl = checked('ECONFIG_BAD_VALUE', redisUrlProblem);
/** `options.cluster_nodes`: a Redis Cluster, discovered from these seed nodes. */
const clusterNodes = list.transform((items, ctx) => {
  if (items.length === 0) fail(ctx, 'ECONFIG_BAD_VALUE', 'must list at least one node (redis://host:port)');
  let scheme: string | undefined;
  const urls = items.map((item, i) => {
    if (typeof item !== 'string') return wrongType(ctx, 'a URL string (redis://host:port)', item, [i]);
    const text = item.includes('://') ? item : `redis://${item}`;
    const problem = redisUrlProblem(text);
    const url = problem === undefined ? new URL(text) : undefined;
    if (url === undefined || url.protocol === 'unix:')
      return fail(ctx, 'ECONFIG_BAD_VALUE', problem ?? 'cluster nodes are reached over TCP: redis://host:port or rediss://host:port', [i]);
    if (scheme !== undefined && url.protocol !== scheme)
      fail(ctx, 'ECONFIG_BAD_VALUE', `every node must use the same scheme (${scheme}//): TLS is all or nothing in a cluster`, [i]);
    scheme ??= url.protocol;
    return url;
  });
  if (!urls.every((u) => u instanceof URL)) return z.NEVER;
  const auth = urls.find((u) => u.password !== '');
  return {
    kind: 'cluster' as const,
    nodes: urls.map((u) => ({ host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port: u.port === '' ? 6379 : Number(u.port) })), // Redis's default port
    tls: scheme === 'rediss:',
    ...present({
      username: auth !== undefined && auth.username !== '' ? decodeURIComponent(auth.username) : undefined,
      password: auth !== undefined ? decodeURIComponent(auth.password) : undefined,
    }),
  };
});
/** `[["sentinel1", 26379], "sentinel2:26379", "sentinel3"]`: the Python tool's pairs, or host[:port]. */
const sentinelList = list.transform((items, ctx) => {
  if (items.length === 0) return fail(ctx, 'ECONFIG_BAD_VALUE', 'must list at least one sentinel');
  return items.map((item, i) => {
    let hp: { host: string; port: number } | undefined;
    if (Array.isArray(item) && item.length === 2 && typeof item[0] === 'string' && item[0] !== '') {
      const p: unknown = item[1];
      hp = { host: item[0], port: typeof p === 'number' ? p : typeof p === 'string' && /^[0-9]+$/.test(p) ? Number(p) : NaN };
    } else if (typeof item === 'string') {
      const m = /^(?:\[([^\]]+)\]|([^:\s]+))(?::([0-9]+))?$/.exec(item);
      if (m !== null) hp = { host: m[1] ?? m[2] ?? '', port: m[3] === undefined ? 26379 : Number(m[3]) }; // Sentinel's default port
    }
    if (hp !== undefined && Number.isInteger(hp.port) && hp.port >= PORT_MIN && hp.port <= PORT_MAX) return hp;
    return fail(
      ctx,
      'ECONFIG_BAD_VALUE',
      `must be [host, port] or "host:port" with a port ${PORT_MIN}..${PORT_MAX}, found ${describe(item)}`,
      [i],
    );
  });
});
const redisCommon = {
  // Glob characters would make the SCAN pattern match other programs' keys.
  prefix: checked('ECONFIG_BAD_VALUE', (p) =>
    p.length <= 200 && !/[\s*?[\]\\]/.test(p) ? undefined : `must be at most 200 characters without spaces or * ? [ ] \\, found "${p}"`,
  ).default(DEFAULT_REDIS_PREFIX),
  // Ours: 1 s (Python: 5 s); a hung Redis costs a lookup that long before the memory layer answers.
  socket_timeout: seconds(BACKEND_TIMEOUT_MAX_SEC, 1),
  socket_connect_timeout: seconds(BACKEND_TIMEOUT_MAX_SEC, 1),
  max_connections: num({ integer: true, min: 1 }).optional(), // one pipelined connection: ignored
  cache_size: cacheSize,
};
/** A Redis block's output (`type: redis` or `redis_sentinel`), whichever way it reaches the server(s). */
const redisCache = <C>(o: z.output<z.ZodObject<typeof redisCommon>>, connection: C) => ({
  type: 'redis' as const,
  /** How the Redis cache reaches its server(s). */
  connection,
  /** Prepended to every key (`options.prefix`), so keys are never bare domain names. */
  prefix: o.prefix,
  /** Longest wait for one command (`options.socket_timeout`, the Python tool's key, in seconds there). */
  commandTimeoutMs: o.socket_timeout * 1000,
  /** Longest wait for a connection (`options.socket_connect_timeout`). */
  connectTimeoutMs: o.socket_connect_timeout * 1000,
  /** Entries kept in the in-process memory layer in front of Redis (`options.cache_size`). */
  cacheSize: o.cache_size,
});
const redisOptions = obj({
  url: redisUrl.optional(),
  address: redisUrl.optional(),
  cluster_nodes: clusterNodes.optional(),
  ...redisCommon,
}).transform((o, ctx) => {
  if (o.url !== undefined && o.address !== undefined)
    return fail(ctx, 'ECONFIG_BAD_VALUE', '"address" is the older name of "url": give only one of them', ['address'], 'key');
  const single = o.url ?? o.address;
  if (single !== undefined && o.cluster_nodes !== undefined) {
    return fail(
      ctx,
      'ECONFIG_BAD_VALUE',
      `give either "${o.url !== undefined ? 'url' : 'address'}" (one server) or "cluster_nodes" (a Redis Cluster), not both`,
      ['cluster_nodes'],
      'key',
    );
  }
  // One server: a `redis://`, `rediss://` (TLS) or `unix://` URL, credentials and db inside it.
  if (single !== undefined) return redisCache(o, { kind: 'url' as const, url: single });
  if (o.cluster_nodes !== undefined) return redisCache(o, o.cluster_nodes);
  return fail(
    ctx,
    'ECONFIG_MISSING_KEY',
    'missing "url" (redis://host:port/db, rediss:// for TLS, unix:///path/redis.sock) or "cluster_nodes"',
    ['url'],
    'parent',
  );
});
const secret = str(false).optional();
const sentinelOptions = obj({
  sentinel_master_name: need(str(), 'missing "sentinel_master_name" (the name the sentinels monitor, e.g. mymaster)'),
  sentinels: need(sentinelList, 'missing "sentinels" (a list of [host, port])'),
  username: secret,
  password: secret,
  sentinel_password: secret,
  db: size(1_000_000, 0).default(0), // Redis refuses a missing database; this only rejects nonsense
  ssl: bool.default(false),
  ...redisCommon,
}).transform((o) =>
  // `type: redis_sentinel`: the master named `masterName`, found through the sentinels.
  redisCache(o, {
    kind: 'sentinel' as const,
    masterName: o.sentinel_master_name,
    sentinels: o.sentinels,
    db: o.db,
    tls: o.ssl,
    ...present({ username: o.username, password: o.password, sentinelPassword: o.sentinel_password }),
  }),
);

/** Why `dsn` is not a libpq connection URI (asyncpg, the Python tool's driver, takes only those), or undefined. */
export function dsnProblem(dsn: string): string | undefined {
  let url: URL;
  try {
    url = new URL(dsn);
  } catch {
    return `must be a connection URI such as postgresql://user@host:5432/database, found "${redactDsn(dsn)}"`;
  }
  return ['postgres:', 'postgresql:'].includes(url.protocol)
    ? undefined
    : `the scheme must be postgresql:// or postgres://, found "${url.protocol}//"`;
}
const postgresCacheSchema = obj({
  dsn: need(checked('ECONFIG_BAD_VALUE', dsnProblem), 'missing "dsn" (postgresql://user@host:5432/database)'),
  timeout: seconds(BACKEND_TIMEOUT_MAX_SEC, 2), // ours: room for TCP + TLS + SCRAM on a slow network
  min_size: size(100, 0).optional(), // connections open on demand: ignored
  max_size: size(100).default(10), // asyncpg's default; PostgreSQL's default max_connections is 100
  cache_size: cacheSize,
}).transform((o) => ({
  type: 'postgres' as const,
  dsn: o.dsn,
  timeoutMs: o.timeout * 1000,
  poolSize: o.max_size,
  cacheSize: o.cache_size,
}));

const memoryCacheSchema = obj({ cache_size: cacheSize }).transform((o) => ({ type: 'internal' as const, cacheSize: o.cache_size }));
const CACHE_OPTIONS = {
  internal: memoryCacheSchema,
  sqlite: sqliteOptions,
  redis: redisOptions,
  redis_sentinel: sentinelOptions,
  postgres: postgresCacheSchema,
} as const;
const NEEDS_OPTIONS: Readonly<Record<string, string>> = {
  redis: 'a redis cache needs options: "url" (redis://host:port/db) or "cluster_nodes"',
  redis_sentinel: 'a redis_sentinel cache needs options: "sentinel_master_name" and "sentinels"',
  postgres: 'a postgres cache needs options: {dsn: "postgresql://user@host/database"}',
};
/** How the Redis cache reaches its server(s): the `connection` of either Redis block. */
type RedisConnection = (z.output<typeof redisOptions> | z.output<typeof sentinelOptions>)['connection'];
/** A cache block's output, the Redis blocks as one type whose `connection` is any of the three. */
type CacheOutput =
  Exclude<z.output<(typeof CACHE_OPTIONS)[keyof typeof CACHE_OPTIONS]>, { type: 'redis' }> | ReturnType<typeof redisCache<RedisConnection>>;
/** No block: the persistent SQLite default; a block without `type` is the Python tool's `internal`. */
const cache = obj({
  type: oneOf(Object.keys(CACHE_OPTIONS) as (keyof typeof CACHE_OPTIONS)[], { memory: 'internal' }).default('internal'),
  options: z.unknown().optional(),
}).transform((c, ctx): CacheOutput => {
  const needs = NEEDS_OPTIONS[c.type];
  if (c.options === undefined && needs !== undefined) return fail(ctx, 'ECONFIG_MISSING_KEY', needs, ['options'], 'type');
  return sub(ctx, CACHE_OPTIONS[c.type], c.options ?? {}, ['options']) ?? z.NEVER;
});

/** `policy_delegation:`: the background warm-up fed by `protocol: policy` listeners. */
const policyDelegationSchema = obj({
  queue_size: size(1_000_000).default(D.DEFAULT_POLICY_DELEGATION.queueSize), // bounds memory (names are ≤ 253 bytes)
  concurrency: size(256).default(D.DEFAULT_POLICY_DELEGATION.concurrency), // each may hold a DNS query and an HTTPS connection
  skip_domains: list
    .transform((items, ctx) =>
      items.map((item, i) => {
        if (item === null) return fail(ctx, 'ECONFIG_TYPE', 'an empty entry; write a domain such as example.org or .example.org', [i]);
        const text = sub(ctx, str(), item, [i]);
        if (text === undefined) return '';
        const checked = toPolicyDomain(text.startsWith('.') ? text.slice(1) : text);
        if (checked.ok) return text.startsWith('.') ? `.${checked.domain}` : checked.domain;
        return fail(
          ctx,
          'ECONFIG_BAD_VALUE',
          `"${text}" is not a domain name (example.org) or a parent domain (.example.org): ${checked.message}`,
          [i],
        );
      }),
    )
    .default([]),
}).transform((o) => ({ queueSize: o.queue_size, concurrency: o.concurrency, skipDomains: o.skip_domains }));

/**
 * `proactive_policy_fetching:`: the background refresher of cached policies (RFC 8461 §3.3, §10.2):
 * the Python tool's four keys, then our `jitter`.
 */
const proactiveSchema = obj({
  enabled: bool.default(P.enabled),
  interval: size(31_557_600).default(P.intervalSec), // at most max_age's maximum, a year
  concurrency_limit: size(10_000).default(P.concurrencyLimit),
  grace_ratio: num({ above: 0 }).default(P.graceRatio),
  // At most half, so a refresh lease (interval × (1 − jitter)) ends before its holder's next run.
  jitter: num({ min: 0, max: 0.5 }).default(P.jitter),
}).transform((p) => ({
  enabled: p.enabled,
  intervalSec: p.interval,
  concurrencyLimit: p.concurrency_limit,
  graceRatio: p.grace_ratio,
  jitter: p.jitter,
}));

const loggingSchema = obj({
  level: oneOf(['error', 'warn', 'info', 'debug'], { warning: 'warn' }).default(D.DEFAULT_LOGGING.level),
  format: oneOf(['text', 'json']).default(D.DEFAULT_LOGGING.format),
});

const metricsSchema = obj({ address: need(str(), 'missing "address" (HOST:PORT or [IPV6]:PORT, e.g. 127.0.0.1:9464)') }).transform(
  (m, ctx): { host: string; port: number } => {
    const parsed = parseListenAddress(m.address);
    if (!parsed.ok) return fail(ctx, 'ECONFIG_ADDRESS', `"${m.address}": ${parsed.reason}`, ['address']);
    if (parsed.address.kind !== 'tcp' || m.address.startsWith('inet:'))
      return fail(ctx, 'ECONFIG_ADDRESS', `"${m.address}": the metrics listener takes HOST:PORT or [IPV6]:PORT`, ['address']);
    return { host: parsed.address.host, port: parsed.address.port };
  },
);

/** `dns: {resolver}` (docs/dane.md): the DANE side's validating resolver. */
const dnsSchema = obj({
  resolver: str()
    .transform((s, ctx) => {
      const parsed = parseResolverAddress(s);
      return parsed.ok ? parsed.address : fail(ctx, 'ECONFIG_ADDRESS', `"${s}": ${parsed.message}`);
    })
    .optional(),
  probe: str()
    .transform((s, ctx) => {
      const parsed = parseDnssecProbe(s);
      return parsed.ok ? parsed.probe : fail(ctx, 'ECONFIG_BAD_VALUE', `"${s}": ${parsed.message}`);
    })
    .optional(),
}).transform((d) => present(d));

// ---- Listeners --------------------------------------------------------------------------------
/** systemd `FileDescriptorName=`: at most 255 printable ASCII characters, no ':' (sd_listen_fds_with_names(3)). */
const fdName = checked('ECONFIG_BAD_VALUE', (n) =>
  n.length <= 255 && /^[\x21-\x39\x3b-\x7e]+$/.test(n)
    ? undefined
    : `"${n}" cannot be a systemd FileDescriptorName: use at most 255 printable characters, no spaces and no ":"`,
);
const listenAddress = z
  .unknown()
  .transform((v, ctx) =>
    Array.isArray(v) ? fail(ctx, 'ECONFIG_TYPE', `must be a string, found ${describe(v)}; quote IPv6 addresses: "[::1]:8461"`) : v,
  )
  .pipe(str())
  .transform((text, ctx): ListenAddress => {
    const parsed = parseListenAddress(text);
    return parsed.ok ? parsed.address : fail(ctx, 'ECONFIG_ADDRESS', `"${text}": ${parsed.reason}`);
  });
/** One `listeners:` entry; `reuse_port` left out takes the top-level value (the caller's). */
const listenerEntry = obj({
  protocol: oneOf(['socketmap', 'tcp_table', 'policy', 'exim']).default('socketmap'),
  address: need(listenAddress, 'missing "address" (HOST:PORT, [IPV6]:PORT or unix:/path)'),
  mode: fileMode.optional(),
  zone: str().optional(),
  reuse_port: bool.optional(),
  name: fdName.optional(),
  owner: account('a user name or numeric uid').optional(),
  group: account('a group name or numeric gid').optional(),
  max_connections: size(10_000_000).optional(), // far above any fd limit a daemon gets
});
type ListenerEntry = z.output<typeof listenerEntry>;

// ---- The whole file ---------------------------------------------------------------------------
/** Top-level `user:` and `group:`, resolved when the daemon starts (src/privileges.ts). */
const systemAccount = account('a user or group name or a numeric id', /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}\$?$/);
const ROOT = {
  // postfix-mta-sts-resolver: one socketmap listener; a non-null `path` wins over host/port
  host: checked('ECONFIG_ADDRESS', checkHost).default(D.DEFAULT_LISTEN.host),
  port: num({ integer: true, min: PORT_MIN, max: PORT_MAX }).default(D.DEFAULT_LISTEN.port),
  path: checked('ECONFIG_ADDRESS', (p) => checkUnixPath(p, false)).optional(),
  mode: fileMode.optional(),
  reuse_port: bool.default(D.DEFAULT_LISTEN.reusePort),
  shutdown_timeout: seconds(600, TOP.shutdownTimeoutSec),
  cache_grace: num({ min: 0, max: 86_400 }).default(TOP.cacheGraceSec),
  cache: cache.optional(),
  proactive_policy_fetching: proactiveSchema.default(P),
  default_zone: zoneSchema.default(ZONE),
  zones: zones.default({}),
  logfile: z.unknown().optional(), // in the Python tool's early example, never read: accepted, ignored
  // mta-sts-bridge
  listeners: list.optional(),
  negative_cache_ttl: num({ min: 0, max: 86_400 }).default(TOP.negativeCacheTtlSec),
  negative_cache_size: size(CACHE_ENTRIES_MAX, 0).default(TOP.negativeCacheSize),
  idle_timeout: seconds(3_600, TOP.idleTimeoutSec),
  request_timeout: seconds(300, TOP.requestTimeoutSec),
  logging: loggingSchema.default(D.DEFAULT_LOGGING),
  policy_delegation: policyDelegationSchema.default(D.DEFAULT_POLICY_DELEGATION),
  state_directory: checked('ECONFIG_BAD_VALUE', (d) => (isAbsolute(d) ? undefined : `must be an absolute path, found "${d}"`)).optional(),
  user: systemAccount.optional(),
  group: systemAccount.optional(),
  metrics: metricsSchema.optional(),
  dns: dnsSchema.optional(),
};
/** Every top-level key: the Python tool's, then ours. */
export const TOP_LEVEL_KEYS = Object.keys(ROOT) as (keyof typeof ROOT)[];

/** Zod's issues as ours: custom issues carry their code; the rest are type and unknown-key problems. */
function issuesOf(error: z.ZodError, base: readonly PropertyKey[]): Issue[] {
  const unknownFirst = [...error.issues].sort((a, b) => Number(b.code === 'unrecognized_keys') - Number(a.code === 'unrecognized_keys'));
  return unknownFirst.flatMap((i): Issue[] => {
    const path = [...base, ...i.path];
    if (i.code === 'unrecognized_keys') {
      const known = i.message.startsWith(KNOWN) ? i.message.slice(KNOWN.length).split('\0') : [];
      return i.keys.map((k) => unknownKey([...path, k], known));
    }
    const params = (i as { params?: { code?: ConfigProblemCode; on?: string } }).params;
    return [{ code: params?.code ?? 'ECONFIG_TYPE', path, message: i.message, on: params?.on }];
  });
}

/** An unknown key's problem, with a hint when a known key is close. */
function unknownKey(path: PropertyKey[], known: readonly string[]): Issue {
  const key = String(path.at(-1));
  return { code: 'ECONFIG_UNKNOWN_KEY', path, on: 'key', message: `unknown key "${key}"${didYouMean(key, known)}` };
}

/** What `buildConfig` found: the config when there is no problem, and the warnings. */
export interface Built {
  readonly config: Config | undefined;
  readonly problems: Issue[];
  readonly warnings: Issue[];
}

/** Validates a document root (plain data; null for an empty file) into a BridgeConfig. */
export function buildConfig(root: unknown): Built {
  const problems: Issue[] = [];
  const warnings: Issue[] = [];
  const ignored = (path: PropertyKey[], message: string): number => warnings.push({ code: 'ECONFIG_IGNORED', path, on: 'key', message });
  if (root !== null && (typeof root !== 'object' || Array.isArray(root))) {
    const message = `the configuration must be a mapping of keys (like "port: 8461"), found ${describe(root)}`;
    return { config: undefined, problems: [{ code: 'ECONFIG_TYPE', path: [], message }], warnings };
  }
  const raw = (root ?? {}) as Record<string, unknown>;
  const given = (key: string): boolean => raw[key] !== undefined;
  const top: Partial<Top> = {};
  for (const key of Object.keys(raw)) if (!Object.hasOwn(ROOT, key)) problems.push(unknownKey([key], TOP_LEVEL_KEYS));
  for (const key of TOP_LEVEL_KEYS) {
    const r = ROOT[key].safeParse(raw[key]);
    if (r.success) Object.assign(top, { [key]: r.data });
    else for (const issue of issuesOf(r.error, [key])) problems.push(issue);
  }
  if (given('logfile')) ignored(['logfile'], 'ignored: logs go to stderr (the Python resolver never read this key either)');
  if (top.group !== undefined && !given('user'))
    problems.push({ code: 'ECONFIG_BAD_VALUE', path: ['group'], message: 'needs "user:" too (the group alone is never dropped to)' });

  const listeners = readListeners(given, top, problems, ignored);
  if (given('cache')) {
    const options = (raw['cache'] as { options?: Record<string, unknown> } | undefined)?.options ?? {};
    const why: Readonly<Record<string, [string, string]>> = {
      sqlite: ['threads', 'ignored: one connection serves every lookup here (statements take microseconds)'],
      redis: ['max_connections', 'ignored: one connection (per Redis node) carries every command, pipelined'],
      postgres: ['min_size', 'ignored: connections are opened on demand and closed when idle'],
    };
    const hit = why[top.cache?.type ?? ''];
    if (hit !== undefined && options[hit[0]] !== undefined) ignored(['cache', 'options', hit[0]], hit[1]);
  }
  if (problems.length > 0 || listeners === undefined) return { config: undefined, problems, warnings };
  return { config: bridgeConfig(top as Top, listeners), problems, warnings };
}

/** The top-level keys as the schema outputs them. */
type Top = { [K in keyof typeof ROOT]: z.output<(typeof ROOT)[K]> };
/** The validated, normalized configuration (types.ts exports it as BridgeConfig). */
export type Config = ReturnType<typeof bridgeConfig>;
/** One socket the server opens (types.ts exports it as ListenerConfig). */
export type Listener = ReturnType<typeof listenerConfig>;

/** The configuration from the top-level keys (all valid) and the listeners read from them. */
function bridgeConfig(t: Top, listeners: Listener[]) {
  const chosen: CacheOutput = t.cache ?? D.DEFAULT_CACHE;
  return {
    listeners,
    shutdownTimeoutSec: t.shutdown_timeout,
    /** Seconds during which a cached entry answers without any DNS query. */
    cacheGraceSec: t.cache_grace,
    /** Seconds a domain without (usable) MTA-STS is remembered. */
    negativeCacheTtlSec: t.negative_cache_ttl,
    /** Maximum number of domains remembered as having no MTA-STS. */
    negativeCacheSize: t.negative_cache_size,
    /** Seconds an idle client connection is kept open. */
    idleTimeoutSec: t.idle_timeout,
    /** Seconds within which a client's request must be complete once its first byte arrived. */
    requestTimeoutSec: t.request_timeout,
    cache:
      chosen.type === 'sqlite'
        ? {
            ...chosen,
            ...present({
              /** The top-level `state_directory` key, when set (`$STATE_DIRECTORY` wins over it). */
              stateDirectory: t.state_directory,
            }),
          }
        : chosen,
    defaultZone: t.default_zone,
    zones: t.zones,
    logging: t.logging,
    ...present({
      /** Always set by the loader; optional so that configs built in code may leave it out. */
      policyDelegation: t.policy_delegation,
      /** Always set by the loader; optional (and then off) so that configs built in code may leave it out. */
      proactiveFetching: t.proactive_policy_fetching,
      /** Top-level `user:`: started as root, drop to this user (name or uid) once listeners are bound. */
      user: t.user,
      /** Top-level `group:`: the group (name or gid) to drop to; the user's primary group by default. */
      group: t.group,
      /** `metrics:`: the HTTP listener for `/metrics` and `/healthz`; absent: none is opened. */
      metrics: t.metrics,
      /** `dns:`: the DANE side's validating resolver; absent: /etc/resolv.conf's first nameserver. */
      dns: t.dns,
    }),
  };
}

/** One listener, from a `listeners:` entry or the shorthand keys; `reusePort` is the top-level value. */
function listenerConfig(l: ListenerEntry, origin: string, reusePort: boolean) {
  return {
    protocol: l.protocol,
    address: l.address,
    /** SO_REUSEPORT, so a second instance takes over during a restart; never for a unix socket. */
    reusePort: l.address.kind === 'unix' ? false : (l.reuse_port ?? reusePort),
    /** Where this listener came from, for messages: 'listeners[2]', 'host/port', 'path'. */
    origin,
    ...present({
      /**
       * Name matched against systemd's LISTEN_FDNAMES (`FileDescriptorName=` in the .socket unit)
       * when the daemon is socket-activated; see docs/operations.md, "systemd socket activation".
       */
      name: l.name,
      /** Owner of a unix socket file: a user name or numeric uid (applied when running as root). */
      owner: l.owner,
      /** Group of a unix socket file: a group name or numeric gid. */
      group: l.group,
      /** File mode of a unix socket (e.g. 0o666). */
      mode: l.mode,
      /** Zone used by protocols that do not carry a map name. */
      zone: l.zone,
      /** Open client connections accepted at most; absent: derived from the fd limit at start (src/server/fd-limit.ts). */
      maxConnections: l.max_connections,
    }),
  };
}

/**
 * The shorthand `host`/`port`/`path`/`mode` (one socketmap listener, as the Python tool opens) and
 * our `listeners:` list. Written together, both apply; with neither, 127.0.0.1:8461.
 */
function readListeners(
  given: (key: string) => boolean,
  top: Partial<Top>,
  problems: Issue[],
  ignored: (path: PropertyKey[], message: string) => void,
): Listener[] | undefined {
  const result: { listener: Listener; path: PropertyKey[] }[] = [];
  const reusePort = top.reuse_port ?? true;
  const add = (l: ListenerEntry, origin: string, path: PropertyKey[]) =>
    result.push({ listener: listenerConfig(l, origin, reusePort), path });
  if (given('path')) {
    for (const k of ['host', 'port'])
      if (given(k)) ignored([k], 'ignored because "path" is set: a unix socket is opened instead (the Python resolver does the same)');
    if (top.path !== undefined) add({ protocol: 'socketmap', address: { kind: 'unix', path: top.path }, mode: top.mode }, 'path', ['path']);
  } else {
    if (given('mode')) ignored(['mode'], 'ignored: "mode" applies only to a unix socket ("path")');
    if ((given('host') || given('port') || !given('listeners')) && top.host !== undefined && top.port !== undefined) {
      const address = { kind: 'tcp' as const, host: top.host, port: top.port };
      add({ protocol: 'socketmap', address }, 'host/port', [given('host') ? 'host' : 'port']);
    }
  }
  const zoneNames = Object.keys(top.zones ?? {});
  const named: { name: string; origin: string; path: PropertyKey[] }[] = [];
  const entries = top.listeners ?? [];
  entries.forEach((item, i) => {
    const path = ['listeners', i];
    if (item === null)
      return problems.push({ code: 'ECONFIG_TYPE', path, message: 'an empty entry; each listener needs at least an "address"' });
    const r = listenerEntry.safeParse(item);
    const raw = item as Record<string, unknown>;
    const address = typeof raw['address'] === 'string' ? parseListenAddress(raw['address']) : undefined;
    const kind = address?.ok === true ? address.address.kind : undefined;
    const origin = pathText(path);
    // Keys for one kind of socket, checked whatever else is wrong with the entry.
    const wrongKind = kind === 'tcp' ? ['mode', 'owner', 'group'] : kind === 'unix' ? ['reuse_port'] : [];
    for (const key of wrongKind.filter((k) => raw[k] !== undefined)) {
      const only = kind === 'tcp' ? 'unix sockets (address "unix:/path")' : 'TCP addresses';
      problems.push({ code: 'ECONFIG_BAD_VALUE', path: [...path, key], on: 'key', message: `"${key}" applies only to ${only}` });
    }
    if (kind !== undefined && typeof raw['name'] === 'string') named.push({ name: raw['name'], origin, path: [...path, 'name'] });
    if (!r.success) return problems.push(...issuesOf(r.error, path));
    const l = r.data;
    if (l.zone !== undefined && !zoneNames.includes(l.zone)) {
      const listed =
        zoneNames.length === 0
          ? 'no zones are defined under "zones"'
          : `defined zones: ${zoneNames.slice(0, 10).join(', ')}${zoneNames.length > 10 ? `, … (${zoneNames.length} in all)` : ''}`;
      const hint = i < 16 ? didYouMean(l.zone, zoneNames) : ''; // each hint compares with every zone name
      return problems.push({
        code: 'ECONFIG_UNKNOWN_ZONE',
        path: [...path, 'zone'],
        message: `zone "${l.zone}" is not defined${hint}; ${listed}`,
      });
    }
    if (l.zone !== undefined && l.protocol === 'socketmap')
      ignored([...path, 'zone'], 'ignored for socketmap: each request names its zone (the map name in main.cf)');
    return add(l, origin, [...path, 'address']);
  });
  if (Array.isArray(top.listeners) && entries.length === 0 && result.length === 0 && !given('path') && !given('host') && !given('port')) {
    problems.push({
      code: 'ECONFIG_NO_LISTENER',
      path: ['listeners'],
      message: 'an empty list opens no socket at all; remove "listeners" to get the default 127.0.0.1:8461',
    });
  }
  // systemd tells listeners apart by name, the kernel by address: both must be unique.
  const names = new Map<string, string>();
  for (const { name, origin, path } of named) {
    const first = names.get(name);
    if (first === undefined) names.set(name, origin);
    else problems.push({ code: 'ECONFIG_BAD_VALUE', path, on: 'address', message: `name "${name}" is already used by ${first}` });
  }
  const addresses = new Map<string, string>();
  for (const { listener: l, path } of result) {
    const key = listenAddressKey(l.address);
    const first = addresses.get(key);
    if (first === undefined) addresses.set(key, l.origin);
    else
      problems.push({
        code: 'ECONFIG_DUPLICATE_LISTENER',
        path,
        message: `${formatListenAddress(l.address)} is already opened by ${first}`,
      });
  }
  return problems.length > 0 ? undefined : result.map((r) => r.listener);
}

/** What the schema gives an empty file: test/unit/config/defaults-snapshot.test.ts holds it equal to defaults.ts. */
export function schemaDefaults(): Config | undefined {
  return buildConfig(null).config;
}
