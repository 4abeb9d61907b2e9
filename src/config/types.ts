import type { DaneSettings } from '../dane/decision.js';
import type { ListenAddress } from '../server/listen-address.js';
import type { z } from 'zod';
import type * as S from './schema.js';
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
  /** Zone keys `dane`, `dane_level`, `dane_lookup_failure` (docs/dane.md); absent: DANE off. */
  readonly dane?: DaneSettings;
}

export type ProtocolName = 'socketmap' | 'tcp_table' | 'policy' | 'exim';

export interface ListenerConfig {
  readonly protocol: ProtocolName;
  readonly address: ListenAddress;
  /** File mode of a unix socket (e.g. 0o666). */
  readonly mode?: number;
  /** Zone used by protocols that do not carry a map name. */
  readonly zone?: string;
  readonly reusePort: boolean;
  /**
   * Name matched against systemd's LISTEN_FDNAMES (`FileDescriptorName=` in the .socket unit)
   * when the daemon is socket-activated; see README.md, "systemd socket activation".
   */
  readonly name?: string;
  /** Owner of a unix socket file: a user name or numeric uid (applied when running as root). */
  readonly owner?: string;
  /** Group of a unix socket file: a group name or numeric gid. */
  readonly group?: string;
  /** Open client connections accepted at most; absent: derived from the fd limit at start (src/server/fd-limit.ts). */
  readonly maxConnections?: number;
  /** Where this listener came from, for messages: 'listeners[2]', 'host/port', 'path'. */
  readonly origin: string;
}

/** `cache: {type: sqlite}`: policies in one SQLite file, so they survive a restart. See README.md, "Policy caches". */
export interface SqliteCacheConfig {
  readonly type: 'sqlite';
  /**
   * The database file as written (`options.filename`, the Python tool's key). A relative name
   * is taken inside the state directory, never relative to the working directory.
   */
  readonly filename: string;
  /** SQLite busy timeout in seconds (`options.timeout`, the Python tool's key). */
  readonly timeoutSec: number;
  /** Entries kept in the in-process memory layer in front of the file (`options.cache_size`). */
  readonly cacheSize: number;
  /**
   * `options.on_corrupt`: a file SQLite reports damaged or not a database at start is moved
   * aside and a new one created (`move`, also when absent), or the start is refused (`refuse`).
   */
  readonly onCorrupt?: 'move' | 'refuse';
  /** The top-level `state_directory` key, when set (`$STATE_DIRECTORY` wins over it). */
  readonly stateDirectory?: string;
}

/** A host and port (Redis Sentinel and Cluster node lists). */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** How the Redis cache reaches its server(s). */
export type RedisConnection =
  /** One server: `redis://`, `rediss://` (TLS) or `unix://` URL, credentials and db inside it. */
  | { readonly kind: 'url'; readonly url: string }
  /** `type: redis_sentinel`: the master named `masterName`, found through the sentinels. */
  | {
      readonly kind: 'sentinel';
      readonly masterName: string;
      readonly sentinels: readonly HostPort[];
      readonly username?: string;
      readonly password?: string;
      readonly sentinelPassword?: string;
      readonly db: number;
      readonly tls: boolean;
    }
  /** `options.cluster_nodes`: a Redis Cluster, discovered from these seed nodes. */
  | {
      readonly kind: 'cluster';
      readonly nodes: readonly HostPort[];
      readonly username?: string;
      readonly password?: string;
      readonly tls: boolean;
    };

/** `cache: {type: redis}` / `{type: redis_sentinel}`: policies shared by a fleet. See README.md, "Redis and PostgreSQL caches". */
export interface RedisCacheConfig {
  readonly type: 'redis';
  readonly connection: RedisConnection;
  /** Prepended to every key (`options.prefix`), so keys are never bare domain names. */
  readonly prefix: string;
  /** Longest wait for one command (`options.socket_timeout`, the Python tool's key, in seconds there). */
  readonly commandTimeoutMs: number;
  /** Longest wait for a connection (`options.socket_connect_timeout`). */
  readonly connectTimeoutMs: number;
  /** Entries kept in the in-process memory layer in front of Redis (`options.cache_size`). */
  readonly cacheSize: number;
}

/** The blocks whose shape is exactly what the schema (schema.ts) outputs. */
export type MemoryCacheConfig = Readonly<z.output<typeof S.memoryCacheSchema>>;
/** `cache: {type: postgres}`: policies in one PostgreSQL table, shared by a fleet. */
export type PostgresCacheConfig = Readonly<z.output<typeof S.postgresCacheSchema>>;
export type LoggingConfig = Readonly<z.output<typeof S.loggingSchema>>;
/** `policy_delegation:`: the background warm-up fed by `protocol: policy` listeners. */
export type PolicyDelegationConfig = Readonly<z.output<typeof S.policyDelegationSchema>>;
/** `dns: {resolver}` (docs/dane.md): the DANE side's validating resolver. */
export type DnsConfig = Readonly<z.output<typeof S.dnsSchema>>;
/** `metrics: {address: HOST:PORT}`; port 0 (only in configs built in code) picks a free port. */
export type MetricsConfig = Readonly<z.output<typeof S.metricsSchema>>;
/** `proactive_policy_fetching:`: the background refresher of cached policies (RFC 8461 §3.3, §10.2). */
export type ProactiveFetchingConfig = Readonly<z.output<typeof S.proactiveSchema>>;

export type CacheConfig = MemoryCacheConfig | SqliteCacheConfig | RedisCacheConfig | PostgresCacheConfig;

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
  /** Seconds within which a client's request must be complete once its first byte arrived. */
  readonly requestTimeoutSec: number;
  readonly cache: CacheConfig;
  readonly defaultZone: ZoneConfig;
  readonly zones: Readonly<Record<string, ZoneConfig>>;
  readonly logging: LoggingConfig;
  /** Always set by the loader; optional so that configs built in code may leave it out. */
  readonly policyDelegation?: PolicyDelegationConfig;
  /** Always set by the loader; optional (and then off) so that configs built in code may leave it out. */
  readonly proactiveFetching?: ProactiveFetchingConfig;
  /** Top-level `user:`: started as root, drop to this user (name or uid) once listeners are bound. */
  readonly user?: string;
  /** Top-level `group:`: the group (name or gid) to drop to; the user's primary group by default. */
  readonly group?: string;
  /** `metrics:`: the HTTP listener for `/metrics` and `/healthz`; absent: none is opened. */
  readonly metrics?: MetricsConfig;
  /** `dns:`: the DANE side's validating resolver; absent: /etc/resolv.conf's first nameserver. */
  readonly dns?: DnsConfig;
}
