/**
 * The composition root: the one place where the concrete parts are chosen and wired.
 * Symmetric lifecycle: open the cache, build the resolver, start listeners, start the refresher;
 * stop in reverse. With a privilege drop (`user:`) the listeners are bound first, then the
 * process drops to the user, then the cache opens (lookups accepted meanwhile wait for it).
 * A reload (SIGHUP, src/reload.ts) swaps the lookup service, warm-up queue and refresher and
 * adds or removes listeners, behind the same ports the server holds.
 */
import type { Logger } from 'winston';
import { readFileSync } from 'node:fs';
import type { BridgeConfig, ListenerConfig, LoggingConfig, ProtocolName, ZoneConfig } from '../src/config/types.js';
import type { PolicyCache } from '../src/cache/types.js';
import type { Clock } from '../src/clock.js';
import type { DaneService } from '../src/dane/service.js';
import { systemClock } from '../src/clock.js';
import type { DnsPort, PolicyFetcher } from '../src/resolver/types.js';
import type { ProtocolAdapter } from '../src/protocol/types.js';
import { cacheFileLocation, openCache } from '../adapters/cache/registry.js';
import type { Resolver } from '../src/resolver/resolver.js';
import { buildResolverStack, daneClient, type ResolverStack, type ResolverTuning } from './resolver-stack.js';
import { createLookupService, type StoppableLookupService } from '../src/lookup-service.js';
import { startServer, type BoundListener, type ServerHandle } from '../src/server/server.js';
import { readListenFds, unsetListenEnv, type InheritedFd } from '../src/server/socket-activation.js';
import { emptyWarmStats, WarmQueue } from '../src/warm/queue.js';
import { Refresher } from '../src/refresh/refresher.js';
import { DEFAULT_POLICY_DELEGATION } from '../src/config/defaults.js';
import { BridgeError } from '../src/errors.js';
import type { LookupService } from '../src/lookup.js';
import type { WarmService } from '../src/warm/types.js';
import { formatListenAddress } from '../src/server/listen-address.js';
import { describeRunAs, dropPrivileges, prepareStateDirectory, type RunAs } from '../src/privileges.js';
import { describeChanges, planReload, type ReloadContext, type RestartNeeded } from '../src/reload.js';
import { adapterFor as registryAdapterFor } from '../adapters/protocol/registry.js';
import { NO_METRICS, type Metrics } from '../src/metrics/types.js';
import type { PrometheusMetrics } from '../src/metrics/prometheus.js';
import { measuredAdapter, measuredLookup } from '../src/metrics/instrument.js';
import type { MetricsHttpHandle } from '../src/server/metrics-http.js';

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
  /** Fairness budget per connection and event-loop turn (ServerDeps.requestsPerTurn); for benchmarks. */
  readonly requestsPerTurn?: number;
  /**
   * Drop to this user once every listener is bound (src/privileges.ts, `user:`): the state
   * directory is handed to it first, and the cache is opened only after the drop. Connections
   * accepted meanwhile wait for the cache.
   */
  readonly dropTo?: RunAs | undefined;
  /** Applies a reloaded `logging:` section (the CLI keeps its overrides); absent: level only. */
  readonly applyLogging?: (logging: LoggingConfig) => void;
}

/** What a reload did. */
export interface ReloadOutcome {
  /** What was applied (`zones`, `listeners+1`, ...); empty when nothing changed. */
  readonly applied: readonly string[];
  readonly restartNeeded: readonly RestartNeeded[];
  /** Listeners that could not be opened or closed, with the reason; the rest was applied. */
  readonly failed: readonly RestartNeeded[];
}

