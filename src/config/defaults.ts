/**
 * The embedded default configuration, used by `serve` without `-c` and for every key a config
 * file leaves out. Values shared with the Python postfix-mta-sts-resolver keep its defaults
 * (`postfix_mta_sts_resolver/defaults.py`) so that its users' files behave the same here.
 */
import type { BridgeConfig, ListenerConfig, LoggingConfig, PolicyDelegationConfig, ProactiveFetchingConfig, SqliteCacheConfig, ZoneConfig } from './types.js';

/** Python tool `defaults.HOST`: loopback only, Postfix runs on the same host. */
export const DEFAULT_HOST = '127.0.0.1';
/** Python tool `defaults.PORT`; the port every existing `socketmap:inet:127.0.0.1:8461:...` line uses. */
export const DEFAULT_PORT = 8461;
/** Python tool `defaults.REUSE_PORT`: lets a second instance take over during a restart. */
export const DEFAULT_REUSE_PORT = true;

/** Python tool `defaults.SHUTDOWN_TIMEOUT`: seconds granted to open sessions when the server stops. */
export const DEFAULT_SHUTDOWN_TIMEOUT_SEC = 20;
/** Python tool `defaults.CACHE_GRACE`: seconds a cached policy answers without any DNS check. */
export const DEFAULT_CACHE_GRACE_SEC = 60;
/** Python tool `defaults.INTERNAL_CACHE_SIZE`: number of policies kept in memory. */
export const DEFAULT_CACHE_SIZE = 10_000;
/**
 * Our own: the SQLite cache file's name inside the state directory (the Python tool has no
 * default `filename`; it must be given there). See src/cache/state-dir.ts for the directory.
 */
export const DEFAULT_SQLITE_FILENAME = 'policy-cache.sqlite';
/** Python tool `defaults.SQLITE_TIMEOUT`: seconds to wait for another process's write lock. */
export const DEFAULT_SQLITE_TIMEOUT_SEC = 5;

/**
 * Our own: how long "this domain has no MTA-STS" is remembered. Five minutes keeps repeated
 * deliveries to the many domains without MTA-STS from costing a DNS query each, while a newly
 * published policy is noticed quickly (RFC 8461 §3.3: the TXT record announces changes).
 */
export const DEFAULT_NEGATIVE_CACHE_TTL_SEC = 300;
/** Our own: bounded so a flood of distinct recipient domains cannot grow memory without limit. */
export const DEFAULT_NEGATIVE_CACHE_SIZE = 100_000;
/**
 * Our own: seconds an idle client connection stays open. Postfix closes idle socketmap
 * connections after 10 s itself (dict_sockmap.c `DICT_SOCKMAP_DEF_MAX_IDLE`); this only
 * reaps clients that vanished without closing.
 */
export const DEFAULT_IDLE_TIMEOUT_SEC = 60;
/**
 * Our own: once a request's first byte arrived, seconds within which the whole request must
 * arrive. Postfix writes a request in one go; this only ends a client sending a byte now and
 * then, which `idle_timeout` alone never would (each byte restarts it).
 */
export const DEFAULT_REQUEST_TIMEOUT_SEC = 10;

/** Python tool `defaults.STRICT_TESTING`: `testing` policies are reported, not enforced (RFC 8461 §5). */
export const DEFAULT_STRICT_TESTING = false;
/**
 * Total deadline for one resolution (TXT lookup + HTTPS policy fetch). The Python tool's
 * `timeout: 4` applies to each network operation separately, so a full resolution could take
 * about three times that; 10 s is a comparable total and far below Postfix's 100 s socketmap
 * read timeout (dict_sockmap.c `DICT_SOCKMAP_DEF_TIMEOUT`).
 */
export const DEFAULT_ZONE_TIMEOUT_SEC = 10;
/** Python tool `defaults.REQUIRE_SNI`: RFC 8461 §5.1 requires SNI; Postfix 3.4+ understands `servername=hostname`. */
export const DEFAULT_REQUIRE_SNI = true;
/** Python tool `defaults.TLSRPT`: Postfix 3.9 and older reject the TLSRPT attributes, so opt-in. */
export const DEFAULT_TLSRPT = false;
/** RFC 8461 §5: with no usable policy, deliver as if the domain had no MTA-STS. */
export const DEFAULT_DNS_ERROR_ANSWER = 'no-policy' as const;

/**
 * On, unlike the Python tool (`defaults.PROACTIVE_FETCH_ENABLED` is off): RFC 8461 §3.3 says
 * senders SHOULD refresh cached policies proactively, and with persistent caches a policy that is
 * never refreshed simply runs out at max_age. A file that says `enabled: false` keeps it off.
 */
