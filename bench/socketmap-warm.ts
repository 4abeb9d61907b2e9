/**
 * Warm-cache socketmap benchmark: lookups per second and latency percentiles of the real daemon
 * (`startApp`, real TCP listener, real socketmap adapter, resolver and memory cache) when every
 * answer comes from the cache, as seen by a separate load process holding persistent
 * connections the way Postfix's smtp(8) processes do.
 *
 * Prints figures and context; it asserts nothing (shared machines are noisy: compare runs on
 * one machine, and read the context lines before the numbers).
 *
 *   npm run build && npm run bench -- [--seconds 10] [--connections 32] [--depth 1]
 *                                     [--domains 1000] [--warmup 2] [--no-info] [--no-baseline]
 *                                     [--guarded-log]
 */
import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { encodeNetstring } from '../adapters/protocol/netstring.js';
import { startApp } from '../main/app.js';
import { buildDefaultConfig } from '../src/config/defaults.js';
import type { BridgeConfig, ProtocolName } from '../src/config/types.js';
import { createLogger } from '../src/log/logger.js';
import { adapterFor } from '../adapters/protocol/registry.js';
import type { ProtocolAdapter } from '../src/protocol/types.js';
import { CountingNetwork, benchDomain, type NetworkCounts } from './fake-network.js';
import { forceGc, startHeapMeter, type HeapMeasurement } from './heap-meter.js';
import { Histogram } from './histogram.js';
import type { FromLoad, PhaseResult, ToLoad } from './load-messages.js';
import { startBaselineServer } from './baseline-server.js';
import { guardLogLevels } from './guarded-logger.js';
import { fmtBytes, fmtInt, fmtUs, machineContext, printTable } from './report.js';

/** Long enough that nothing cached is re-checked during any run (the default is 60 s). */
const BENCH_CACHE_GRACE_SEC = 86_400;
/** The map name Postfix would send: `socketmap:inet:127.0.0.1:8461:postfix`. */
const MAP_NAME = 'postfix';
/** What the baseline server answers: the daemon's reply for a benchmark domain, byte for byte in size. */
const BASELINE_REPLY = encodeNetstring('OK secure match=mx1.d0000.bench.example:.mx.d0000.bench.example servername=hostname');

interface Options {
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly connections: number;
  readonly depth: number;
  readonly domains: number;
  readonly infoPhase: boolean;
  /** Also measure a bare netstring server, for the ratio daemon/baseline. */
  readonly baseline: boolean;
  /** Experiment: winston level methods return at once when their level is off (bench/guarded-logger.ts). */
  readonly guardedLog: boolean;
}

function positiveNumber(name: string, value: string | undefined, fallback: number, integer: boolean): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || (integer && (!Number.isInteger(n) || n < 1))) {
    throw new Error(`--${name} must be a ${integer ? 'positive integer' : 'non-negative number'}, not ${JSON.stringify(value)}`);
  }
  return n;
}

function readOptions(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      seconds: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      depth: { type: 'string' },
      domains: { type: 'string' },
      'no-info': { type: 'boolean' },
      'no-baseline': { type: 'boolean' },
      'guarded-log': { type: 'boolean' },
    },
    strict: true,
  });
  return {
    seconds: positiveNumber('seconds', values.seconds, 10, false),
    warmupSeconds: positiveNumber('warmup', values.warmup, 2, false),
    connections: positiveNumber('connections', values.connections, 32, true),
    depth: positiveNumber('depth', values.depth, 1, true),
    domains: positiveNumber('domains', values.domains, 1000, true),
    infoPhase: values['no-info'] !== true,
    baseline: values['no-baseline'] !== true,
    guardedLog: values['guarded-log'] === true,
  };
}

/** A log destination that keeps nothing and counts what it was given. */
class NullSink extends Writable {
  lines = 0;
  bytes = 0;
  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.lines += 1;
    this.bytes += chunk.length;
    done();
  }
}