/** A running daemon. */
export interface App {
  readonly listeners: readonly BoundListener[];
  readonly server: ServerHandle;
  /** The proactive refresher, when `proactive_policy_fetching.enabled`. */
  readonly refresher?: Refresher | undefined;
  /** The configuration in force (changes with a reload). */
  readonly config: BridgeConfig;
  /** Who the daemon runs as after start (the privilege drop, if any). */
  readonly runAs?: RunAs | undefined;
  /**
   * Apply `next` (a loaded, valid configuration) to the running daemon: see src/reload.ts for
   * what can change. Never drops a connection or a cached policy. Reloads are serialized.
   */
  reload(next: BridgeConfig): Promise<ReloadOutcome>;
  /** The `/metrics` and `/healthz` HTTP listener, when `metrics:` is configured. */
  readonly metricsHttp?: MetricsHttpHandle | undefined;
  /** Where the core reports metrics (the no-op when `metrics:` is absent). */
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
  const clock = options.clock ?? systemClock;
  const ownCache = options.cache === undefined;
  // What a reload may change is read through `live` at use time.
  const live = { config };
  // The listeners are bound first (the kernel queues connections at once; a daemon restarted
  // under load accepts within a few ms of its modules being loaded), then privileges are dropped
  // (if asked), then the cache opens. Lookups that arrive meanwhile wait for the resolver.
  let cache: PolicyCache | undefined = options.cache;
  let server: ServerHandle | undefined;
  let warm: WarmQueue | undefined;
  let resolver: Resolver | undefined;
  /** DNS and fetcher (its worker thread is stopped with the app). */
  let network: ResolverStack<undefined> | undefined;
  // Lookups accepted before the resolver exists (bound, not yet dropped and opened) wait here.
  let resolverReady!: (r: Resolver) => void;
  const resolverPromise = new Promise<Resolver>((resolve) => (resolverReady = resolve));
  const resolverPort = {
    resolve: async (domain: string, zone: ZoneConfig) => (resolver ?? (await resolverPromise)).resolve(domain, zone),
    freshEntry: (domain: string) => resolver?.freshEntry(domain),
    freshAbsence: (domain: string) => resolver?.freshAbsence(domain),
  };
  // Metrics are kept only when someone can read them (a `metrics:` listener).
  // prom-client is loaded only then: a daemon without metrics does not carry it.
  const prometheus: PrometheusMetrics | undefined =
    config.metrics !== undefined ? new (await import('../src/metrics/prometheus.js')).PrometheusMetrics() : undefined;
  const metrics: Metrics = prometheus ?? NO_METRICS;
  // The DANE side exists only when a zone asks for it (docs/dane.md); `dane: false` everywhere
  // leaves every answer exactly as without it.
  const daneFor = async (c: BridgeConfig): Promise<DaneService | undefined> => {
    const client = await daneClient({ zones: [c.defaultZone, ...Object.values(c.zones)], resolver: c.dns?.resolver });
    if (client === undefined) return undefined;
    const { createDaneService } = await import('../src/dane/service.js');
    const { daneLookupOutcome, daneResolverState } = await import('../src/metrics/dane.js');
    const service = createDaneService({
      dns: client.dns,
      resolver: client.resolver,
      clock,
      log,
      probe: c.dns?.probe,
      onFinding: prometheus === undefined ? undefined : (f) => metrics.daneLookup(daneLookupOutcome(f)),
      onProbe: prometheus === undefined ? undefined : (r) => metrics.daneResolver(daneResolverState(r)),
    });
    // A warning at start when the resolver does not validate; never delays the start, and a
    // failure of the probe itself is logged, never an unhandled rejection.
    service.probe().catch((err: unknown) => {
      log.warn('the DNSSEC resolver probe failed', { component: 'dane', code: 'EINTERNAL', reason: (err as Error).message });
    });
    return service;
  };
  let daneNow = await daneFor(config);
  let lookupNow: StoppableLookupService = createLookupService(resolverPort, config, log, daneNow === undefined ? {} : { dane: daneNow });
  const lookup: LookupService = {
    lookup: (domain, zoneName) => lookupNow.lookup(domain, zoneName),
    cachedAnswer: (domain, zoneName, format, note) => lookupNow.cachedAnswer?.(domain, zoneName, format, note),
    zone: (zoneName) => lookupNow.zone(zoneName),
  };
  const warmPort: WarmService = { enqueue: (domain, zoneName) => warm?.enqueue(domain, zoneName) ?? 'stopped' };
  const newWarmQueue = (c: BridgeConfig): WarmQueue | undefined => {
    // Only policy delegation feeds the warm-up; without such a listener nothing is started.
    if (!c.listeners.some((l) => l.protocol === 'policy')) return undefined;
    const pd = c.policyDelegation ?? DEFAULT_POLICY_DELEGATION;
    return new WarmQueue(
      { lookup: prometheus !== undefined ? measuredLookup(lookup, 'warm', metrics) : lookup, clock, log },
      {
        queueSize: pd.queueSize,
        concurrency: pd.concurrency,
        skipDomains: pd.skipDomains,
        policyRememberSec: c.cacheGraceSec,
        noPolicyRememberSec: c.negativeCacheTtlSec,
      },
    );
  };
  try {
    // The network parts first (the DNS channel; policy fetches run in a worker thread started
    // at the first fetch, unless a fetcher is given); the resolver over them once the cache is open.
    network = await buildResolverStack({ clock, dns: options.dns, fetcher: options.fetcher, fetchIn: 'worker' });
    const inheritedFds = options.inheritedFds ?? inheritedFromEnvironment();
    const baseAdapterFor = options.adapterFor ?? registryAdapterFor;
    const adapterFor =
      prometheus !== undefined ? (protocol: ProtocolName) => measuredAdapter(baseAdapterFor(protocol), protocol, metrics) : baseAdapterFor;
    server = await startServer(config.listeners, {
      lookup,
      log,
      idleTimeoutSec: config.idleTimeoutSec,
      requestTimeoutSec: config.requestTimeoutSec,
      // Always a port, so that a policy listener added by a reload finds its warm-up.
      warm: warmPort,
      ...(inheritedFds.length > 0 ? { inheritedFds } : {}),
      adapterFor,
      ...(options.requestsPerTurn !== undefined ? { requestsPerTurn: options.requestsPerTurn } : {}),
    });
    if (options.dropTo !== undefined) {
      if (config.cache.type === 'sqlite') {
        const where = cacheFileLocation(config.cache);
        if (where.ok) await prepareStateDirectory(where.path, options.dropTo);
      }
      dropPrivileges(options.dropTo);
      log.info('privileges dropped', {
        component: 'main',
        user: describeRunAs(options.dropTo),
        uid: options.dropTo.uid,
        gid: options.dropTo.gid,
      });
    }
    cache ??= await openCache(config.cache, log);
    const tuning: ResolverTuning = {
      get cacheGraceSec() {
        return live.config.cacheGraceSec;
      },
      get negativeCacheTtlSec() {
        return live.config.negativeCacheTtlSec;
      },
      negativeCacheSize: config.negativeCacheSize,
      ...(prometheus !== undefined ? { metrics, onLocalFault: (code: string) => metrics.localFault(code) } : {}),
    };
    resolver = (await buildResolverStack({ clock, dns: network.dns, fetcher: network.fetcher, cache: { cache, tuning, log } })).resolver;
    resolverReady(resolver);
    warm = newWarmQueue(config);
  } catch (err) {
    await warm?.stop();
    await server?.close(false);
    if (ownCache) await cache?.close().catch(() => undefined);
    await network?.close();
    throw err;
  }
  const openedServer = server;
  const openedCache = cache;
  const theResolver = resolver;
  const openedNetwork = network;

