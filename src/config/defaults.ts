/**
 * The embedded defaults, as plain data: `serve` without `-c` starts without loading the schema
 * library or the YAML reader. They are a copy of what schema.ts gives an empty file, and
 * test/unit/config/defaults-snapshot.test.ts fails when the two differ; schema.ts decides.
 */
import type { BridgeConfig, PolicyDelegationConfig, ZoneConfig } from './types.js';

/** Python tool `defaults.SQLITE_TIMEOUT`: seconds to wait for another process's write lock. */
export const DEFAULT_SQLITE_TIMEOUT_SEC = 5;

export const DEFAULT_ZONE: ZoneConfig = Object.freeze({ strictTesting: false, timeoutSec: 10, requireSni: true, tlsrpt: false, dnsErrorAnswer: 'no-policy' });

/** The policy delegation defaults, for configs built in code without the block. */
export function defaultPolicyDelegation(): PolicyDelegationConfig {
  return { queueSize: 1000, concurrency: 4, skipDomains: [] };
}

/** What an empty config file gives: one socketmap listener on 127.0.0.1:8461. */
export function buildDefaultConfig(): BridgeConfig {
  return deepFreeze({
    listeners: [{ protocol: 'socketmap', address: { kind: 'tcp', host: '127.0.0.1', port: 8461 }, reusePort: true, origin: 'host/port' }],
    shutdownTimeoutSec: 20,
    cacheGraceSec: 60,
    negativeCacheTtlSec: 300,
    negativeCacheSize: 100_000,
    idleTimeoutSec: 60,
    requestTimeoutSec: 10,
    cache: { type: 'sqlite', filename: 'policy-cache.sqlite', timeoutSec: DEFAULT_SQLITE_TIMEOUT_SEC, cacheSize: 10_000, onCorrupt: 'move' },
    defaultZone: { ...DEFAULT_ZONE },
    zones: {},
    logging: { level: 'info', format: 'text' },
    policyDelegation: defaultPolicyDelegation(),
    proactiveFetching: { enabled: true, intervalSec: 86_400, concurrencyLimit: 100, graceRatio: 2, jitter: 0.1 },
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