function benchConfig(domains: number): BridgeConfig {
  const base = buildDefaultConfig();
  return {
    ...base,
    listeners: [{ protocol: 'socketmap', address: { kind: 'tcp', host: '127.0.0.1', port: 0 }, reusePort: false, origin: 'bench' }],
    cacheGraceSec: BENCH_CACHE_GRACE_SEC,
    cache: { type: 'internal', cacheSize: Math.max(base.cache.type === 'internal' ? base.cache.cacheSize : 0, domains * 2) },
    logging: { level: 'warn', format: 'text' },
  };
}

/** What one measured phase looked like from inside the daemon's process. */
interface DaemonSide {
  readonly handled: number;
  readonly network: NetworkCounts;
  readonly cpuUs: number;
  /** Event-loop utilization (0..1): how busy the daemon's only thread was. */
  readonly elu: number;
  readonly heap: HeapMeasurement;
  readonly memBefore: NodeJS.MemoryUsage;
  readonly memAfter: NodeJS.MemoryUsage;
  readonly memAfterGc: NodeJS.MemoryUsage;
  readonly logLines: number;
  readonly logBytes: number;
}

function diffCounts(a: NetworkCounts, b: NetworkCounts): NetworkCounts {
  return { txtQueries: b.txtQueries - a.txtQueries, addressLookups: b.addressLookups - a.addressLookups, fetches: b.fetches - a.fetches };
}

/** A running load process, driven phase by phase. */
interface LoadSession {
  /** Replies of the pre-warm pass (every domain asked once). */
  readonly prewarmed: Extract<FromLoad, { type: 'prewarmed' }>;
  run(label: string, seconds: number): Promise<PhaseResult>;
  close(): Promise<void>;
}

