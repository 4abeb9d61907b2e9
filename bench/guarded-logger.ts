/**
 * An experiment, not production code: make a winston logger's level methods return at once when
 * their level is disabled. winston 3 builds the info object and runs the whole format (here
 * `formatTextLine`: a Date, field sorting, quoting) for every call and filters by level only in
 * the transport, so a disabled `log.debug(...)` costs as much as an enabled one that writes
 * nowhere. The benchmarks use this to measure what a fix in src/log/logger.ts would gain.
 */
import type { Logger } from 'winston';
import { LOG_LEVELS } from '../src/log/logger.js';

/** Patch `log` (and so every child created from it later, which inherit its methods) in place. */
export function guardLogLevels(log: Logger): Logger {
  const target = log as unknown as Record<string, (...args: unknown[]) => Logger>;
  for (const level of LOG_LEVELS) {
    const original = target[level];
    if (typeof original !== 'function') continue;
    target[level] = function guarded(this: Logger, ...args: unknown[]): Logger {
      return this.isLevelEnabled(level) ? original.apply(this, args) : this;
    };
  }
  return log;
}
