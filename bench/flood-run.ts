/**
 * One flood scenario, shared by the benchmark (bench/fairness.ts) and its test
 * (test/unit/server/fairness.test.ts): a daemon process (flood-daemon.ts), a process of
 * `flooders` connections that pipeline without reading (flooder.ts), and here, in the caller's
 * process, one well-behaved client that sends one socketmap lookup at a time, as Postfix does,
 * and times each from write to reply.
 */
import { fork, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { Buffer } from 'node:buffer';
import { fileURLToPath } from 'node:url';
import { encodeNetstring } from '../adapters/protocol/netstring.js';
import { benchDomain } from './fake-network.js';
import type { FromFloodDaemon } from './flood-daemon.js';

export interface FloodOptions {
  /** Requests per connection and event-loop turn; Infinity = fairness off. */
  readonly requestsPerTurn: number;
  readonly flooders: number;
  /** How long the well-behaved client keeps looking up while the flood runs. */
  readonly seconds: number;
  readonly logLevel: 'error' | 'warn' | 'info' | 'debug';
  readonly domains?: number;
  /** A lookup not answered within this is counted as timed out (and ends the probing). */
  readonly lookupTimeoutMs?: number;
}

export interface FloodResult {
  /** Well-behaved lookups answered during the flood, latency in milliseconds, in order. */
  readonly latenciesMs: readonly number[];
  readonly timedOut: number;
  readonly rssBefore: number;
  readonly peakRss: number;
  readonly logBytes: number;
}

type Stats = Extract<FromFloodDaemon, { type: 'stats' }>;

const here = (name: string): string => fileURLToPath(new URL(name, import.meta.url));

function waitMessage<T>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { type?: string }): void => {
      if (m.type === type) {
        child.off('message', onMessage);
        resolve(m as T);
      }
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`child exited (${code}) before "${type}"`)));
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.send({ type: 'stop' });
  });
}

/** One socketmap client with one request outstanding at a time. */
class Probe {
  private readonly socket: net.Socket;
  private buffered = Buffer.alloc(0);
  private waiting: ((ok: boolean) => void) | undefined;
  readonly ready: Promise<void>;

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.setNoDelay(true);
    this.socket.on('error', () => this.waiting?.(false));
    this.socket.on('close', () => this.waiting?.(false));
    this.ready = new Promise((resolve) => this.socket.once('connect', () => resolve()));
    this.socket.on('data', (d: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, d]);
      const colon = this.buffered.indexOf(0x3a);
      if (colon < 0) return;
      const end = colon + 1 + Number(this.buffered.toString('latin1', 0, colon)) + 1;
      if (this.buffered.length < end) return;
      this.buffered = this.buffered.subarray(end);
      const w = this.waiting;
      this.waiting = undefined;
      w?.(true);
    });
  }

  /** Milliseconds to the reply, or undefined when none came within `timeoutMs`. */
  async lookup(domain: string, timeoutMs: number): Promise<number | undefined> {
    const t0 = performance.now();
    const answered = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.waiting = (ok) => {
        clearTimeout(timer);
        resolve(ok);
      };
      this.socket.write(encodeNetstring(`postfix ${domain}`));
    });
    return answered ? performance.now() - t0 : undefined;
  }

  close(): void {
    this.socket.destroy();
  }
}

export async function runFlood(options: FloodOptions): Promise<FloodResult> {
  const domains = options.domains ?? 200;
  const timeoutMs = options.lookupTimeoutMs ?? 30_000;
  const daemon = fork(here('flood-daemon.js'), [String(options.requestsPerTurn), options.logLevel, String(domains)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let flooder: ChildProcess | undefined;
  let probe: Probe | undefined;
  try {
    const { port } = await waitMessage<{ port: number }>(daemon, 'ready');
    probe = new Probe(port);
    await probe.ready;
    // Every domain resolved once (from the in-memory internet), so the flood hits the cache.
    for (let i = 0; i < domains; i += 1) await probe.lookup(benchDomain(i), timeoutMs);
    daemon.send({ type: 'stats' });
    const before = await waitMessage<Stats>(daemon, 'stats');

    flooder = fork(here('flooder.js'), [String(port), String(options.flooders), String(domains)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    await waitMessage(flooder, 'connected');
    const latenciesMs: number[] = [];
    let timedOut = 0;
    const end = performance.now() + options.seconds * 1000;
    for (let i = 0; performance.now() < end; i += 1) {
      const ms = await probe.lookup(benchDomain(i % domains), timeoutMs);
      if (ms === undefined) {
        timedOut += 1;
        break;
      }
      latenciesMs.push(ms);
      await new Promise((r) => setTimeout(r, 20));
    }
    daemon.send({ type: 'stats' });
    const after = await waitMessage<Stats>(daemon, 'stats');
    return { latenciesMs, timedOut, rssBefore: before.rss, peakRss: after.peakRss, logBytes: after.logBytes - before.logBytes };
  } finally {
    probe?.close();
    if (flooder !== undefined) await stop(flooder);
    await stop(daemon);
  }
}

/** The p-th percentile (0..100) of `values`. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}
