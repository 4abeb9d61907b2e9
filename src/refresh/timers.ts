/**
 * The timer seam of the refresher: real timers in production, a fake in tests (driven together
 * with a fake Clock), so that a day-long interval is tested in milliseconds.
 */

/** Longest single setTimeout: Node clamps larger delays to 1 ms (a 2^31 − 1 ms signed 32-bit limit). */
export const MAX_TIMER_MS = 2_147_483_647;

export interface Sleeper {
  /** Resolves true after `ms` milliseconds, or false as soon as `signal` aborts (at once if it already has). */
  sleep(ms: number, signal: AbortSignal): Promise<boolean>;
}

/** setTimeout-based; unref'd, so that a sleeping refresher never keeps the process alive by itself. */
export const realSleeper: Sleeper = {
  async sleep(ms: number, signal: AbortSignal): Promise<boolean> {
    let left = Math.max(0, ms);
    // Intervals may reach a year (RFC 8461 §3.2 max_age bound), beyond one timer's reach.
    do {
      const step = Math.min(left, MAX_TIMER_MS);
      if (!(await sleepOnce(step, signal))) return false;
      left -= step;
    } while (left > 0);
    return true;
  },
};

function sleepOnce(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    timer.unref();
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** A promise resolved when `signal` aborts, with a dispose that drops the listener otherwise. */
export function whenAborted(signal: AbortSignal): { readonly promise: Promise<void>; dispose(): void } {
  if (signal.aborted) return { promise: Promise.resolve(), dispose: () => undefined };
  let onAbort: () => void = () => undefined;
  const promise = new Promise<void>((resolve) => {
    onAbort = () => resolve();
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return { promise, dispose: () => signal.removeEventListener('abort', onAbort) };
}
