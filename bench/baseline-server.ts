/**
 * The floor the daemon is compared with: a bare netstring server that answers every request
 * with a fixed reply of the daemon's size and does nothing else. Same process, same event loop,
 * same load process: what it cannot exceed is the cost of sockets, syscalls and the scheduler
 * on this machine at this moment, which a shared VM changes from run to run.
 */
import net from 'node:net';
import { Buffer } from 'node:buffer';

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
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
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
