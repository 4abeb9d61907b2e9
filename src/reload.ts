/**
 * Configuration reload (SIGHUP): what of a new configuration can be applied to the running
 * daemon, and what needs a restart. Pure: the running configuration, the new one and who the
 * daemon runs as go in; a plan comes out, applied by the composition root (main/app.ts).
 */
import { formatListenAddress } from './server/listen-address.js';
import type { BridgeConfig, ListenerConfig } from './config/types.js';

/** Who the daemon runs as now, for what only root could do. */
export interface ReloadContext {
  /** True after a privilege drop (or, generally, when not root). */
  readonly unprivileged: boolean;
  readonly uid: number;
  readonly gid: number;
  /** The user name after a drop (`user:` resolved), if known. */
  readonly userName?: string;
  /** The first TCP port an unprivileged process may bind (net.ipv4.ip_unprivileged_port_start; 1024). */
  readonly unprivilegedPortStart: number;
}

/** One thing the new configuration asks for that is not applied until a restart. */
export interface RestartNeeded {
  /** The config key (dotted path) or listener address concerned. */
  readonly key: string;
  readonly reason: string;
}

export interface ReloadPlan {
  /** The listeners to open, in the new file's order. */
  readonly addListeners: readonly ListenerConfig[];
  /** Addresses (as formatListenAddress writes them) of the listeners to close. */
  readonly removeListeners: readonly string[];
  readonly zones: boolean;
  readonly logging: boolean;
  readonly cacheGrace: boolean;
  readonly negativeCacheTtl: boolean;
  readonly shutdownTimeout: boolean;
  readonly refresher: boolean;
  readonly warmer: boolean;
  readonly restartNeeded: readonly RestartNeeded[];
  /**
   * The configuration in force after the reload: the new one, with what needs a restart kept
   * as it is now (listeners: the old ones kept, plus those to add).
   */
  readonly effective: BridgeConfig;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** A listener's settings other than where it came from (`origin` changes with the file's order). */
function listenerSettings(l: ListenerConfig): unknown {
  const { origin: _origin, ...rest } = l;
  return rest;
}

/** Why binding `l` needs root once privileges are dropped, or undefined. */
export function needsRoot(l: ListenerConfig, ctx: ReloadContext): string | undefined {
  if (!ctx.unprivileged) return undefined;
  const a = l.address;
  switch (a.kind) {
    case 'tcp':
      return a.port !== 0 && a.port < ctx.unprivilegedPortStart
        ? `port ${a.port} is below ${ctx.unprivilegedPortStart} and needs root`
        : undefined;
    case 'unix': {
      const ownerOk = l.owner === undefined || l.owner === String(ctx.uid) || (ctx.userName !== undefined && l.owner === ctx.userName);
      const groupOk = l.group === undefined || l.group === String(ctx.gid);
      if (!ownerOk) return `a socket owned by ${l.owner} needs root`;
      // A group name we cannot compare offline: only a numeric match is known to work.
      if (!groupOk) return `a socket of group ${l.group} needs root (unless it is the daemon's own group, given as its number ${ctx.gid})`;
      return undefined;
    }
    default: {
      const _never: never = a;
      return _never;
    }
  }
}

/** Plan the reload from `current` (in force) to `next` (just loaded and valid). */
export function planReload(current: BridgeConfig, next: BridgeConfig, ctx: ReloadContext): ReloadPlan {
  const restartNeeded: RestartNeeded[] = [];
  const oldByAddress = new Map(current.listeners.map((l) => [formatListenAddress(l.address), l]));
  const newByAddress = new Map(next.listeners.map((l) => [formatListenAddress(l.address), l]));

  const kept: ListenerConfig[] = [];
  const removeListeners: string[] = [];
  for (const [address, l] of oldByAddress) {
    const wanted = newByAddress.get(address);
    if (wanted === undefined) {
      removeListeners.push(address);
      continue;
    }
    if (same(listenerSettings(l), listenerSettings(wanted))) {
      kept.push(wanted);
    } else {
      kept.push(l);
      restartNeeded.push({ key: address, reason: `${wanted.origin}: changed settings of a listener that stays open` });
    }
  }
  const addListeners: ListenerConfig[] = [];
  for (const [address, l] of newByAddress) {
    if (oldByAddress.has(address)) continue;
    const why = needsRoot(l, ctx);
    if (why !== undefined) restartNeeded.push({ key: address, reason: `${l.origin}: ${why}` });
    else addListeners.push(l);
  }

  const fixed = (key: string, a: unknown, b: unknown, reason: string): boolean => {
    if (same(a, b)) return false;
    restartNeeded.push({ key, reason });
    return true;
  };
  fixed('cache', current.cache, next.cache, 'the cache backend is opened once, at start');
  fixed('user', current.user, next.user, 'privileges are dropped once, at start');
  fixed('group', current.group, next.group, 'privileges are dropped once, at start');
  fixed('idle_timeout', current.idleTimeoutSec, next.idleTimeoutSec, 'connections take it when the daemon starts');
  fixed('request_timeout', current.requestTimeoutSec, next.requestTimeoutSec, 'connections take it when the daemon starts');
  fixed('negative_cache_size', current.negativeCacheSize, next.negativeCacheSize, 'the negative cache is sized once, at start');

  const effective: BridgeConfig = {
    ...next,
    listeners: [...kept, ...addListeners],
    cache: current.cache,
    idleTimeoutSec: current.idleTimeoutSec,
    requestTimeoutSec: current.requestTimeoutSec,
    negativeCacheSize: current.negativeCacheSize,
    ...(current.user !== undefined ? { user: current.user } : {}),
    ...(current.group !== undefined ? { group: current.group } : {}),
  };
  if (current.user === undefined) delete (effective as { user?: string }).user;
  if (current.group === undefined) delete (effective as { group?: string }).group;

  return {
    addListeners,
    removeListeners,
    zones: !same(current.zones, next.zones) || !same(current.defaultZone, next.defaultZone),
    logging: !same(current.logging, next.logging),
    cacheGrace: current.cacheGraceSec !== next.cacheGraceSec,
    negativeCacheTtl: current.negativeCacheTtlSec !== next.negativeCacheTtlSec,
    shutdownTimeout: current.shutdownTimeoutSec !== next.shutdownTimeoutSec,
    refresher: !same(current.proactiveFetching, next.proactiveFetching),
    warmer: !same(current.policyDelegation, next.policyDelegation),
    restartNeeded,
    effective,
  };
}

/** The names of what a plan changes, for the log line: `zones,listeners+1,...`. */
export function describeChanges(plan: ReloadPlan): string[] {
  const out: string[] = [];
  if (plan.addListeners.length > 0) out.push(`listeners+${plan.addListeners.length}`);
  if (plan.removeListeners.length > 0) out.push(`listeners-${plan.removeListeners.length}`);
  if (plan.zones) out.push('zones');
  if (plan.logging) out.push('logging');
  if (plan.cacheGrace) out.push('cache_grace');
  if (plan.negativeCacheTtl) out.push('negative_cache_ttl');
  if (plan.shutdownTimeout) out.push('shutdown_timeout');
  if (plan.refresher) out.push('proactive_policy_fetching');
  if (plan.warmer) out.push('policy_delegation');
  return out;
}
