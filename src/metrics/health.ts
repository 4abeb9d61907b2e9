/**
 * The `/healthz` verdict: healthy when every listener is bound and the cache answers a cheap
 * probe (a read of a key under RFC 2606's `.invalid`, which no policy can have) within a deadline.
 */
import { PROBE_DOMAIN } from '../cache/resilient.js';
import type { PolicyCache } from '../cache/types.js';

/** Longest wait for the cache probe before /healthz answers 503. */
export const HEALTH_CACHE_TIMEOUT_MS = 2_000;

export type Health = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export interface HealthDeps {
  /** Why not every listener is bound (e.g. the daemon is stopping), or undefined when they all are. */
  readonly listenerProblem: () => string | undefined;
  readonly cache: Pick<PolicyCache, 'get'>;
  /**
   * False while a persistent backend fails and answers come from the memory layer
   * (src/cache/resilient.ts); absent for caches without such a layer.
   */
  readonly cacheBackendHealthy?: () => boolean;
  readonly cacheTimeoutMs?: number;
}

/** Never rejects. */
export async function checkHealth(deps: HealthDeps): Promise<Health> {
  const listeners = deps.listenerProblem();
  if (listeners !== undefined) return { ok: false, reason: listeners };
  const backendFailing: Health = { ok: false, reason: 'cache backend failing (answers come from the memory layer)' };
  if (deps.cacheBackendHealthy !== undefined && !deps.cacheBackendHealthy()) return backendFailing;
  const timeoutMs = deps.cacheTimeoutMs ?? HEALTH_CACHE_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Health>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, reason: `cache did not answer within ${timeoutMs} ms` }), timeoutMs);
  });
  const probe = (async (): Promise<Health> => {
    try {
      await deps.cache.get(PROBE_DOMAIN);
      return { ok: true };
    } catch (err) {
      return { ok: false, reason: `cache read failed: ${err instanceof Error ? err.message : String(err)}` };
    }
  })();
  try {
    const health = await Promise.race([probe, timeout]);
    // The memory layer swallows a backend failure: the probe read itself may have found one.
    if (health.ok && deps.cacheBackendHealthy !== undefined && !deps.cacheBackendHealthy()) return backendFailing;
    return health;
  } finally {
    clearTimeout(timer);
  }
}
