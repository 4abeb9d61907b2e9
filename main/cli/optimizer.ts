/**
 * V8's optimizing compiler (TurboFan) held back while the daemon starts, and given back once it
 * serves.
 *
 * Start-up runs code once: the module loader resolves the bundle's chunks and Node optimizes its
 * own path functions (`fileURLToPath`, `path.resolve`) after a few hundred calls. That compile
 * brings TurboFan's own code into memory: about 4 MB of RSS on Node 20 and 6 MB on Node 22 for
 * code that never runs again (docs/benchmarks.md). `bin/mta-sts-bridge.js` therefore turns
 * TurboFan off before it loads anything for `serve`, and `serve` turns it back on once its
 * listeners accept. From then on V8 tiers up as always: the code that answers lookups is
 * optimized as soon as traffic makes it hot, and only then is TurboFan's code paged in.
 *
 * The switch is process-wide (`v8.setFlagsFromString`) and read by V8 at each tier-up decision.
 * It is left alone when the operator chose a compiler setting (`--jitless`, `--no-opt`, ... in
 * node's arguments or NODE_OPTIONS): the launcher only undoes what it did itself.
 */
import v8 from 'node:v8';

/** Set on globalThis by bin/mta-sts-bridge.js when it turned TurboFan off. */
export const OPTIMIZER_DEFERRED = Symbol.for('mta-sts-bridge.optimizer-deferred');

/** Node or V8 arguments that already say how to compile: the launcher then changes nothing. */
const COMPILER_CHOICE = /(^|\s)--(no-)?(jitless|opt|turbofan|maglev|sparkplug|max-lazy|lite-mode)\b/;

/** Whether `serve` may defer TurboFan: no compiler choice in node's arguments or NODE_OPTIONS. */
export function mayDeferOptimizer(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  return !COMPILER_CHOICE.test(` ${execArgv.join(' ')} ${nodeOptions ?? ''}`);
}

/**
 * Turn TurboFan off until `resumeOptimizer`, unless a compiler choice was made; true when it did.
 * Called by bin/mta-sts-bridge.js before it loads `serve`.
 */
export function deferOptimizer(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string | undefined = process.env['NODE_OPTIONS'],
  setFlags: (flags: string) => void = v8.setFlagsFromString,
): boolean {
  if (!mayDeferOptimizer(execArgv, nodeOptions)) return false;
  setFlags('--no-turbofan');
  (globalThis as { [OPTIMIZER_DEFERRED]?: boolean })[OPTIMIZER_DEFERRED] = true;
  return true;
}

/**
 * Turn TurboFan back on if the launcher turned it off; true when it did. Safe to call more than
 * once, and in a process the launcher did not start (tests): nothing then happens.
 */
export function resumeOptimizer(setFlags: (flags: string) => void = v8.setFlagsFromString): boolean {
  const holder = globalThis as { [OPTIMIZER_DEFERRED]?: boolean };
  if (holder[OPTIMIZER_DEFERRED] !== true) return false;
  setFlags('--turbofan');
  holder[OPTIMIZER_DEFERRED] = false;
  return true;
}
