#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=1
// --max-semi-space-size=1 (MiB): V8's young generation otherwise grows to 16 MiB per semi-space
// once objects survive (filling a policy cache), and the garbage of that growth keeps the old
// generation from shrinking. With it the daemon's memory follows what it holds (docs/benchmarks.md).
// MALLOC_ARENA_MAX=2: glibc otherwise gives each thread that allocates (the policy fetch worker,
// libuv's pool) an arena of its own, and what a burst of TLS fetches left in them is not given
// back; with two, RSS after caching 20,000 policies is ~16% lower (docs/benchmarks.md).
// `env -S` splits the flags and sets the variable (GNU coreutils 8.30+, FreeBSD, macOS).
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
