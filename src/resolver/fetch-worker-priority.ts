/**
 * The fetch worker runs below the main thread's priority: a burst of TLS handshakes there then
 * yields the core to the main thread, which answers cached lookups. On Linux the nice value is
 * per thread, so `setPriority` without a pid changes the calling thread only; elsewhere it would
 * change the whole process, so nothing is done there. libuv's thread pool is not affected: the
 * daemon's main thread starts it (file reads at start) long before the first fetch.
 */
import { getPriority, setPriority } from 'node:os';

/** Niceness the fetch worker adds to the process's own (raising niceness needs no privilege). */
export const FETCH_WORKER_NICENESS = 10;

/** Called first thing in the worker thread. Never fails: without it the worker keeps the process's priority. */
export function lowerThisThreadPriority(): void {
  if (process.platform !== 'linux') return;
  try {
    setPriority(Math.min(19, getPriority() + FETCH_WORKER_NICENESS));
  } catch {
    // Not permitted or not supported: the worker runs at the main thread's priority, as before.
  }
}
