/**
 * The validated, normalized configuration. Produced only by src/config/load.ts from YAML
 * (or from the embedded defaults); every other module reads this shape and never raw YAML.
 */

/** Per-zone behaviour; the socketmap map name (or a listener's `zone`) selects the zone. */
export interface ZoneConfig {
  /** Treat `mode: testing` like `enforce` (Python tool's key). */
  readonly strictTesting: boolean;
  /** Total deadline, in seconds, for one resolution (DNS + HTTPS). */
  readonly timeoutSec: number;
  /** Add `servername=hostname` to secure answers (Postfix 3.4+). */
  readonly requireSni: boolean;
  /** Add Postfix 3.10 TLSRPT / MX-pattern attributes (`policy_type=sts ...`). */
  readonly tlsrpt: boolean;
  /** Answer on a DNS error with nothing cached: 'no-policy' (RFC 8461 default) or 'temp' (defer mail). */
  readonly dnsErrorAnswer: 'no-policy' | 'temp';
}

export type ProtocolName = 'socketmap' | 'tcp_table' | 'policy' | 'exim';

export type ListenAddress =
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  | { readonly kind: 'unix'; readonly path: string };

export interface ListenerConfig {
  readonly protocol: ProtocolName;
  readonly address: ListenAddress;
  /** File mode of a unix socket (e.g. 0o666). */
  readonly mode?: number;
  /** Zone used by protocols that do not carry a map name. */
  readonly zone?: string;
  readonly reusePort: boolean;
  /** Where this listener came from, for messages: 'listeners[2]', 'host/port', 'path'. */
  readonly origin: string;
}

export interface MemoryCacheConfig {
  readonly type: 'internal';
  /** Maximum number of policy entries kept (lru-cache `max`). */
  readonly cacheSize: number;
}

export type CacheConfig = MemoryCacheConfig;

export interface LoggingConfig {
  readonly level: 'error' | 'warn' | 'info' | 'debug';
  readonly format: 'text' | 'json';
}

export interface BridgeConfig {
  readonly listeners: readonly ListenerConfig[];
  readonly shutdownTimeoutSec: number;
  /** Seconds during which a cached entry answers without any DNS query. */
  readonly cacheGraceSec: number;
  /** Seconds a domain without (usable) MTA-STS is remembered. */
  readonly negativeCacheTtlSec: number;
  /** Maximum number of domains remembered as having no MTA-STS. */
  readonly negativeCacheSize: number;
  /** Seconds an idle client connection is kept open. */
  readonly idleTimeoutSec: number;
  readonly cache: CacheConfig;
  readonly defaultZone: ZoneConfig;
  readonly zones: Readonly<Record<string, ZoneConfig>>;
  readonly logging: LoggingConfig;
}
