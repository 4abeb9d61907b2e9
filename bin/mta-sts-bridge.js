#!/bin/sh
':' //; case "${MTA_STS_BRIDGE_MALLOC:-jemalloc}" in jemalloc | system) ;; *) printf 'mta-sts-bridge: MTA_STS_BRIDGE_MALLOC must be jemalloc or system, found "%s"\n' "$MTA_STS_BRIDGE_MALLOC" >&2; exit 2 ;; esac
':' //; if [ "${MTA_STS_BRIDGE_MALLOC:-jemalloc}" = jemalloc ] && [ -z "${LD_PRELOAD-}" ]; then for d in /usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu /usr/lib64 /usr/lib; do if [ -f "$d/libjemalloc.so.2" ] && [ -r "$d/libjemalloc.so.2" ]; then LD_PRELOAD="$d/libjemalloc.so.2"; MALLOC_CONF="${MALLOC_CONF-narenas:2,lg_tcache_max:12,background_thread:true,dirty_decay_ms:1000}"; export LD_PRELOAD MALLOC_CONF; break; fi; done; fi
':' //; MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX-2}"; export MALLOC_ARENA_MAX; command -v node >/dev/null || { printf 'mta-sts-bridge: node not found on PATH (%s)\n' "$PATH" >&2; exit 127; }; exec node --max-semi-space-size=1 -- "$0" "$@"
// The lines above are the launcher, read by sh (`':' //` is a no-op there) and skipped by Node
// (a string, then a comment). They set up the process, then exec node on this same file:
// - jemalloc: when libjemalloc.so.2 is installed (Debian: libjemalloc2) in a system library
//   directory and LD_PRELOAD is unset, it is preloaded, with MALLOC_CONF (unless set) =
//   narenas:2,lg_tcache_max:12,background_thread:true,dirty_decay_ms:1000. glibc's malloc keeps,
//   free but resident, the memory a burst of policy fetches used; jemalloc gives it back: about
//   half the RSS per cached policy, for about 1.5 MB more at start (docs/operations.md,
//   "Memory settings", which says why each setting; docs/benchmarks.md).
//   MTA_STS_BRIDGE_MALLOC=system keeps glibc's malloc (empty or unset: jemalloc); without the
//   library nothing is preloaded (ld.so would warn at every start). `lg_tcache_max:12` rather
//   than `tcache_max:4096`: the same setting, known to jemalloc 5.1 and 5.2 as well.
// - MALLOC_ARENA_MAX=2 (unless set): with glibc's malloc, two arenas instead of one per thread
//   that allocates (the policy fetch worker, libuv's pool): ~16% less RSS per cached policy.
// - --max-semi-space-size=1 (MiB): V8's young generation otherwise grows to 16 MiB per
//   semi-space once objects survive (filling a policy cache), and the garbage of that growth
//   keeps the old generation from shrinking (docs/benchmarks.md).
// `node bin/mta-sts-bridge.js` (or dist/ directly) skips all three; set them yourself then.
// Thin launcher: the compiled CLI lives in dist/ (built by `npm install` in a checkout
// through the `prepare` script, or by `npm run build`; shipped built in the npm package).
// `npm run build` also bundles it (scripts/bundle.mjs: dist/bundle/cli/, a few files instead of
// ~150 modules, which starts the daemon ~100 ms sooner); the bundle is used unless tsc wrote
// dist/main after it (a `tsc`-only rebuild), so a stale bundle never runs.
import { statSync } from 'node:fs';

const BUNDLE = new URL('../dist/bundle/cli/main.js', import.meta.url);
const COMPILED = new URL('../dist/main/cli/main.js', import.meta.url);

function bundleIsCurrent() {
  try {
    return statSync(BUNDLE).mtimeMs >= statSync(COMPILED).mtimeMs;
  } catch {
    return false;
  }
}

// `serve`: V8's optimizing compiler stays off until the listeners accept (main/cli/optimizer.ts:
// start-up code runs once, and compiling it costs ~4 MB of RSS); the daemon then turns it on.
if (process.argv[2] === 'serve') (await import('../dist/main/cli/optimizer.js')).deferOptimizer();

const { main } = await import(bundleIsCurrent() ? BUNDLE.href : COMPILED.href);

// Once a command has finished, a leftover handle (a keep-alive socket, a DNS timer of an
// abandoned lookup) must not keep the process alive: exit after this grace period. The timer
// is unref'd, so a process with nothing left exits at once without waiting for it.
const EXIT_GRACE_MS = 1000;

main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
    setTimeout(() => process.exit(), EXIT_GRACE_MS).unref();
  },
  (err) => {
    process.stderr.write(`mta-sts-bridge: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 2;
    setTimeout(() => process.exit(), EXIT_GRACE_MS).unref();
  },
);
