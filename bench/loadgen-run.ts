/**
 * Building and running the C load generator (bench/loadgen.c), and waiting for a target to
 * listen: shared by `npm run bench` (bench/run.ts), `npm run bench:instructions` and the
 * load generator's tests.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const root = resolve(import.meta.dirname, '../..');

/** The JSON line loadgen prints (bench/loadgen.c). */
export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  lookups_per_s: number;
  p50_us: number;
  p99_us: number;
  max_us: number;
  replies: { OK: number; NOTFOUND: number; TEMP: number; PERM: number; other: number };
  conns: number;
  depth: number;
  /** --rate, 0 for a closed loop. */
  rate: number;
  cpu_s: number;
  wall_s: number;
  sample: string;
}

/** Compile bench/loadgen.c to `out` with gcc (`flags` before the file); throws with gcc's errors. */
export function compileLoadgen(out: string, flags: readonly string[] = ['-O2', '-Wall']): void {
  const cc = spawnSync('gcc', [...flags, '-o', out, join(root, 'bench/loadgen.c')], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(`gcc failed: ${cc.stderr}`);
}

/** Run the load generator `bin` with `args`; its JSON line, or an error with its stderr (and when killed after `timeoutMs`). */
export function runLoadgen(bin: string, args: readonly string[], timeoutMs = 0): Promise<LoadResult> {
  return new Promise((done, fail) => {
    const child = spawn(bin, [...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', fail);
    child.on('exit', (code, signal) => {
      if (code !== 0) fail(new Error(`loadgen ${args.join(' ')} exited ${signal ?? code}: ${err}`));
      else done(JSON.parse(out) as LoadResult);
    });
  });
}

/** True when something accepts a TCP connection on 127.0.0.1:`port`. */
export function tryConnect(port: number): Promise<boolean> {
  return new Promise((done) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      done(true);
    });
    s.once('error', () => done(false));
  });
}

/**
 * Polls connect() every `pollMs` until `child`'s listener on `port` accepts; resolves with the ms
 * since `t0` (a `performance.now()`). Throws when the child exits first or after `timeoutMs`.
 */
export async function waitListener(
  child: ChildProcess,
  port: number,
  t0: number,
  { timeoutMs = 30_000, pollMs = 2 }: { readonly timeoutMs?: number; readonly pollMs?: number } = {},
): Promise<number> {
  for (;;) {
    if (await tryConnect(port)) return performance.now() - t0;
    if (child.exitCode !== null) throw new Error(`target exited (${child.exitCode}) before listening`);
    if (performance.now() - t0 > timeoutMs) throw new Error('listener never accepted');
    await sleep(pollMs);
  }
}
