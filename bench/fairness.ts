/**
 * Fairness benchmark (issue 13, finding 4): 200 clients pipeline socketmap requests without
 * ever reading a reply while one well-behaved client looks up one domain at a time. Prints the
 * well-behaved client's latency and the daemon's RSS with the round-robin scheduler (8 requests
 * per connection per turn, the default) beside the scheduler off (a budget of Infinity: every
 * decoded request starts at once, as before it existed).
 *
 *   npm run build && node dist/bench/fairness.js [--flooders 200] [--seconds 10] [--level info]
 */
import { parseArgs } from 'node:util';
import { DEFAULT_REQUESTS_PER_TURN } from '../src/server/turn-scheduler.js';
import { percentile, runFlood, type FloodResult } from './flood-run.js';
import { fmtBytes, machineContext } from './report.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { flooders: { type: 'string' }, seconds: { type: 'string' }, level: { type: 'string' } },
    strict: true,
  });
  const flooders = Number(values.flooders ?? 200);
  const seconds = Number(values.seconds ?? 10);
  const level = (values.level ?? 'info') as 'error' | 'warn' | 'info' | 'debug';
  console.log('mta-sts-bridge fairness benchmark: pipelining clients that never read vs one well-behaved client');
  for (const line of machineContext()) console.log(`  ${line}`);
  console.log(`  setup: ${flooders} flooding connections, ${seconds} s of lookups by the well-behaved client, log level ${level}`);

  const runs: Array<[string, FloodResult]> = [];
  for (const [label, budget] of [
    [`round-robin, ${DEFAULT_REQUESTS_PER_TURN}/turn`, DEFAULT_REQUESTS_PER_TURN],
    ['scheduler off (Infinity)', Infinity],
  ] as const) {
    const r = await runFlood({ requestsPerTurn: budget, flooders, seconds, logLevel: level, lookupTimeoutMs: 60_000 });
    runs.push([label, r]);
  }
  const rows: string[][] = [
    ['', ...runs.map(([l]) => l)],
    ['lookups answered', ...runs.map(([, r]) => String(r.latenciesMs.length))],
    ['timed out (60 s)', ...runs.map(([, r]) => String(r.timedOut))],
    ['latency p50', ...runs.map(([, r]) => `${percentile(r.latenciesMs, 50).toFixed(1)} ms`)],
    ['latency p99', ...runs.map(([, r]) => `${percentile(r.latenciesMs, 99).toFixed(1)} ms`)],
    ['latency max', ...runs.map(([, r]) => `${Math.max(...r.latenciesMs).toFixed(1)} ms`)],
    ['daemon RSS before flood', ...runs.map(([, r]) => fmtBytes(r.rssBefore))],
    ['daemon RSS peak', ...runs.map(([, r]) => fmtBytes(r.peakRss))],
    ['log written during flood', ...runs.map(([, r]) => fmtBytes(r.logBytes))],
  ];
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((row) => (row[c] ?? '').length))) ?? [];
  for (const row of rows) console.log(`  ${row.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('   ')}`);
}

void main();
