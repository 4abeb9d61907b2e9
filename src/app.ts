/**
 * The composition root: the one place where the concrete parts are chosen and wired.
 * Symmetric lifecycle: open the cache, build the resolver, start listeners, start the refresher;
 * stop in reverse.
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
import { readListenFds, unsetListenEnv, type InheritedFd } from './server/socket-activation.js';
import { WarmQueue } from './warm/queue.js';
import { Refresher } from './refresh/refresher.js';
import { defaultPolicyDelegation } from './config/validate-policy-delegation.js';
import { BridgeError } from './errors.js';
import { adapterFor as registryAdapterFor } from './protocol/registry.js';
import { NO_METRICS, type Metrics } from './metrics/types.js';
import { PrometheusMetrics } from './metrics/prometheus.js';
import { measuredAdapter, measuredLookup } from './metrics/instrument.js';
import { startMetricsEndpoint } from './metrics/endpoint.js';
import type { MetricsHttpHandle } from './server/metrics-http.js';

/** Seams of the composition root; production passes only `log`. Tests replace the network. */
export interface AppOptions {
  readonly log: Logger;
  readonly dns?: DnsPort;
  readonly fetcher?: PolicyFetcher;
  readonly clock?: Clock;
  /** An already opened cache; the app then does not close it either. */
  readonly cache?: PolicyCache;
  readonly adapterFor?: (protocol: ProtocolName) => ProtocolAdapter;
  /**
   * Sockets passed by systemd. By default they are read from LISTEN_PID/LISTEN_FDS/
   * LISTEN_FDNAMES (and those variables are then removed from the environment).
   */
  readonly inheritedFds?: readonly InheritedFd[];
}

