/**
 * Formatting for the benchmarks' output, and the machine context printed with every run
 * (figures from a shared, noisy machine mean little without it).
 */
import os from 'node:os';

export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Nanoseconds as microseconds (or milliseconds past 10 ms). */
export function fmtUs(ns: number): string {
  const us = ns / 1000;
  if (us >= 10_000) return `${(us / 1000).toFixed(1)} ms`;
  return `${us < 100 ? us.toFixed(1) : us.toFixed(0)} µs`;
}

export function fmtBytes(n: number): string {
  if (Math.abs(n) >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
  if (Math.abs(n) >= 10 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${Math.round(n)} B`;
}

/** Node version, CPUs and their model, load average, memory: one line each. */
export function machineContext(): string[] {
  const cpus = os.cpus();
  const model = cpus[0]?.model.trim() ?? 'unknown';
  const load = os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  return [
    `node ${process.version} (V8 ${process.versions.v8}), ${process.platform}/${process.arch}, kernel ${os.release()}`,
    `${cpus.length} CPUs (${os.availableParallelism()} available to node), ${model}`,
    `load average ${load} (1/5/15 min), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${(os.freemem() / 2 ** 30).toFixed(1)} GiB free`,
  ];
}

/** Two aligned columns. */
export function printTable(rows: ReadonlyArray<readonly [string, string]>): void {
  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${v}`);
}