  const serverLog = log.child({ component: 'server' });
  for (const l of openedServer.listeners) {
    serverLog.info('listening', {
      listener: l.address,
      protocol: l.protocol,
      origin: l.origin,
      maxConnections: l.maxConnections,
      ...(l.inheritedFd !== undefined ? { socket: `systemd fd ${l.inheritedFd}` } : {}),
    });
  }

  let stopping: Promise<void> | undefined;
  let metricsHttp: MetricsHttpHandle | undefined;
  if (prometheus !== undefined && config.metrics !== undefined) {
    // The warm-up queue is replaced by a reload: the gauges read whichever is current.
    const warmView = {
      get queuedCount(): number {
        return warm?.queuedCount ?? 0;
      },
      get stats(): WarmQueue['stats'] {
        return warm?.stats ?? emptyWarmStats();
      },
    };
    try {
      const { startMetricsEndpoint } = await import('../src/metrics/endpoint.js');
      metricsHttp = await startMetricsEndpoint(config.metrics, {
        prometheus,
        cache: openedCache,
        resolverStats: theResolver.stats,
        warm: warmView,
        listenerProblem: () => {
          if (stopping !== undefined) return 'stopping';
          const expected = live.config.listeners.length;
          const bound = openedServer.listeners.length;
          return bound < expected ? `${bound} of ${expected} listeners bound` : undefined;
        },
        log,
      });
    } catch (err) {
      await openedServer.close(false);
      await warm?.stop();
      if (ownCache) await openedCache.close().catch(() => undefined);
      throw err;
    }
  }

  // Started last, once the daemon answers: a run is background work, never a start-up step.
  const newRefresher = (c: BridgeConfig): Refresher | undefined => {
    const proactive = c.proactiveFetching;
    return proactive?.enabled === true
      ? new Refresher(
          { cache: openedCache, target: theResolver, clock, log, metrics: prometheus },
          {
            intervalSec: proactive.intervalSec,
            concurrencyLimit: proactive.concurrencyLimit,
            graceRatio: proactive.graceRatio,
            jitter: proactive.jitter,
            zone: c.defaultZone,
          },
        )
      : undefined;
  };
  let refresher = newRefresher(config);
  refresher?.start();