/** A running daemon. */
export interface App {
  readonly listeners: readonly BoundListener[];
  readonly server: ServerHandle;
  /** The proactive refresher, when `proactive_policy_fetching.enabled`. */
  readonly refresher?: Refresher;
  /** The `/metrics` and `/healthz` HTTP listener, when `metrics:` is configured. */
  readonly metricsHttp?: MetricsHttpHandle;
  /** Where the core reports metrics (the no-op when `metrics:` is absent); e.g. for a local-fault hook. */
  readonly metrics: Metrics;
  /**
   * Stop the refresher and listeners (gracefully by default: in-flight requests are answered), then close the
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
  let warm: WarmQueue | undefined;
  let resolver: Resolver;
  // Metrics are kept only when someone can read them (a `metrics:` listener).
  const prometheus = config.metrics !== undefined ? new PrometheusMetrics() : undefined;
  const metrics: Metrics = prometheus ?? NO_METRICS;
  try {
    const dns = options.dns ?? createSystemDns();
    const fetcher = options.fetcher ?? createHttpsFetcher(dns);
    resolver = new Resolver({
      cache,
      dns,
      fetcher,
      clock: options.clock ?? systemClock,
      log,
      cacheGraceSec: config.cacheGraceSec,
      negativeCacheTtlSec: config.negativeCacheTtlSec,
      negativeCacheSize: config.negativeCacheSize,
      ...(prometheus !== undefined ? { metrics } : {}),
    });
    const lookup = createLookupService(resolver, config, log);
    // Only policy delegation feeds the warm-up; without such a listener nothing is started.
    if (config.listeners.some((l) => l.protocol === 'policy')) {
      const pd = config.policyDelegation ?? defaultPolicyDelegation();
      warm = new WarmQueue(
        { lookup: prometheus !== undefined ? measuredLookup(lookup, 'warm', metrics) : lookup, clock: options.clock ?? systemClock, log },
        {
          queueSize: pd.queueSize,
          concurrency: pd.concurrency,
          skipDomains: pd.skipDomains,
          policyRememberSec: config.cacheGraceSec,
          noPolicyRememberSec: config.negativeCacheTtlSec,
        },
      );
    }
    const inheritedFds = options.inheritedFds ?? inheritedFromEnvironment();
    const baseAdapterFor = options.adapterFor ?? registryAdapterFor;
    const adapterFor =
      prometheus !== undefined ? (protocol: ProtocolName) => measuredAdapter(baseAdapterFor(protocol), protocol, metrics) : options.adapterFor;
    server = await startServer(config.listeners, {
      lookup,
      log,
      idleTimeoutSec: config.idleTimeoutSec,
      ...(warm !== undefined ? { warm } : {}),
      ...(inheritedFds.length > 0 ? { inheritedFds } : {}),
      ...(adapterFor !== undefined ? { adapterFor } : {}),
    });
  } catch (err) {
    await warm?.stop();
    if (ownCache) await cache.close().catch(() => undefined);
    throw err;
  }

  const serverLog = log.child({ component: 'server' });
  for (const l of server.listeners) {
    serverLog.info('listening', {
      listener: l.address,
      protocol: l.protocol,
      origin: l.origin,
      ...(l.inheritedFd !== undefined ? { socket: `systemd fd ${l.inheritedFd}` } : {}),
    });
  }

  let stopping: Promise<void> | undefined;
  let metricsHttp: MetricsHttpHandle | undefined;
  if (prometheus !== undefined && config.metrics !== undefined) {
    const expected = config.listeners.length;
    try {
      metricsHttp = await startMetricsEndpoint(config.metrics, {
        prometheus,
        cache,
        resolverStats: resolver.stats,
        ...(warm !== undefined ? { warm } : {}),
        listenerProblem: () =>
          stopping !== undefined ? 'stopping' : server.listeners.length < expected ? `${server.listeners.length} of ${expected} listeners bound` : undefined,
        log,
      });
    } catch (err) {
      await server.close(false);
      await warm?.stop();
      if (ownCache) await cache.close().catch(() => undefined);
      throw err;
    }
  }

  // Started last, once the daemon answers: a run is background work, never a start-up step.
  const proactive = config.proactiveFetching;
  const refresher =
    proactive?.enabled === true
      ? new Refresher(
          { cache, target: resolver, clock: options.clock ?? systemClock, log, ...(prometheus !== undefined ? { metrics } : {}) },
          {
            intervalSec: proactive.intervalSec,
            concurrencyLimit: proactive.concurrencyLimit,
            graceRatio: proactive.graceRatio,
            jitter: proactive.jitter,
            zone: config.defaultZone,
          },
        )
      : undefined;
  refresher?.start();

  return {
    listeners: server.listeners,
    server,
    ...(refresher !== undefined ? { refresher } : {}),
    ...(metricsHttp !== undefined ? { metricsHttp } : {}),
    metrics,
    stop(graceful = true): Promise<void> {
      if (!graceful && stopping !== undefined) void server.close(false);
      stopping ??= (async () => {
        // Stopped first: no refresh starts from here on. The ones under way (bounded by the
        // zone timeout) finish while the listeners close, before the cache does.
        const refresherStopped = refresher?.stop();
        // /healthz says "stopping" from here on; the HTTP listener goes before the others.
        await metricsHttp?.close();
        await server.close(graceful);
        await refresherStopped;
        // Running warm-ups still write to the cache: let them finish before it closes.
        await warm?.stop();
        if (ownCache) await cache.close();
      })();
      return stopping;
    },
  };
}

/** The sockets systemd passed to this process, if any; the variables are consumed. */
function inheritedFromEnvironment(): readonly InheritedFd[] {
  const found = readListenFds(process.env, process.pid);
  switch (found.kind) {
    case 'none':
      return [];
    case 'invalid':
      throw new BridgeError('ELISTEN_ACTIVATION', `socket activation: ${found.message}`);
    case 'fds':
      unsetListenEnv(process.env);
      return found.fds;
    default: {
      const _never: never = found;
      return _never;
    }
  }
}
