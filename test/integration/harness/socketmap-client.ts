/**
 * A raw socketmap client (Postfix's protocol: netstring `name key` out, netstring `OK data`,
 * `NOTFOUND `, `TEMP ...` back) for tests that need many lookups over one connection.
 */
import net from 'node:net';

export class SocketmapClient {
  private buffer = Buffer.alloc(0);
  private waiting: Array<{ resolve: (reply: string) => void; reject: (err: Error) => void }> = [];
  private failure: Error | undefined;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, d]);
      for (;;) {
        const colon = this.buffer.indexOf(0x3a);
        if (colon < 0) return;
        const len = Number(this.buffer.subarray(0, colon).toString('ascii'));
        if (this.buffer.length < colon + 1 + len + 1) return;
        const reply = this.buffer.subarray(colon + 1, colon + 1 + len).toString('utf8');
        this.buffer = this.buffer.subarray(colon + 1 + len + 1);
        this.waiting.shift()?.resolve(reply);
      }
    });
    const fail = (err: Error): void => {
      this.failure ??= err;
      for (const w of this.waiting.splice(0)) w.reject(err);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed by the server')));
  }

  static connect(options: net.NetConnectOpts): Promise<SocketmapClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(options);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new SocketmapClient(socket));
      });
      socket.once('error', reject);
    });
  }

  /** One request, its reply (`OK ...`, `NOTFOUND `, `TEMP ...`). */
  query(map: string, key: string): Promise<string> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const body = Buffer.from(`${map} ${key}`, 'utf8');
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.socket.write(Buffer.concat([Buffer.from(`${body.length}:`), body, Buffer.from(',')]));
    });
  }

  close(): void {
    this.socket.end();
  }
}

/** One lookup on a fresh connection. */
export async function queryOnce(options: net.NetConnectOpts, map: string, key: string): Promise<string> {
  const c = await SocketmapClient.connect(options);
  try {
    return await c.query(map, key);
  } finally {
    c.close();
  }
}
