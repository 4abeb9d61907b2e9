/**
 * The floor the daemon is compared with: a bare netstring server that answers every request
 * with a fixed reply of the daemon's size and does nothing else. Same process, same event loop,
 * same load process: what it cannot exceed is the cost of sockets, syscalls and the scheduler
 * on this machine at this moment, which a shared VM changes from run to run.
 */
import net from 'node:net';
import { Buffer } from 'node:buffer';
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const COLON = 0x3a;
const DIGIT_0 = 0x30;

export interface BaselineServer {
  readonly port: number;
  /** Requests answered so far. */
  readonly requests: number;
  close(): Promise<void>;
}

/** Listen on 127.0.0.1 (free port) and answer each netstring request with `reply` (one netstring). */
export function startBaselineServer(reply: Buffer): Promise<BaselineServer> {
  return startBaselineServerOn(reply, 0);
}

/** As `startBaselineServer`, on a chosen port (0: a free one). */
export function startBaselineServerOn(reply: Buffer, port: number): Promise<BaselineServer> {
  const sockets = new Set<net.Socket>();
  let requests = 0;
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    // Streaming parse: a length, ':', that many bytes, ','. Only counting is needed.
    let length = 0;
    let inLength = true;
    let skip = 0;
    socket.on('data', (chunk: Buffer) => {
      let complete = 0;
      let i = 0;
      while (i < chunk.length) {
        if (inLength) {
          const b = chunk[i] as number;
          i += 1;
          if (b === COLON) {
            inLength = false;
            skip = length + 1; // payload and comma
          } else {
            length = length * 10 + (b - DIGIT_0);
          }
        } else {
          const take = Math.min(skip, chunk.length - i);
          skip -= take;
          i += take;
          if (skip === 0) {
            complete += 1;
            inLength = true;
            length = 0;
          }
        }
      }
      requests += complete;
      if (complete === 1) socket.write(reply);
      else if (complete > 1) socket.write(Buffer.concat(Array.from({ length: complete }, () => reply)));
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        reject(new Error('baseline server has no TCP address'));
        return;
      }
      resolve({
        port: address.port,
        get requests() {
          return requests;
        },
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

/**
 * As its own process (the benchmark's ceiling target):
 *   node dist/bench/baseline-server.js PORT REPLY_PAYLOAD
 * listens on 127.0.0.1:PORT and answers every request with the netstring of REPLY_PAYLOAD;
 * prints `READY <port>` once it listens, exits on SIGTERM.
 */
async function baselineMain(argv: readonly string[]): Promise<void> {
  const port = Number(argv[0] ?? '0');
  const payload = argv[1] ?? 'OK secure match=mx1.d00000.bench.test:.mx.d00000.bench.test';
  const reply = Buffer.from(`${Buffer.byteLength(payload)}:${payload},`);
  const server = await startBaselineServerOn(reply, port);
  process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
  process.stdout.write(`READY ${server.port}\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  baselineMain(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`baseline-server: ${String(err)}\n`);
    process.exit(1);
  });
}
