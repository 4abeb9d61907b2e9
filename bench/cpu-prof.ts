/**
 * `npm run bench -- --cpu-prof DIR`: CPU profiles of the bridge started through its launcher.
 * Node refuses --cpu-prof in NODE_OPTIONS ("--cpu-prof is not allowed in NODE_OPTIONS", Node 20),
 * and starting node directly would skip the launcher (its jemalloc, MALLOC_ARENA_MAX): the
 * bridge and glibc targets would then both run on glibc's malloc. Instead a `node` first on the
 * target's PATH adds the profiling flags and execs the node the launcher would have run, with
 * the environment and flags the launcher gave it.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const shQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Write the `node` stand-in into `dir` (created) for the node now first on PATH; returns `dir`. */
export function writeProfilingNode(dir: string, env: NodeJS.ProcessEnv = process.env): string {
  const node = spawnSync('/bin/sh', ['-c', 'command -v node'], { env, encoding: 'utf8' }).stdout.trim();
  if (node === '') throw new Error('--cpu-prof: node not found on PATH');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'node'), `#!/bin/sh\nexec ${shQuote(node)} --cpu-prof --cpu-prof-dir="$MSB_BENCH_CPU_PROF_DIR" "$@"\n`, {
    mode: 0o755,
  });
  return dir;
}

/** `env` for a target started through the launcher, its profiles written into `profileDir`. */
export function profilingEnv(env: NodeJS.ProcessEnv, nodeDir: string, profileDir: string): NodeJS.ProcessEnv {
  return { ...env, PATH: `${nodeDir}:${env['PATH'] ?? '/usr/bin:/bin'}`, MSB_BENCH_CPU_PROF_DIR: profileDir };
}
