/**
 * The load process of the warm-cache benchmark (started by socketmap-warm.ts with
 * `child_process.fork`, never run by hand). It keeps persistent TCP connections to the
 * daemon, each with a fixed number of socketmap requests outstanding, and times every request
 * from write to reply with `process.hrtime.bigint()`.
 *
 * It runs in its own process so that the daemon's event loop serves only the daemon; on a
 * machine with few cores the two still compete for CPU, which the parent reports.
 */
import net from 'node:net';
import { Buffer } from 'node:buffer';
import { Histogram } from './histogram.js';
import { emptyReplyKinds, type FromLoad, type PhaseResult, type ReplyKinds, type ToLoad } from './load-messages.js';

const COLON = 0x3a;
const COMMA = 0x2c;

type StartMessage = Extract<ToLoad, { type: 'start' }>;

/** A phase as the connections see it: where requests come from and where replies are counted. */
interface Sink {
  /** The next request to write, or undefined when this phase sends no more. */
  next(): Buffer | undefined;
  /** False once the measured window has ended: late replies are drained, not recorded. */
  recording: boolean;
  readonly latency: Histogram;
  readonly replies: ReplyKinds;
  completed: number;
  /** A connection has nothing outstanding and will send no more in this phase. */
  onIdle(): void;
}

function send(message: FromLoad): void {
  process.send?.(message);
}

/** Abort the benchmark: stderr (synchronous for pipes on Linux) and a non-zero exit the parent reports. */
function fail(message: string): never {
  process.stderr.write(`socketmap-load: ${message}\n`);
  process.exit(1);
}

function classify(payload: Buffer, kinds: ReplyKinds): void {
  // The first byte tells the four socketmap_table(5) reply words apart.
  switch (payload[0]) {
    case 0x4f: // OK
      kinds.ok += 1;
      break;
    case 0x4e: // NOTFOUND
      kinds.notfound += 1;
      break;
    case 0x54: // TEMP
      kinds.temp += 1;
      break;
    case 0x50: // PERM
      kinds.perm += 1;
      break;
    default:
      kinds.other += 1;
  }
}

/** One persistent client connection, like one Postfix smtp(8) process keeping its socketmap open. */
class Client {
  private pending: Buffer | undefined;
  /** Write times of the outstanding requests, oldest first (replies come back in request order). */
  private readonly sentAt: bigint[] = [];
  private sink: Sink | undefined;

  constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => fail(`connection to the daemon failed: ${err.message}`));
  }

  /** Keep up to `depth` requests outstanding for as long as `sink` hands out requests. */
  begin(sink: Sink, depth: number): void {
    this.sink = sink;
    for (let i = 0; i < depth; i += 1) {
      const request = sink.next();
      if (request === undefined) break;
      this.write(request);
    }
    if (this.sentAt.length === 0) sink.onIdle();
  }

  close(): void {
    this.socket.destroy();
  }

  private write(request: Buffer): void {
    this.sentAt.push(process.hrtime.bigint());
    this.socket.write(request);
  }

  private onData(chunk: Buffer): void {
    const buf = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = undefined;
    let at = 0;
    for (;;) {
      const colon = buf.indexOf(COLON, at);
      if (colon < 0) break;
      const length = Number(buf.toString('latin1', at, colon));
      if (!Number.isSafeInteger(length)) fail(`malformed netstring length from the daemon near byte ${at}`);
      const end = colon + 1 + length;
      if (end >= buf.length) break; // the payload or its comma is still on its way
      if (buf[end] !== COMMA) fail(`netstring from the daemon lacks its comma near byte ${end}`);
      this.onReply(buf.subarray(colon + 1, end));
      at = end + 1;
    }
    if (at < buf.length) this.pending = Buffer.from(buf.subarray(at));
  }

  private onReply(payload: Buffer): void {
    const now = process.hrtime.bigint();
    const sent = this.sentAt.shift();
    const sink = this.sink;
    if (sent === undefined || sink === undefined) fail('reply without an outstanding request');
    if (sink.recording) {
      sink.latency.record(Number(now - sent));
      classify(payload, sink.replies);
      sink.completed += 1;
    }
    const request = sink.next();
    if (request !== undefined) this.write(request);
    else if (this.sentAt.length === 0) sink.onIdle();
  }
}

