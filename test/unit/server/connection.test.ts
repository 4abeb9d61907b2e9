import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { ListenerConfig } from '../../../src/config/types.js';
import type { ConnectionLimits } from '../../../src/server/connection.js';
import { DEFAULT_CONNECTION_LIMITS } from '../../../src/server/connection.js';
import { startServer, type ServerHandle } from '../../../src/server/server.js';
import { memoryLogger } from '../../helpers/fakes.js';
import { fakeAdapter, unusedLookup, type FakeAdapter } from './fake-adapter.js';

const tcpListener: ListenerConfig = {
  protocol: 'socketmap',
  address: { kind: 'tcp', host: '127.0.0.1', port: 0 },
  reusePort: false,
  origin: 'test',
};

interface Harness {
  server: ServerHandle;
  adapter: FakeAdapter;
  lines: Array<Record<string, unknown>>;
  port: number;
}

let current: Harness | undefined;

async function harness(options: { oneShot?: boolean; idleTimeoutSec?: number; limits?: Partial<ConnectionLimits> } = {}): Promise<Harness> {
  const adapter = fakeAdapter(options.oneShot !== undefined ? { oneShot: options.oneShot } : {});
  const { log, lines } = memoryLogger();
  const server = await startServer([tcpListener], {
    lookup: unusedLookup,
    log,
    idleTimeoutSec: options.idleTimeoutSec ?? 0,
    adapterFor: () => adapter,
    limits: { ...DEFAULT_CONNECTION_LIMITS, ...options.limits },
  });
  const port = server.listeners[0]?.port;
  assert.ok(port !== undefined && port > 0);
  current = { server, adapter, lines, port };
  return current;
}

afterEach(async () => {
  current?.adapter.release();
  await current?.server.close(false);
  current = undefined;
});

