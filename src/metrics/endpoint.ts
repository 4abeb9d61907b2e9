/**
 * The `metrics:` endpoint of a running daemon: tells the Prometheus metrics where to read the
 * figures the daemon already keeps, and starts the HTTP listener (src/server/metrics-http.ts)
 * with the /healthz verdict (health.ts). Called by the composition root once the listeners are bound.
 */
import type { Logger } from 'winston';
import { ResilientPolicyCache } from '../cache/resilient.js';
import type { PolicyCache } from '../cache/types.js';
import type { MetricsConfig } from '../config/types.js';
import type { ResolverStats } from '../resolver/resolver.js';
import { startMetricsHttp, type MetricsHttpHandle } from '../server/metrics-http.js';
import type { WarmQueue } from '../warm/queue.js';
import { checkHealth } from './health.js';
import type { PrometheusMetrics } from './prometheus.js';

export interface MetricsEndpointDeps {
  readonly prometheus: PrometheusMetrics;
  readonly cache: PolicyCache;
  readonly resolverStats: Readonly<ResolverStats>;
  readonly warm?: Pick<WarmQueue, 'queuedCount' | 'stats'>;
  /** Why not every listener is bound (e.g. `stopping`), or undefined when they all are. */
  readonly listenerProblem: () => string | undefined;
  readonly log: Logger;
}

/** Throws BridgeError ELISTEN_IN_USE, ELISTEN_ADDRESS or ELISTEN_FAILED. */
export async function startMetricsEndpoint(config: MetricsConfig, deps: MetricsEndpointDeps): Promise<MetricsHttpHandle> {
  const { prometheus, cache, warm } = deps;
  const resilient = cache instanceof ResilientPolicyCache ? cache : undefined;
  prometheus.watch({
    ...(cache.memoryEntryCount !== undefined ? { cacheEntries: () => cache.memoryEntryCount?.() } : {}),
    // Errors the resolver saw from a cache that throws, plus those the memory layer absorbed.
    cacheBackendErrors: () => deps.resolverStats.cacheErrors + (resilient?.stats().failures ?? 0),
    ...(warm !== undefined ? { warmQueueLength: () => warm.queuedCount, warmDropped: () => warm.stats.dropped } : {}),
  });
  const handle = await startMetricsHttp(config, {
    render: () => prometheus.render(),
    contentType: prometheus.contentType,
    log: deps.log,
    health: () =>
      checkHealth({
        listenerProblem: deps.listenerProblem,
        cache,
        ...(resilient !== undefined ? { cacheBackendHealthy: () => resilient.stats().healthy } : {}),
      }),
  });
  deps.log.child({ component: 'metrics' }).info('serving /metrics and /healthz', { listener: handle.address });
  return handle;
}