function connect(host: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/**
 * Run one phase on every client: requests from `source` until it returns undefined or the
 * window of `seconds` ends; outstanding replies are then drained (not recorded when late).
 */
function runPhase(
  clients: readonly Client[],
  depth: number,
  label: string,
  source: () => Buffer | undefined,
  seconds: number | undefined,
): Promise<PhaseResult> {
  return new Promise((resolve) => {
    let idle = 0;
    let open = true;
    const cpuStart = process.cpuUsage();
    const start = process.hrtime.bigint();
    let windowNs: number | undefined;
    let cpu: NodeJS.CpuUsage | undefined;
    const closeWindow = (): void => {
      if (!open) return;
      open = false;
      windowNs = Number(process.hrtime.bigint() - start);
      cpu = process.cpuUsage(cpuStart);
      sink.recording = false;
    };
    const timer = seconds !== undefined ? setTimeout(closeWindow, seconds * 1000) : undefined;
    const sink: Sink = {
      next: () => (open ? source() : undefined),
      recording: true,
      latency: new Histogram(),
      replies: emptyReplyKinds(),
      completed: 0,
      onIdle() {
        idle += 1;
        if (idle < clients.length) return;
        if (timer !== undefined) clearTimeout(timer);
        closeWindow();
        const used = cpu ?? process.cpuUsage(cpuStart);
        resolve({
          label,
          completed: sink.completed,
          windowNs: windowNs ?? 0,
          latency: sink.latency.toData(),
          replies: sink.replies,
          loadCpuUserUs: used.user,
          loadCpuSystemUs: used.system,
        });
      },
    };
    for (const c of clients) c.begin(sink, depth);
  });
}

async function main(start: StartMessage): Promise<void> {
  // Requests are encoded once: the load process should spend its CPU on sockets, not on strings.
  const requests = start.domains.map((d) => {
    const payload = Buffer.from(`${start.mapName} ${d}`, 'utf8');
    return Buffer.concat([Buffer.from(`${payload.length}:`, 'latin1'), payload, Buffer.from(',', 'latin1')]);
  });
  if (requests.length === 0) fail('no domains to ask for');
  const sockets = await Promise.all(Array.from({ length: start.connections }, () => connect(start.host, start.port)));
  const clients = sockets.map((s) => new Client(s));

  let cursor = 0;
  const cycling = (): Buffer => {
    const r = requests[cursor] as Buffer;
    cursor = cursor + 1 === requests.length ? 0 : cursor + 1;
    return r;
  };

  // Pre-warm: every domain exactly once (the cache is cold, so these reach the fake network).
  let prewarmIndex = 0;
  const once = (): Buffer | undefined => requests[prewarmIndex++];
  const prewarm = await runPhase(clients, start.depth, 'prewarm', once, undefined);
  send({ type: 'prewarmed', replies: prewarm.replies });

  if (start.warmupSeconds > 0) await runPhase(clients, start.depth, 'warmup', cycling, start.warmupSeconds);
  send({ type: 'ready' });

  process.on('message', (raw: ToLoad) => {
    switch (raw.type) {
      case 'run':
        void runPhase(clients, start.depth, raw.label, cycling, raw.seconds).then((result) => send({ type: 'result', result }));
        break;
      case 'exit':
        for (const c of clients) c.close();
        process.disconnect();
        break;
      case 'start':
        break;
      default: {
        const _never: never = raw;
        return _never;
      }
    }
  });
}

process.once('message', (raw: ToLoad) => {
  if (raw.type !== 'start') fail(`expected a start message, got ${raw.type}`);
  main(raw).catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)));
});