/** A client that records everything it receives and when the server closed. */
class Client {
  readonly socket: net.Socket;
  data = '';
  closed = false;
  private readonly closedPromise: Promise<void>;
  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.setEncoding('latin1');
    this.socket.on('data', (d: string) => (this.data += d));
    this.socket.on('error', () => undefined);
    this.closedPromise = new Promise((resolve) =>
      this.socket.on('close', () => {
        this.closed = true;
        resolve();
      }),
    );
  }
  connected(): Promise<void> {
    return new Promise((resolve) => this.socket.once('connect', () => resolve()));
  }
  send(text: string): void {
    this.socket.write(text);
  }
  untilClosed(timeoutMs = 3000): Promise<void> {
    return withTimeout(this.closedPromise, timeoutMs, 'server did not close the connection');
  }
  async untilData(predicate: (data: string) => boolean, timeoutMs = 3000): Promise<void> {
    const start = Date.now();
    while (!predicate(this.data)) {
      if (Date.now() - start > timeoutMs) assert.fail(`timed out waiting for data; got ${JSON.stringify(this.data)}`);
      await sleep(5);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(what)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

describe('Connection', () => {
  it('starts pipelined requests at once but replies in request order', async () => {
    const h = await harness();
    const c = new Client(h.port);
    c.send('a 120\nb 80\nc 40\nd 0\n');
    await c.untilData((d) => d.split('\n').length > 4);
    assert.equal(c.data, 'a\nb\nc\nd\n');
    // Every lookup ran concurrently: the shortest finished first.
    assert.deepEqual(h.adapter.started, ['a', 'b', 'c', 'd']);
    assert.deepEqual(h.adapter.finished, ['d', 'c', 'b', 'a']);
    c.socket.end();
    await c.untilClosed();
  });

  it('keeps order across requests split over several writes and byte by byte', async () => {
    const h = await harness();
    const c = new Client(h.port);
    await c.connected();
    const text = 'x 30\ny 0\nz 10\n';
    for (const ch of text) {
      c.send(ch);
      await sleep(1);
    }
    await c.untilData((d) => d === 'x\ny\nz\n');
    c.socket.end();
    await c.untilClosed();
    assert.equal(h.server.connectionCount(), 0);
  });

  it('on a decode error flushes earlier replies, writes the error reply, then closes', async () => {
    const h = await harness();
    const c = new Client(h.port);
    c.send('a 80\nb 10\nBAD\nc 0\n');
    await c.untilClosed();
    assert.equal(c.data, 'a\nb\nERR\n');
    assert.ok(!h.adapter.started.includes('c'), 'nothing after the error is handled');
    const warn = h.lines.find((l) => l['level'] === 'warn' && l['code'] === 'EFAKE_BAD');
    assert.ok(warn !== undefined, 'the decode error is logged as a warning');
    assert.match(String(warn['peer']), /^127\.0\.0\.1:\d+$/);
    assert.equal(warn['listener'], `127.0.0.1:${h.port}`);
  });

  it('a rejecting handler (a bug) ends the connection after the earlier replies, never out of step', async () => {
    const h = await harness();
    const c = new Client(h.port);
    c.send('a 30\nb reject\nc 0\n');
    await c.untilClosed();
    assert.equal(c.data, 'a\n', 'no reply after the failed one could be matched to its request');
    assert.ok(h.lines.some((l) => l['level'] === 'error' && l['code'] === 'EINTERNAL'));
  });

  it('reports a request truncated by EOF, after answering the complete ones', async () => {
    const h = await harness();
    const c = new Client(h.port);
    c.send('a 30\npartial');
    c.socket.end();
    await c.untilClosed();
    assert.equal(c.data, 'a\n');
    assert.ok(h.lines.some((l) => l['code'] === 'EFAKE_TRUNCATED'));
  });

  it('still answers a client that half-closed after its request (Exim readsocket)', async () => {
    const h = await harness();
    const c = new Client(h.port);
    c.send('a 50\n');
    c.socket.end();
    await c.untilClosed();
    assert.equal(c.data, 'a\n');
    assert.deepEqual(h.adapter.finished, ['a']);
  });

  it('closes a one-shot connection after the first reply and ignores what follows', async () => {
    const h = await harness({ oneShot: true });
    const c = new Client(h.port);
    c.send('a 20\nb 0\n');
    await c.untilClosed();
    assert.equal(c.data, 'a\n');
    assert.deepEqual(h.adapter.started, ['a']);
  });

  it('closes an idle connection after idleTimeoutSec', async () => {
    const h = await harness({ idleTimeoutSec: 0.15 });
    const c = new Client(h.port);
    await c.connected();
    const t0 = Date.now();
    await c.untilClosed();
    const elapsed = Date.now() - t0;
    assert.ok(elapsed >= 100 && elapsed < 2000, `closed after ${elapsed} ms`);
    assert.equal(c.data, '');
  });

  it('does not count time with a request pending as idle', async () => {
    const h = await harness({ idleTimeoutSec: 0.1 });
    const c = new Client(h.port);
    c.send('slow 350\n');
    await c.untilData((d) => d === 'slow\n', 2000);
    assert.equal(c.closed, false, 'still open when the slow reply arrives');
    // And idle again afterwards: the timer restarts.
    await c.untilClosed();
  });

  it('activity resets the idle timer', async () => {
    const h = await harness({ idleTimeoutSec: 0.2 });
    const c = new Client(h.port);
    for (let i = 0; i < 5; i++) {
      c.send(`r${i} 0\n`);
      await sleep(80);
    }
    assert.equal(c.closed, false, 'requests every 80 ms keep a 200 ms idle timer from firing');
    assert.equal(c.data, 'r0\nr1\nr2\nr3\nr4\n');
    await c.untilClosed();
  });

  it('a client that disconnects mid-lookup harms nothing', async () => {
    const h = await harness();
    const errors: unknown[] = [];
    const onError = (e: unknown): void => void errors.push(e);
    process.on('uncaughtException', onError);
    try {
      const c = new Client(h.port);
      c.send('a 80\nb 40\n');
      await sleep(20);
      c.socket.destroy();
      await sleep(150);
      assert.deepEqual(h.adapter.finished.sort(), ['a', 'b'], 'the lookups ran to completion');
      assert.equal(h.server.connectionCount(), 0);
      assert.deepEqual(errors, []);
      assert.ok(!h.lines.some((l) => l['level'] === 'error'), 'nothing logged as an error');
      // The server still serves others.
      const d = new Client(h.port);
      d.send('z 0\n');
      await d.untilData((x) => x === 'z\n');
      d.socket.end();
      await d.untilClosed();
    } finally {
      process.off('uncaughtException', onError);
    }
  });

  it('bounds the work done for a client that never reads', async () => {
    const maxPendingRequests = 4;
    const h = await harness({ limits: { maxPendingRequests, maxUnflushedBytes: 64 * 1024 } });
    const c = new Client(h.port);
    await c.connected();
    c.socket.pause(); // never read
    const total = 300;
    const replyBytes = 100_000;
    for (let i = 0; i < total; i++) c.send(`BIG ${replyBytes}\n`);
    // Let the server run until it is blocked by the full socket buffers.
    let before = -1;
    for (let i = 0; i < 100 && h.adapter.started.length !== before; i++) {
      before = h.adapter.started.length;
      await sleep(50);
    }
    const stalled = h.adapter.started.length;
    await sleep(200);
    assert.equal(h.adapter.started.length, stalled, 'no new work while the client does not read');
    assert.ok(stalled < total, `only ${stalled} of ${total} requests were started`);
    // Once the client reads, every reply arrives, in full.
    c.socket.resume();
    await c.untilData((d) => d.length === total * replyBytes, 20_000);
    assert.equal(h.adapter.started.length, total);
    c.socket.end();
    await c.untilClosed();
  });
});
