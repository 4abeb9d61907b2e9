/**
 * Instructions per lookup on the warm path, counted by valgrind (callgrind), for the ceiling
 * (bench/baseline-server.ts) and the bridge (bench/instructions-daemon.ts: the real server,
 * adapter, resolver and memory cache, in-memory DNS and HTTPS), side by side.
 *
 * Why: on the shared 2-core machine the speed available to one process drifts by 30% and more
 * from one second to the next, so a change of a few percent on the warm path cannot be seen in
 * lookups per second (docs/benchmarks.md). The number of instructions a process executes per
 * lookup does not depend on that: two runs of the same code agree within about 1-2%. It counts
 * user-space instructions only (the kernel's read and write are the same for both targets) and
 * every thread of the process (V8's GC helpers included); it says nothing about cache misses.
 * The bridge here is tsc's output (dist/), not the bundle `bin/` runs, and valgrind replaces the
 * allocator: the same warm-path code, not the same process as `npm run bench` measures.
 *
 * Each target runs under `valgrind --tool=callgrind` with instrumentation off; the load
 * generator (bench/loadgen.c) warms it (every domain once, then a closed loop for the JIT),
 * then `callgrind_control` switches instrumentation on, exactly REQUESTS lookups are asked (32
 * connections, one in flight each, as Postfix does), and the profile is dumped. Needs valgrind
 * and gcc; no root.
 *
 *   npm run build && npm run bench:instructions -- [--runs 2] [--requests 20000] [--warm-seconds 15] [--top 25]
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { encodeNetstring } from '../adapters/protocol/netstring.js';
import { benchDomain } from './fake-network.js';
import { compileLoadgen, runLoadgen, waitListener } from './loadgen-run.js';
import { parseCallgrindAnnotate, perRequestDiff, type CallgrindCounts } from './callgrind.js';
import { fmtInt, machineContext } from './report.js';

const root = resolve(import.meta.dirname, '../..');
const dist = join(root, 'dist');
const CONNS = 32;
const DOMAINS = 200;
/** The bridge's reply for a benchmark domain: the ceiling answers every request with it. */
const REPLY = 'OK secure match=mx1.d0000.bench.example:.mx.d0000.bench.example servername=hostname';

type Target = 'ceiling' | 'bridge';

interface Measured {
  readonly target: Target;
  readonly run: number;
  readonly requests: number;
  readonly counts: CallgrindCounts;
}

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

