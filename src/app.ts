/**
 * The composition root: the one place where the concrete parts are chosen and wired.
 * Symmetric lifecycle: open the cache, build the resolver, start listeners; stop in reverse.
 */
import type { Logger } from 'winston';
import type { BridgeConfig, ProtocolName } from './config/types.js';
import type { PolicyCache } from './cache/types.js';
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import type { DnsPort, PolicyFetcher } from './resolver/types.js';
import type { ProtocolAdapter } from './protocol/types.js';
import { openCache } from './cache/registry.js';
import { createSystemDns } from './resolver/dns.js';
import { createHttpsFetcher } from './resolver/https-fetcher.js';
import { Resolver } from './resolver/resolver.js';
import { createLookupService } from './lookup-service.js';
import { startServer, type BoundListener, type ServerHandle } from './server/server.js';

/** Seams of the composition root; production passes only `log`. Tests replace the network. */
export interface AppOptions {
  readonly log: Logger;
  readonly dns?: DnsPort;
  readonly fetcher?: PolicyFetcher;
  readonly clock?: Clock;
  /** An already opened cache; the app then does not close it either. */
  readonly cache?: PolicyCache;
  readonly adapterFor?: (protocol: ProtocolName) => ProtocolAdapter;
}

/** A running daemon. */
export interface App {
  readonly listeners: readonly BoundListener[];
  readonly server: ServerHandle;
  /**
   * Stop listeners (gracefully by default: in-flight requests are answered), then close the
   * cache. Calling it again with `graceful: false` forces a graceful stop that hangs.
   */
  stop(graceful?: boolean): Promise<void>;
}

/** Start everything `config` describes. On failure, whatever was started is stopped again. */
export async function startApp(config: BridgeConfig, options: AppOptions): Promise<App> {
  const log = options.log;
  const ownCache = options.cache === undefined;
  const cache = options.cache ?? (await openCache(config.cache, log));
  let server: ServerHandle;
  try {
    const dns = options.dns ?? createSystemDns();
    const fetcher = options.fetcher ?? createHttpsFetcher(dns);
    const resolver = new Resolver({
      cache,
      dns,
      fetcher,
      clock: options.clock ?? systemClock,
      log,
      cacheGraceSec: config.cacheGraceSec,
      negativeCacheTtlSec: config.negativeCacheTtlSec,
      negativeCacheSize: config.negativeCacheSize,
    });
    const lookup = createLookupService(resolver, config, log);
    server = await startServer(config.listeners, {
      lookup,
      log,
      idleTimeoutSec: config.idleTimeoutSec,
      ...(options.adapterFor !== undefined ? { adapterFor: options.adapterFor } : {}),
    });
  } catch (err) {
    if (ownCache) await cache.close().catch(() => undefined);
    throw err;
  }

  const serverLog = log.child({ component: 'server' });
  for (const l of server.listeners) {
    serverLog.info('listening', { listener: l.address, protocol: l.protocol, origin: l.origin });
  }

  let stopping: Promise<void> | undefined;
  return {
    listeners: server.listeners,
    server,
    stop(graceful = true): Promise<void> {
      if (!graceful && stopping !== undefined) void server.close(false);
      stopping ??= (async () => {
        await server.close(graceful);
        if (ownCache) await cache.close();
      })();
      return stopping;
    },
  };
}
