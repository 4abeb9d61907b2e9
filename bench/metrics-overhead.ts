/**
 * What metrics cost per lookup: the same stub LookupService and socketmap adapter timed plain
 * (no `metrics:`, nothing is wrapped) and measured (prom-client counter child + histogram
 * observe per answer), side by side, interleaved rounds so load on the machine hits both alike.
 * Prints figures; asserts nothing.
 *
 *   npm run build && node dist/bench/metrics-overhead.js [--iterations 300000] [--rounds 3]
 */
import { parseArgs } from 'node:util';
import { Writable } from 'node:stream';
import { socketmapAdapter, type SocketmapRequest } from '../adapters/protocol/socketmap.js';
import { DEFAULT_ZONE } from '../src/config/defaults.js';
import type { LookupResult, LookupService } from '../src/lookup.js';
import { createLogger } from '../src/log/logger.js';
import { measuredAdapter, measuredLookup } from '../src/metrics/instrument.js';
import { PrometheusMetrics } from '../src/metrics/prometheus.js';
import { parsePolicyFile } from '../src/policy/policy-file.js';
import type { HandlerContext } from '../src/protocol/types.js';
import { benchDomain, benchPolicyText } from './fake-network.js';
import { forceGc, startHeapMeter } from './heap-meter.js';
import { fmtBytes, fmtInt, machineContext, printTable } from './report.js';

const DOMAINS = 1000;

class NullSink extends Writable {
  override _write(_chunk: unknown, _enc: BufferEncoding, done: () => void): void {
    done();
  }
}

let checksum = 0;

async function time(iterations: number, op: (i: number) => Promise<number>): Promise<{ ns: number; bytes: number }> {
  for (let i = 0; i < iterations / 10; i += 1) checksum += await op(i);
  forceGc();
  const meter = startHeapMeter();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i += 1) checksum += await op(i);
  const ns = Number(process.hrtime.bigint() - t0);
  return { ns: ns / iterations, bytes: meter.stop().allocatedBytes / iterations };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { iterations: { type: 'string' }, rounds: { type: 'string' } }, strict: true });
  const iterations = Number(values.iterations ?? 300_000);
  const rounds = Number(values.rounds ?? 3);
  const domains = Array.from({ length: DOMAINS }, (_, i) => benchDomain(i));
  const results = new Map<string, LookupResult>();
  for (const d of domains) {
    const parsed = parsePolicyFile(benchPolicyText(d));
    if (!parsed.ok) throw new Error('bench policy does not parse');
    results.set(d, {
      zoneName: 'default',
      zone: DEFAULT_ZONE,
      resolution: {
        kind: 'policy',
        domain: d,
        id: '1',
        policy: parsed.value,
        source: 'cache',
        fetchedAt: 0,
        expiresAt: Number.MAX_SAFE_INTEGER,
        reason: 'grace',
      },
    });
  }
  const stub: LookupService = {
    zone: () => ({ name: 'default', zone: DEFAULT_ZONE }),
    lookup: async (domain) => results.get(domain) as LookupResult,
  };
  const metrics = new PrometheusMetrics();
  const measured = measuredLookup(stub, 'socketmap', metrics);
  const log = createLogger({ level: 'warn', format: 'text' }, { stream: new NullSink() });
  const ctx: HandlerContext = { lookup: stub, log };
  const plainAdapter = socketmapAdapter;
  const measuredSocketmap = measuredAdapter(plainAdapter, 'socketmap', metrics);
  const requests: SocketmapRequest[] = domains.map((d) => ({ mapName: 'postfix', key: d }));

  const stages: Array<[string, (i: number) => Promise<number>]> = [
    ['lookup, plain', async (i) => (await stub.lookup(domains[i % DOMAINS] as string)).zoneName.length],
    ['lookup, measured', async (i) => (await measured.lookup(domains[i % DOMAINS] as string)).zoneName.length],
    ['socketmap handle, plain', async (i) => (await plainAdapter.handle(requests[i % DOMAINS] as SocketmapRequest, ctx)).length],
    ['socketmap handle, measured', async (i) => (await measuredSocketmap.handle(requests[i % DOMAINS] as SocketmapRequest, ctx)).length],
  ];
  const best = new Map<string, { ns: number; bytes: number }>();
  for (let r = 0; r < rounds; r += 1) {
    for (const [name, op] of stages) {
      const t = await time(iterations, op);
      const prev = best.get(name);
      if (prev === undefined || t.ns < prev.ns) best.set(name, t);
    }
  }
  console.log('mta-sts-bridge metrics overhead per answered lookup');
  for (const line of machineContext()) console.log(`  ${line}`);
  console.log(`  ${fmtInt(iterations)} iterations per stage, best of ${rounds} interleaved rounds`);
  console.log('');
  printTable([
    ['stage', 'ns/op    heap bytes/op'],
    ...stages.map(([name]): [string, string] => {
      const t = best.get(name) as { ns: number; bytes: number };
      return [name, `${t.ns.toFixed(0).padStart(6)}  ${fmtBytes(t.bytes).padStart(10)}`];
    }),
  ]);
  const d = (a: string, b: string): string => ((best.get(b)?.ns ?? 0) - (best.get(a)?.ns ?? 0)).toFixed(0);
  console.log(
    `\n  added by metrics: lookup ${d('lookup, plain', 'lookup, measured')} ns, socketmap handle ${d('socketmap handle, plain', 'socketmap handle, measured')} ns`,
  );
  console.log(`  (checksum ${checksum % 997})`);
}

await main();