async function measure(
  target: Target,
  run: number,
  opts: { readonly requests: number; readonly warmSeconds: number },
  work: string,
  bin: string,
  port: number,
): Promise<Measured> {
  const tag = `${target}-${run}`;
  const out = join(work, `callgrind.${tag}`);
  const command =
    target === 'ceiling'
      ? [process.execPath, join(dist, 'bench/baseline-server.js'), String(port), encodeNetstring(REPLY).toString('latin1')]
      : // The launcher's V8 flag; its allocator does not apply (valgrind replaces malloc).
        [process.execPath, '--max-semi-space-size=1', join(dist, 'bench/instructions-daemon.js'), String(port), String(DOMAINS)];
  const child = spawn(
    'valgrind',
    ['--tool=callgrind', '--smc-check=all-non-file', '--instr-atstart=no', `--callgrind-out-file=${out}`, ...command],
    { stdio: ['ignore', 'ignore', 'ignore'] },
  );
  try {
    await waitListener(child, port, performance.now(), { timeoutMs: 120_000, pollMs: 200 });
    const domains = join(work, 'domains.txt');
    const measured = join(work, 'measured.txt');
    const base = ['--port', String(port), '--conns', String(CONNS)];
    const warm = await runLoadgen(bin, [...base, '--domains', domains, '--once', '--timeout', '120']);
    if (warm.errors !== 0) throw new Error(`${tag}: ${warm.errors} errors while warming`);
    await runLoadgen(bin, [...base, '--domains', domains, '--warmup', '0', '--seconds', String(opts.warmSeconds)]);
    execFileSync('callgrind_control', ['--instr=on', String(child.pid)], { stdio: 'ignore' });
    const r = await runLoadgen(bin, [...base, '--domains', measured, '--once', '--timeout', '600']);
    execFileSync('callgrind_control', ['--dump', String(child.pid)], { stdio: 'ignore' });
    execFileSync('callgrind_control', ['--instr=off', String(child.pid)], { stdio: 'ignore' });
    if (r.errors !== 0 || r.requests !== opts.requests) throw new Error(`${tag}: ${r.requests} answered, ${r.errors} errors`);
    const dump = readdirSync(work)
      .filter((f) => f.startsWith(`callgrind.${tag}.`))
      .sort()[0];
    if (dump === undefined) throw new Error(`${tag}: no callgrind dump`);
    const text = execFileSync('callgrind_annotate', ['--threshold=100', join(work, dump)], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    return { target, run, requests: r.requests, counts: parseCallgrindAnnotate(text) };
  } finally {
    child.kill('SIGKILL');
    await new Promise<void>((done) => (child.exitCode !== null || child.signalCode !== null ? done() : child.once('exit', () => done())));
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '2' },
      requests: { type: 'string', default: '20000' },
      'warm-seconds': { type: 'string', default: '15' },
      top: { type: 'string', default: '25' },
    },
  });
  const runs = Number(values.runs);
  const perPass = Number(values.requests) / DOMAINS;
  const warmSeconds = Number(values['warm-seconds']);
  const top = Number(values.top);
  if (![runs, perPass, warmSeconds, top].every((n) => Number.isInteger(n) && n > 0)) {
    console.error('usage: instructions.js [--runs N] [--requests N (a multiple of 200)] [--warm-seconds S] [--top N]');
    process.exitCode = 2;
    return;
  }
  const requests = perPass * DOMAINS;
  console.log(`# warm-path instructions per lookup (valgrind callgrind) — ${new Date().toISOString()}`);
  for (const line of machineContext()) console.log(line);
  const missing = ['valgrind', 'callgrind_control', 'callgrind_annotate', 'gcc'].filter((c) => !has(c));
  if (missing.length > 0) {
    console.log(`not installed: ${missing.join(', ')} (apt-get install valgrind gcc). Nothing measured.`);
    return;
  }
  console.log(
    `workload: ${DOMAINS} cached enforce domains, ${CONNS} connections × 1 in flight; warm-up: every domain once, then ${warmSeconds} s closed loop; measured: exactly ${fmtInt(requests)} lookups`,
  );
  const work = mkdtempSync(join(os.tmpdir(), 'msb-instructions-'));
  try {
    const bin = join(work, 'loadgen');
    compileLoadgen(bin);
    const domains = Array.from({ length: DOMAINS }, (_, i) => benchDomain(i));
    writeFileSync(join(work, 'domains.txt'), domains.join('\n') + '\n');
    writeFileSync(join(work, 'measured.txt'), Array.from({ length: perPass }, () => domains.join('\n')).join('\n') + '\n');
    const port = 20_000 + (process.pid % 20_000);
    const results: Measured[] = [];
    for (let run = 1; run <= runs; run++) {
      // Alternating, so that a run of each target sees the same state of the machine's caches and files.
      for (const target of run % 2 === 1 ? (['ceiling', 'bridge'] as const) : (['bridge', 'ceiling'] as const)) {
        const m = await measure(target, run, { requests, warmSeconds }, work, bin, port);
        results.push(m);
        console.log(
          `${`${target}-${run}`.padEnd(10)} ${fmtInt(m.counts.total / m.requests).padStart(7)} instructions per lookup  (${fmtInt(m.counts.total)} for ${fmtInt(m.requests)})`,
        );
      }
    }
    const per = (t: Target): number[] => results.filter((r) => r.target === t).map((r) => r.counts.total / r.requests);
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    const ceiling = per('ceiling');
    const bridge = per('bridge');
    console.log();
    console.log(
      `bridge / ceiling: ${(mean(bridge) / mean(ceiling)).toFixed(3)} (means ${fmtInt(mean(bridge))} and ${fmtInt(mean(ceiling))}; spread of the runs: bridge ${fmtInt(Math.min(...bridge))}–${fmtInt(Math.max(...bridge))}, ceiling ${fmtInt(Math.min(...ceiling))}–${fmtInt(Math.max(...ceiling))})`,
    );
    const b = results.find((r) => r.target === 'bridge');
    const c = results.find((r) => r.target === 'ceiling');
    if (b !== undefined && c !== undefined) {
      console.log();
      console.log(`Per lookup, by function (self cost), the ${top} largest differences (first runs): bridge | ceiling | difference`);
      for (const d of perRequestDiff(b.counts, b.requests, c.counts, c.requests).slice(0, top)) {
        console.log(
          `${fmtInt(d.a).padStart(7)} ${fmtInt(d.b).padStart(7)} ${(d.diff >= 0 ? '+' : '') + fmtInt(d.diff)}`.padEnd(26) + d.name,
        );
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
