/**
 * The validated, normalized configuration. Produced only by src/config/load.ts from YAML
 * (or from the embedded defaults); every other module reads this shape and never raw YAML.
 * The types are what the schema (schema.ts) outputs, so each field's documentation is there,
 * on the key or transform that produces it. Type-only imports: this file loads nothing.
 */
import type * as S from './schema.js';

/** Read-only all the way down, so no consumer can change the config another one reads. */
type Frozen<T> = T extends readonly (infer E)[] ? readonly Frozen<E>[] : T extends object ? { readonly [K in keyof T]: Frozen<T[K]> } : T;

/** The whole configuration (schema.ts, `bridgeConfig`). */
export type BridgeConfig = Frozen<S.Config>;
/** Per-zone behaviour; the socketmap map name (or a listener's `zone`) selects the zone. */
export type ZoneConfig = BridgeConfig['defaultZone'];
/** One socket the server opens (schema.ts, `listenerConfig`). */
export type ListenerConfig = Frozen<S.Listener>;
export type ProtocolName = ListenerConfig['protocol'];

export type CacheConfig = BridgeConfig['cache'];
/** `cache: {type: sqlite}`: policies in one SQLite file, so they survive a restart. See docs/caches.md, "The sqlite cache". */
export type SqliteCacheConfig = Extract<CacheConfig, { type: 'sqlite' }>;
/** `cache: {type: redis}` / `{type: redis_sentinel}`: policies shared by a fleet. See docs/caches.md, "Redis and PostgreSQL caches". */
export type RedisCacheConfig = Extract<CacheConfig, { type: 'redis' }>;
/** `cache: {type: postgres}`: policies in one PostgreSQL table, shared by a fleet. */
export type PostgresCacheConfig = Extract<CacheConfig, { type: 'postgres' }>;
/**
 * How the Redis cache reaches its server(s): `url` (one server: a `redis://`, `rediss://` or
 * `unix://` URL), `sentinel` (`type: redis_sentinel`) or `cluster` (`options.cluster_nodes`).
 */
export type RedisConnection = RedisCacheConfig['connection'];
/** A host and port (Redis Sentinel and Cluster node lists). */
export type HostPort = Extract<RedisConnection, { kind: 'cluster' }>['nodes'][number];

export type LoggingConfig = BridgeConfig['logging'];
/** `metrics: {address: HOST:PORT}`; port 0 (only in configs built in code) picks a free port. */
export type MetricsConfig = NonNullable<BridgeConfig['metrics']>;