/** Fork the load process against `port`; resolves once it has pre-warmed and warmed up. */
async function openLoad(port: number, opts: Options, domains: readonly string[], onPrewarmed: () => void): Promise<LoadSession> {
  const child = fork(fileURLToPath(new URL('./socketmap-load.js', import.meta.url)), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const inbox: FromLoad[] = [];
  let waiter: (() => void) | undefined;
  let childExit: string | undefined;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.on('message', (m: FromLoad) => {
    inbox.push(m);
    waiter?.();
  });
  child.on('exit', (code, signal) => {
    childExit = `load process exited (${signal ?? `code ${code}`})`;
    waiter?.();
  });
  const receive = async <T extends FromLoad['type']>(type: T): Promise<Extract<FromLoad, { type: T }>> => {
    for (;;) {
      const m = inbox.shift();
      if (m !== undefined) {
        if (m.type !== type) throw new Error(`expected ${type} from the load process, got ${m.type}`);
        return m as Extract<FromLoad, { type: T }>;
      }
      if (childExit !== undefined) throw new Error(childExit);
      await new Promise<void>((resolve) => (waiter = resolve));
      waiter = undefined;
    }
  };
  const tell = (m: ToLoad): void => {
    child.send(m);
  };
  tell({
    type: 'start',
    host: '127.0.0.1',
    port,
    connections: opts.connections,
    depth: opts.depth,
    mapName: MAP_NAME,
    domains,
    warmupSeconds: opts.warmupSeconds,
  });
  const prewarmed = await receive('prewarmed');
  onPrewarmed();
  await receive('ready');
  return {
    prewarmed,
    async run(label, seconds) {
      tell({ type: 'run', label, seconds });
      return (await receive('result')).result;
    },
    async close() {
      if (childExit === undefined) tell({ type: 'exit' });
      await exited;
    },
  };
}

async function main(): Promise<void> {
  const opts = readOptions(process.argv.slice(2));
  const domains = Array.from({ length: opts.domains }, (_, i) => benchDomain(i));
  const network = new CountingNetwork(domains);
  const sink = new NullSink();
  const config = benchConfig(opts.domains);
  const log = createLogger(config.logging, { stream: sink });
  if (opts.guardedLog) guardLogLevels(log);

  // Count requests on the daemon side without adding a promise: the adapter's own is returned.
  let handled = 0;
  const counting = (protocol: ProtocolName): ProtocolAdapter => {
    const inner = adapterFor(protocol);
    return { ...inner, handle: (req, ctx) => ((handled += 1), inner.handle(req, ctx)) };
  };

  console.log('mta-sts-bridge warm-cache socketmap benchmark');
  for (const line of machineContext()) console.log(`  ${line}`);
  console.log(
    `  setup: ${fmtInt(opts.domains)} enforce domains, ${opts.connections} persistent connections, ` +
      `pipeline depth ${opts.depth}, ${opts.seconds} s per phase after ${opts.warmupSeconds} s JIT warm-up, ` +
      `cache_grace ${BENCH_CACHE_GRACE_SEC} s${opts.guardedLog ? ', EXPERIMENT: level-guarded logger' : ''}`,
  );

  /** Run one measured phase with `session`, observing this process (the daemon's) meanwhile. */
  const measure = async (
    session: LoadSession,
    label: string,
    requestsHandled: () => number,
  ): Promise<{ load: PhaseResult; daemon: DaemonSide }> => {
    sink.lines = 0;
    sink.bytes = 0;
    forceGc();
    const memBefore = process.memoryUsage();
    const netBefore = network.counts();
    const handledBefore = requestsHandled();
    const cpuBefore = process.cpuUsage();
    const eluBefore = performance.eventLoopUtilization();
    const meter = startHeapMeter();
    const result = await session.run(label, opts.seconds);
    const heap = meter.stop();
    const cpu = process.cpuUsage(cpuBefore);
    const elu = performance.eventLoopUtilization(eluBefore).utilization;
    const memAfter = process.memoryUsage();
    forceGc();
    const memAfterGc = process.memoryUsage();
    return {
      load: result,
      daemon: {
        handled: requestsHandled() - handledBefore,
        network: diffCounts(netBefore, network.counts()),
        cpuUs: cpu.user + cpu.system,
        elu,
        heap,
        memBefore,
        memAfter,
        memAfterGc,
        logLines: sink.lines,
        logBytes: sink.bytes,
      },
    };
  };

  const phases: Phase[] = [];
  const app = await startApp(config, { log, dns: network, fetcher: network, adapterFor: counting });
  try {
    const port = app.listeners[0]?.port;
    if (port === undefined) throw new Error('the daemon did not report a TCP port');
    const session = await openLoad(port, opts, domains, () => {
      const n = network.counts();
      console.log(
        `  pre-warm: ${fmtInt(opts.domains)} requests; ${fmtInt(n.txtQueries)} TXT queries, ` +
          `${fmtInt(n.fetches)} policy fetches (expected ${fmtInt(opts.domains)} each)`,
      );
    });
    try {
      if (session.prewarmed.replies.ok !== opts.domains) console.log('  WARNING: not every pre-warm request was answered OK');
      phases.push({ name: 'daemon, log level warn', ...(await measure(session, 'warn', () => handled)) });
      if (opts.infoPhase) {
        // One decision line per lookup, formatted as in production, written to a null stream.
        log.level = 'info';
        phases.push({ name: 'daemon, log level info -> null stream', ...(await measure(session, 'info', () => handled)) });
        log.level = 'warn';
      }
    } finally {
      await session.close();
    }
  } finally {
    await app.stop();
  }

  let baseline: Phase | undefined;
  if (opts.baseline) {
    const server = await startBaselineServer(BASELINE_REPLY);
    try {
      const session = await openLoad(server.port, opts, domains, () => undefined);
      try {
        baseline = { name: 'baseline: bare netstring server, fixed reply', ...(await measure(session, 'baseline', () => server.requests)) };
      } finally {
        await session.close();
      }
    } finally {
      await server.close();
    }
  }

  for (const p of phases) report(p, baseline);
  if (baseline !== undefined) report(baseline, undefined);
  const warn = phases[0];
  const info = phases[1];
  console.log('');
  if (warn !== undefined && info !== undefined) {
    const ratio = rate(info.load) / rate(warn.load);
    console.log(`info-level logging: info/warn throughput = ${ratio.toFixed(2)} (${((1 - ratio) * 100).toFixed(1)} % slower)`);
  }
  if (warn !== undefined && baseline !== undefined) {
    console.log(
      `daemon/baseline throughput = ${(rate(warn.load) / rate(baseline.load)).toFixed(2)}; ` +
        `daemon CPU per lookup beyond the bare socket server: ${(cpuPerLookup(warn) - cpuPerLookup(baseline)).toFixed(1)} µs`,
    );
  }
}

interface Phase {
  readonly name: string;
  readonly load: PhaseResult;
  readonly daemon: DaemonSide;
}

function rate(load: PhaseResult): number {
  return load.windowNs > 0 ? load.completed / (load.windowNs / 1e9) : 0;
}

/** CPU (µs) the serving process spent per request it answered. */
function cpuPerLookup(p: Phase): number {
  return p.daemon.handled > 0 ? p.daemon.cpuUs / p.daemon.handled : 0;
}

function report(phase: Phase, baseline: Phase | undefined): void {
  const { name, load, daemon } = phase;
  const h = new Histogram();
  h.merge(load.latency);
  const seconds = load.windowNs / 1e9;
  const versus = baseline !== undefined ? `  = ${(rate(load) / rate(baseline.load)).toFixed(2)} x baseline` : '';
  const perLookup = (n: number): number => (daemon.handled > 0 ? n / daemon.handled : 0);
  const netCalls = daemon.network.txtQueries + daemon.network.fetches + daemon.network.addressLookups;
  const loadCpuUs = load.loadCpuUserUs + load.loadCpuSystemUs;
  const notOk = load.replies.notfound + load.replies.temp + load.replies.perm + load.replies.other;

  console.log(`\n== ${name} ==`);
  printTable([
    ['lookups/s', `${fmtInt(rate(load))}  (${fmtInt(load.completed)} replies in ${seconds.toFixed(2)} s)${versus}`],
    ['latency p50', fmtUs(h.quantileNs(0.5))],
    ['latency p90', fmtUs(h.quantileNs(0.9))],
    ['latency p99', fmtUs(h.quantileNs(0.99))],
    ['latency p99.9', fmtUs(h.quantileNs(0.999))],
    ['latency max', fmtUs(h.maxNs)],
    ['latency mean', fmtUs(h.meanNs())],
    ['replies', `${fmtInt(load.replies.ok)} OK, ${fmtInt(notOk)} other${notOk > 0 ? '  WARNING: expected only OK' : ''}`],
    [
      'network calls (measured)',
      `${netCalls} (TXT ${daemon.network.txtQueries}, fetch ${daemon.network.fetches}, address ${daemon.network.addressLookups})` +
        (netCalls > 0 ? '  WARNING: warm lookups reached the network' : ''),
    ],
    ['daemon CPU / lookup', `${perLookup(daemon.cpuUs).toFixed(1)} µs  (event loop busy ${(daemon.elu * 100).toFixed(0)} %)`],
    ['load CPU / lookup', `${(load.completed > 0 ? loadCpuUs / load.completed : 0).toFixed(1)} µs  (separate process)`],
    [
      'heap allocated / lookup',
      `${fmtBytes(perLookup(daemon.heap.allocatedBytes))}  (${fmtBytes(daemon.heap.allocatedBytes)} over ${fmtInt(daemon.handled)} requests; ` +
        `${daemon.heap.scavenges} scavenges, ${daemon.heap.majorGcs} major GCs, ${daemon.heap.gcPauseMs.toFixed(0)} ms GC)`,
    ],
    [
      'daemon heap used',
      `${fmtBytes(daemon.memBefore.heapUsed)} before (after GC) -> ${fmtBytes(daemon.memAfter.heapUsed)} at end -> ${fmtBytes(daemon.memAfterGc.heapUsed)} after GC`,
    ],
    ['daemon RSS', `${fmtBytes(daemon.memBefore.rss)} before -> ${fmtBytes(daemon.memAfter.rss)} at end`],
    ['log output', `${fmtInt(daemon.logLines)} lines, ${fmtBytes(daemon.logBytes)}`],
  ]);
}

main().catch((err: unknown) => {
  console.error(`benchmark failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
  // The load process or a listener could keep the loop alive after a failure.
  setTimeout(() => process.exit(1), 1000).unref();
});
