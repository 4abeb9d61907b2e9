/**
 * The defaults, declared once as plain data: what an empty config file gives. schema.ts takes each
 * default from here, and `serve` without `-c` starts from `buildDefaultConfig()` without loading the
 * schema library or the YAML reader (test/unit/config/defaults-snapshot.test.ts checks both).
 * Where a key is shared with the Python tool, so is its default (`defaults.py`); "ours" marks ours.
 */
import type { BridgeConfig } from './types.js';

// The config's types come from the schema's output, and the schema takes its defaults from here: so
// the constants are not annotated (that would be circular); `buildDefaultConfig` checks them all.

/** A zone block fills left-out keys from these, not from `default_zone` (the Python tool's rule). */
export const DEFAULT_ZONE = Object.freeze({
  strictTesting: false, // Python tool: `testing` policies are reported, not enforced (RFC 8461 §5)
  timeoutSec: 10, // total for TXT + HTTPS (Python: 4 s per step), far below Postfix's 100 s
  requireSni: true, // RFC 8461 §5.1; Postfix 3.4+ understands servername=hostname
  tlsrpt: false, // Postfix 3.9 and older reject the TLSRPT attributes: opt-in
  dnsErrorAnswer: 'no-policy', // RFC 8461 §5
});

/** Python tool `defaults.INTERNAL_CACHE_SIZE`: entries in the memory layer in front of every cache. */
export const DEFAULT_CACHE_SIZE = 10_000;
/** Python tool `defaults.SQLITE_TIMEOUT`: seconds to wait for another process's write lock. */
export const DEFAULT_SQLITE_TIMEOUT_SEC = 5;

/** No `cache:` block: ours, policies that survive a restart (the Python tool's default is `internal`). */
export const DEFAULT_CACHE = Object.freeze({
  type: 'sqlite',
  filename: 'policy-cache.sqlite', // ours: inside the state directory (src/cache/state-dir.ts)
  timeoutSec: DEFAULT_SQLITE_TIMEOUT_SEC,
  cacheSize: DEFAULT_CACHE_SIZE,
  onCorrupt: 'move',
});

/** Ours: a thousand waiting domains (under a megabyte) and 4 at once (polite to policy hosts). */
export const DEFAULT_POLICY_DELEGATION = deepFreeze({ queueSize: 1000, concurrency: 4, skipDomains: [] as string[] });

export const DEFAULT_PROACTIVE_FETCHING = Object.freeze({
  enabled: true, // ours: on (RFC 8461 §3.3 SHOULD); the Python tool's default is off
  intervalSec: 86_400, // daily (§10.2)
  concurrencyLimit: 100,
  graceRatio: 2,
  jitter: 0.1, // ours: runs start up to 10% early at random, so a fleet restarted together spreads out
});

export const DEFAULT_LOGGING = Object.freeze({ level: 'info', format: 'text' } as const); // info: one line per decision

/** The Python tool's one socketmap listener. */
export const DEFAULT_LISTEN = Object.freeze({ host: '127.0.0.1', port: 8461, reusePort: true }); // reuse: a second instance takes over during a restart

/** The top-level durations and sizes. */
export const DEFAULT_LIMITS = Object.freeze({
  shutdownTimeoutSec: 20, // systemd's TimeoutStopSec is 90 s
  cacheGraceSec: 60, // RFC 8461 §10.2: check for updates about daily
  negativeCacheTtlSec: 300, // ours: spares a DNS query per delivery, yet a new policy is seen soon (§3.3)
  negativeCacheSize: 100_000,
  idleTimeoutSec: 60, // Postfix drops idle socketmap connections after 10 s itself
  requestTimeoutSec: 10, // ends a client sending a byte now and then
});

/** What an empty config file gives (a new object each call): one socketmap listener on 127.0.0.1:8461. */
export function buildDefaultConfig(): BridgeConfig {
  const { host, port, reusePort } = DEFAULT_LISTEN;
  return deepFreeze({
    listeners: [{ protocol: 'socketmap', address: { kind: 'tcp', host, port }, reusePort, origin: 'host/port' }],
    ...DEFAULT_LIMITS,
    cache: DEFAULT_CACHE,
    defaultZone: DEFAULT_ZONE,
    zones: {},
    logging: DEFAULT_LOGGING,
    policyDelegation: DEFAULT_POLICY_DELEGATION,
    proactiveFetching: DEFAULT_PROACTIVE_FETCHING,
  });
}

/** Freezes a plain-data tree, so no consumer can change the config another one reads. */
export function deepFreeze<V>(value: V): V {
  if (typeof value === 'object' && value !== null) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