export const DEFAULT_PROACTIVE_ENABLED = true;
/** Python tool `defaults.PROACTIVE_FETCH_INTERVAL`: daily, the refresh rate RFC 8461 §10.2 suggests. */
export const DEFAULT_PROACTIVE_INTERVAL_SEC = 86_400;
/** Python tool `defaults.PROACTIVE_FETCH_CONCURRENCY_LIMIT`. */
export const DEFAULT_PROACTIVE_CONCURRENCY = 100;
/** Python tool `defaults.PROACTIVE_FETCH_GRACE_RATIO`. */
export const DEFAULT_PROACTIVE_GRACE_RATIO = 2.0;
/**
 * Our own: runs start up to 10% of the interval early (2.4 h for a day), at random, so that a
 * fleet restarted together does not hit every policy host at the same moment each day.
 */
export const DEFAULT_PROACTIVE_JITTER = 0.1;

/** `info` logs one line per decision; `text` reads well under journald. */
export const DEFAULT_LOGGING: LoggingConfig = Object.freeze({ level: 'info', format: 'text' });

/** The zone used for every key a zone block leaves out (the Python tool fills zones the same way). */
export const DEFAULT_ZONE: ZoneConfig = Object.freeze({
  strictTesting: DEFAULT_STRICT_TESTING,
  timeoutSec: DEFAULT_ZONE_TIMEOUT_SEC,
  requireSni: DEFAULT_REQUIRE_SNI,
  tlsrpt: DEFAULT_TLSRPT,
  dnsErrorAnswer: DEFAULT_DNS_ERROR_ANSWER,
});

/** The listener opened when a config names neither `host`/`port`/`path` nor `listeners`. */
export const DEFAULT_LISTENER: ListenerConfig = Object.freeze({
  protocol: 'socketmap',
  address: Object.freeze({ kind: 'tcp', host: DEFAULT_HOST, port: DEFAULT_PORT }),
  reusePort: DEFAULT_REUSE_PORT,
  origin: 'host/port',
});

/**
 * The cache when a config has no `cache` block (and for `serve` without -c): policies persist
 * in SQLite in the state directory, because MTA-STS protects mail only while the sender
 * remembers policies (RFC 8461 §10.2); a memory-only cache forgets them at every restart.
 * An explicit `cache: {type: internal}` still means memory, as in the Python tool.
 */
export const DEFAULT_CACHE: SqliteCacheConfig = Object.freeze({
  type: 'sqlite',
  filename: DEFAULT_SQLITE_FILENAME,
  timeoutSec: DEFAULT_SQLITE_TIMEOUT_SEC,
  cacheSize: DEFAULT_CACHE_SIZE,
  onCorrupt: 'move',
});

/** A fresh, frozen copy of the whole default configuration. */
export function buildDefaultConfig(): BridgeConfig {
  return deepFreeze({
    listeners: [{ ...DEFAULT_LISTENER, address: { ...DEFAULT_LISTENER.address } }],
    shutdownTimeoutSec: DEFAULT_SHUTDOWN_TIMEOUT_SEC,
    cacheGraceSec: DEFAULT_CACHE_GRACE_SEC,
    negativeCacheTtlSec: DEFAULT_NEGATIVE_CACHE_TTL_SEC,
    negativeCacheSize: DEFAULT_NEGATIVE_CACHE_SIZE,
    idleTimeoutSec: DEFAULT_IDLE_TIMEOUT_SEC,
    requestTimeoutSec: DEFAULT_REQUEST_TIMEOUT_SEC,
    cache: { ...DEFAULT_CACHE },
    defaultZone: { ...DEFAULT_ZONE },
    zones: {},
    logging: { ...DEFAULT_LOGGING },
    policyDelegation: defaultPolicyDelegation(),
    proactiveFetching: defaultProactiveFetching(),
  });
}

/** `proactive_policy_fetching` when the block or some of its keys are left out. */
export function defaultProactiveFetching(): ProactiveFetchingConfig {
  return {
    enabled: DEFAULT_PROACTIVE_ENABLED,
    intervalSec: DEFAULT_PROACTIVE_INTERVAL_SEC,
    concurrencyLimit: DEFAULT_PROACTIVE_CONCURRENCY,
    graceRatio: DEFAULT_PROACTIVE_GRACE_RATIO,
    jitter: DEFAULT_PROACTIVE_JITTER,
  };
}

/** Freezes a plain-data tree, so no consumer can change the config another one reads. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/**
 * Default backlog: a burst of a thousand distinct recipient domains is far beyond what one
 * Postfix instance sees between two resolutions, and costs under a megabyte.
 */
export const DEFAULT_WARM_QUEUE_SIZE = 1000;
/** Default parallel resolutions: enough to hide one slow policy host, few enough to stay polite. */
export const DEFAULT_WARM_CONCURRENCY = 4;
/** The defaults, when the block is absent. */
export function defaultPolicyDelegation(): PolicyDelegationConfig {
  return { queueSize: DEFAULT_WARM_QUEUE_SIZE, concurrency: DEFAULT_WARM_CONCURRENCY, skipDomains: [] };
}
