/**
 * How many client connections a listener accepts by default, from the process's file
 * descriptor limit (RLIMIT_NOFILE). Node has no getrlimit(); on Linux the soft limit is the
 * "Max open files" line of /proc/self/limits. Elsewhere, or if that file cannot be read, the
 * common default of 1024 is assumed.
 */
import { readFileSync } from 'node:fs';

/** Assumed soft RLIMIT_NOFILE when it cannot be read. */
export const FALLBACK_FD_LIMIT = 1024;

/**
 * Descriptors kept for everything but clients: DNS sockets, HTTPS policy fetches (the
 * warmer's and refresher's concurrency), cache files or database connections, listeners,
 * log files. At least RESERVED_FDS_MIN, and a quarter of the limit on larger limits.
 */
export const RESERVED_FDS_MIN = 256;

/**
 * The default `max_connections` of each of `listenerCount` listeners:
 * `floor((limit - max(256, limit / 4)) / listenerCount)`, at least 1.
 * For the usual 1024 soft limit and one listener: 768; systemd's default 524288: 393216.
 */
export function defaultMaxConnections(fdLimit: number, listenerCount: number): number {
  const reserved = Math.max(RESERVED_FDS_MIN, Math.floor(fdLimit / 4));
  return Math.max(1, Math.floor((fdLimit - reserved) / Math.max(1, listenerCount)));
}

/** The soft limit from the text of /proc/self/limits; undefined when absent or unlimited. */
export function parseProcLimits(text: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith('Max open files'));
  const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
  if (soft === undefined || !/^\d+$/.test(soft)) return undefined;
  const n = Number(soft);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/** The process's soft RLIMIT_NOFILE, or FALLBACK_FD_LIMIT. */
export function readFdLimit(path = '/proc/self/limits'): number {
  try {
    return parseProcLimits(readFileSync(path, 'latin1')) ?? FALLBACK_FD_LIMIT;
  } catch {
    return FALLBACK_FD_LIMIT;
  }
}
