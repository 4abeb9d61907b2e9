/**
 * Rate limit for log lines about one client, so a client that misbehaves on purpose cannot
 * fill the disk through our logs. Keyed by the peer's host (its IP address; `unix` for every
 * unix socket peer): at most `max` lines per `intervalMs` window per key, the rest are dropped
 * and counted, and the first line of the next window carries `suppressed: N`.
 */
import type { Logger } from 'winston';

/** Lines about one peer host per interval (info, warn and error; debug lines are not limited). */
export const CLIENT_LOG_LINES_PER_INTERVAL = 10;
/** The window of CLIENT_LOG_LINES_PER_INTERVAL. */
export const CLIENT_LOG_INTERVAL_MS = 10_000;
/** Peers remembered at most; past it, stale windows are forgotten, then all peers share one key. */
const MAX_KEYS = 10_000;

interface Window {
  start: number;
  used: number;
  suppressed: number;
}

export class LogLimiter {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly max: number = CLIENT_LOG_LINES_PER_INTERVAL,
    private readonly intervalMs: number = CLIENT_LOG_INTERVAL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * May a line about `key` be written now? `false` when not (it is counted); otherwise the
   * number of lines dropped since the last one written (0 mostly).
   */
  take(key: string): number | false {
    const t = this.now();
    let w = this.windows.get(key);
    if (w === undefined) {
      if (this.windows.size >= MAX_KEYS) this.forgetStale(t);
      const k = this.windows.size >= MAX_KEYS ? '*' : key;
      w = this.windows.get(k) ?? { start: t, used: 0, suppressed: 0 };
      this.windows.set(k, w);
    }
    if (t - w.start >= this.intervalMs) {
      w.start = t;
      w.used = 0;
    }
    if (w.used >= this.max) {
      w.suppressed += 1;
      return false;
    }
    w.used += 1;
    const dropped = w.suppressed;
    w.suppressed = 0;
    return dropped;
  }

  private forgetStale(t: number): void {
    for (const [k, w] of this.windows) {
      if (t - w.start >= this.intervalMs && w.suppressed === 0) this.windows.delete(k);
    }
  }
}

/** The host part of a formatted peer (`127.0.0.1:5000` -> `127.0.0.1`, `[::1]:5` -> `::1`). */
export function peerHost(peer: string): string {
  if (peer.startsWith('[')) return peer.slice(1, peer.indexOf(']'));
  const colon = peer.lastIndexOf(':');
  return colon < 0 ? peer : peer.slice(0, colon);
}

const LIMITED = new Set<string | symbol>(['info', 'warn', 'error']);

/**
 * `log` with its info, warn and error lines passed through `limiter` under `key`; every other
 * method and property is the logger's own. For the logger handed to protocol adapters.
 */
export function rateLimitedLogger(log: Logger, limiter: LogLimiter, key: string): Logger {
  return new Proxy(log, {
    get(target, prop) {
      if (typeof prop === 'string' && LIMITED.has(prop)) {
        const method = prop as 'info' | 'warn' | 'error';
        return (message: unknown, meta?: Record<string, unknown>): Logger => {
          const dropped = limiter.take(key);
          if (dropped === false) return target;
          const fields = dropped > 0 ? { ...(meta ?? {}), suppressed: dropped } : meta;
          if (typeof message === 'string') target[method](message, fields ?? {});
          else target[method](message as never);
          return target;
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