  const reloadOnce = async (next: BridgeConfig): Promise<ReloadOutcome> => {
    const plan = planReload(live.config, next, reloadContext(options.dropTo));
    const failed: RestartNeeded[] = [];
    const applied = describeChanges(plan);
    // New listeners first: if one fails the others still open, and nothing old is closed for it.
    const opened: ListenerConfig[] = [];
    for (const l of plan.addListeners) {
      try {
        const b = await openedServer.addListener(l);
        opened.push(l);
        serverLog.info('listening', { listener: b.address, protocol: b.protocol, origin: b.origin, reason: 'reload' });
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        failed.push({
          key: formatListenAddress(l.address),
          reason: `${typeof code === 'string' ? `${code} ` : ''}${(err as Error).message}`,
        });
      }
    }
    for (const address of plan.removeListeners) {
      if (await openedServer.removeListener(address)) serverLog.info('listener closed', { listener: address, reason: 'reload' });
    }
    const effective: BridgeConfig = {
      ...plan.effective,
      listeners: plan.effective.listeners.filter((l) => !plan.addListeners.includes(l) || opened.includes(l)),
    };
    const before = live.config;
    live.config = effective;
    if (plan.logging) (options.applyLogging ?? ((c: LoggingConfig) => (log.level = c.level)))(effective.logging);
    if (plan.zones) {
      const old = lookupNow;
      daneNow = await daneFor(effective);
      lookupNow = createLookupService(resolverPort, effective, log, daneNow === undefined ? {} : { dane: daneNow });
      old.stop();
    }
    const policyListenersChanged =
      before.listeners.some((l) => l.protocol === 'policy') !== effective.listeners.some((l) => l.protocol === 'policy');
    if (plan.warmer || policyListenersChanged || plan.cacheGrace || plan.negativeCacheTtl) {
      const old = warm;
      warm = newWarmQueue(effective);
      // Warm-ups under way finish; those only queued are dropped (the lookup itself still works).
      void old?.stop();
    }
    if (plan.refresher || (plan.zones && refresher !== undefined)) {
      const old = refresher;
      refresher = undefined;
      await old?.stop();
      refresher = newRefresher(effective);
      refresher?.start();
    }
    return { applied, restartNeeded: plan.restartNeeded, failed };
  };
  let reloading: Promise<unknown> = Promise.resolve();

  return {
    get listeners(): readonly BoundListener[] {
      return openedServer.listeners;
    },
    server: openedServer,
    get refresher(): Refresher | undefined {
      return refresher;
    },
    get config(): BridgeConfig {
      return live.config;
    },
    runAs: options.dropTo,
    metricsHttp,
    metrics,
    reload(next: BridgeConfig): Promise<ReloadOutcome> {
      const run = reloading.then(() => reloadOnce(next));
      reloading = run.catch(() => undefined);
      return run;
    },
    stop(graceful = true): Promise<void> {
      // The forced close ends what the graceful stop under way waits for; its own failure is
      // logged (the stop under way reports through its promise).
      if (!graceful && stopping !== undefined) {
        openedServer.close(false).catch((err: unknown) => {
          serverLog.error('forced close failed', { code: 'EINTERNAL', reason: (err as Error).message });
        });
      }
      stopping ??= (async () => {
        await reloading;
        // Stopped first: no refresh starts from here on. The ones under way (bounded by the
        // zone timeout) finish while the listeners close, before the cache does.
        const refresherStopped = refresher?.stop();
        // /healthz says "stopping" from here on; the HTTP listener goes before the others.
        await metricsHttp?.close();
        await openedServer.close(graceful);
        await refresherStopped;
        // Running warm-ups still write to the cache: let them finish before it closes.
        await warm?.stop();
        lookupNow.stop();
        await openedNetwork.close();
        if (ownCache) await openedCache.close();
      })();
      return stopping;
    },
  };
}

/** The reload context: after a drop, what needs root is left for a restart. */
function reloadContext(dropTo: RunAs | undefined): ReloadContext {
  const uid = process.geteuid?.() ?? 0;
  return {
    unprivileged: uid !== 0,
    uid,
    gid: process.getegid?.() ?? 0,
    ...(dropTo?.name !== undefined ? { userName: dropTo.name } : {}),
    unprivilegedPortStart: unprivilegedPortStart(),
  };
}

/** net.ipv4.ip_unprivileged_port_start (1024 unless lowered). */
function unprivilegedPortStart(): number {
  try {
    const n = Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim());
    return Number.isInteger(n) && n >= 0 ? n : 1024;
  } catch {
    return 1024;
  }
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
