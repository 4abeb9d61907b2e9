#!/bin/sh
':' //; case "${MTA_STS_BRIDGE_MALLOC:-jemalloc}" in jemalloc | system) ;; *) printf 'mta-sts-bridge: MTA_STS_BRIDGE_MALLOC must be jemalloc or system, found "%s"\n' "$MTA_STS_BRIDGE_MALLOC" >&2; exit 2 ;; esac
':' //; msb_set=; if [ "${MTA_STS_BRIDGE_MALLOC:-jemalloc}" = jemalloc ] && [ -z "${LD_PRELOAD-}" ]; then msb_arch=; if [ -r "/proc/$$/maps" ]; then while read -r msb_x msb_x msb_x msb_x msb_x msb_f; do case "$msb_f" in */lib/*-linux-*/libc.so.6) msb_f="${msb_f##*/lib/}"; msb_arch="${msb_f%%/*}"; break ;; esac; done <"/proc/$$/maps"; fi; for msb_d in ${msb_arch:+"/usr/lib/$msb_arch"} /usr/lib64 /usr/lib; do if [ -f "$msb_d/libjemalloc.so.2" ] && [ -r "$msb_d/libjemalloc.so.2" ]; then LD_PRELOAD="$msb_d/libjemalloc.so.2"; msb_set=LD_PRELOAD; if [ -z "${MALLOC_CONF+set}" ]; then MALLOC_CONF=narenas:2,lg_tcache_max:12,background_thread:true,dirty_decay_ms:1000; msb_set="$msb_set MALLOC_CONF"; fi; export LD_PRELOAD MALLOC_CONF; break; fi; done; fi
':' //; if [ -z "${MALLOC_ARENA_MAX+set}" ]; then MALLOC_ARENA_MAX=2; export MALLOC_ARENA_MAX; msb_set="${msb_set:+$msb_set }MALLOC_ARENA_MAX"; fi; MTA_STS_BRIDGE_LAUNCHER_SET="$msb_set"; export MTA_STS_BRIDGE_LAUNCHER_SET; unset msb_set msb_arch msb_d msb_f msb_x; command -v node >/dev/null || { printf 'mta-sts-bridge: node not found on PATH (%s)\n' "$PATH" >&2; exit 127; }; exec node --max-semi-space-size=1 -- "$0" "$@"
// The lines above are the launcher, read by sh (`':' //` is a no-op there) and skipped by Node
// (a string, then a comment). They set up the process, then exec node on this same file:
// - jemalloc: when libjemalloc.so.2 is installed (Debian: libjemalloc2) and LD_PRELOAD is unset,
//   it is preloaded, with MALLOC_CONF (unless set) =
//   narenas:2,lg_tcache_max:12,background_thread:true,dirty_decay_ms:1000. glibc's malloc keeps,
//   free but resident, the memory a burst of policy fetches used; jemalloc gives it back: about
//   half the RSS per cached policy, for about 1.5 MB more at start (docs/operations.md,
//   "Memory settings", which says why each setting; docs/benchmarks.md).
//   MTA_STS_BRIDGE_MALLOC=system keeps glibc's malloc (empty or unset: jemalloc); without the
//   library nothing is preloaded (ld.so would warn at every start). `lg_tcache_max:12` rather
//   than `tcache_max:4096`: the same setting, known to jemalloc 5.1 and 5.2 as well.
//   Where: first /usr/lib/TRIPLET, the Debian multiarch directory of the C library this shell
//   runs on (the directory of libc.so.6 in /proc/$$/maps, e.g. /usr/lib/x86_64-linux-gnu,
//   /usr/lib/arm-linux-gnueabihf): the machine's own architecture, also for a 32-bit system on
//   a 64-bit kernel (where `uname -m` says aarch64 or x86_64), never a foreign-architecture
//   copy, and without starting a process (a `$(uname -m)` costs a fork and an exec). Then
//   /usr/lib64 and /usr/lib (Fedora, Arch, Alpine; also where /proc is not mounted).
// - MALLOC_ARENA_MAX=2 (unless set): with glibc's malloc, two arenas instead of one per thread
//   that allocates (the policy fetch worker, libuv's pool): ~16% less RSS per cached policy.
// - --max-semi-space-size=1 (MiB): V8's young generation otherwise grows to 16 MiB per
//   semi-space once objects survive (filling a policy cache), and the garbage of that growth
//   keeps the old generation from shrinking (docs/benchmarks.md).
// `node bin/mta-sts-bridge.js` (or dist/ directly) skips all three; set them yourself then.
// The launcher names what it set itself in MTA_STS_BRIDGE_LAUNCHER_SET (not what the
// environment already had); the code below removes those from process.env before anything runs.
// Thin launcher: the compiled CLI lives in dist/ (built by `npm install` in a checkout
// through the `prepare` script, or by `npm run build`; shipped built in the npm package).
// `npm run build` also bundles it (scripts/bundle.mjs: dist/bundle/cli/, a few files instead of
// ~150 modules, which starts the daemon ~100 ms sooner); the bundle is used unless tsc wrote
// dist/main after it (a `tsc`-only rebuild), so a stale bundle never runs.
import { statSync } from 'node:fs';

// The launcher's settings are for this process: the programs the daemon runs (getent at a
// privilege drop, systemd-notify, postmap and postconf) start without them, on their own
// malloc, as they would have without the launcher. An LD_PRELOAD, MALLOC_CONF or
// MALLOC_ARENA_MAX the environment already had is not in the list and is passed on as it came.
const LAUNCHER_SET = process.env.MTA_STS_BRIDGE_LAUNCHER_SET;
if (LAUNCHER_SET !== undefined) {
  for (const name of LAUNCHER_SET.split(' ')) {
    if (name === 'LD_PRELOAD' || name === 'MALLOC_CONF' || name === 'MALLOC_ARENA_MAX') delete process.env[name];
  }
  delete process.env.MTA_STS_BRIDGE_LAUNCHER_SET;
}

const BUNDLE = new URL('../dist/bundle/cli/main.js', import.meta.url);
const COMPILED = new URL('../dist/main/cli/main.js', import.meta.url);

function bundleIsCurrent() {
  try {
    return statSync(BUNDLE).mtimeMs >= statSync(COMPILED).mtimeMs;
  } catch {
    return false;
  }
}

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
