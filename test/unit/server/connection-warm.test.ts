/**
 * Connections with an adapter that answers some requests at once (answerNow) and others later
 * (handle): replies stay in request order whichever path answered; a client that sends one
 * request at a time is served without waiting for a scheduler turn, a pipeliner is not; a
 * throwing answerNow falls back to handle; and the self-re-arming idle timer closes a
 * connection exactly idle_timeout after its last activity (fake socket and mocked clock, so
 * the test does not depend on the machine's speed).
 */
import { describe, it, afterEach, mock } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import { Connection } from '../../../src/server/connection.js';
import { TurnScheduler, type TurnTaker } from '../../../src/server/turn-scheduler.js';
import { memoryLogger } from '../../helpers/fakes.js';
import { unusedLookup } from './fake-adapter.js';
import { Client, serve as startServing, WarmAdapter, type Harness, type ServeOptions } from './warm-harness.js';

/** A TurnScheduler that records who asked to be woken. */
class RecordingScheduler extends TurnScheduler {
  readonly wakes: TurnTaker[] = [];
  override wake(taker: TurnTaker): void {
    this.wakes.push(taker);
    super.wake(taker);
  }
}

let current: Harness | undefined;

afterEach(async () => {
  await current?.close();
  current = undefined;
});

/** A WarmAdapter listener (warm-harness.ts), closed after the test. */
async function serve(options: ServeOptions = {}): Promise<Harness> {
  current = await startServing(options);
  return current;
}

const settle = (ms = 30): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('Connection with answerNow', () => {
  it('a request answered at once is written without calling handle', async () => {
    const h = await serve();
    const c = new Client(h.port);
    c.socket.write('x now\ny bytes\n');
    await c.until((d) => d === 'x\ny\n');
    assert.deepEqual(h.adapter.handled, []);
    assert.deepEqual(h.adapter.answeredNow, ['x', 'y']);
  });

  it('pipelined requests get their replies strictly in request order, whichever path answers them', async () => {
    const h = await serve();
    const c = new Client(h.port);
    c.socket.write('a hold\nb now\nc hold\nd now\ne bytes\n');
    // Wait until every request was started (a and c in handle, the rest answered at once).
    while (h.adapter.handled.length < 2 || h.adapter.answeredNow.length < 3) await settle(5);
    assert.deepEqual(h.adapter.handled, ['a', 'c']);
    await settle();
    assert.equal(c.data, '', 'b, d and e are known but must wait for a');
    h.adapter.release('c');
    await settle();
    assert.equal(c.data, '', 'c is done but a is not');
    h.adapter.release('a');
    await c.until((d) => d.length >= 10);
    assert.equal(c.data, 'a\nb\nc\nd\ne\n');
  });

  it('keeps order over many rounds of mixed requests', async () => {
    const h = await serve();
    const c = new Client(h.port);
    const ids: string[] = [];
    let text = '';
    for (let i = 0; i < 200; i++) {
      const how = i % 7 === 3 ? 'hold' : i % 2 === 0 ? 'now' : 'bytes';
      ids.push(`r${i}`);
      text += `r${i} ${how}\n`;
    }
    c.socket.write(text);
    const expected = ids.map((id) => `${id}\n`).join('');
    // The server starts at most 64 requests ahead of the oldest unanswered one: release the held
    // ones as they start, newest first, until every reply arrived.
    const deadline = Date.now() + 10_000;
    while (c.data.length < expected.length) {
      assert.ok(Date.now() < deadline, `stuck; received ${c.data.length} of ${expected.length} bytes`);
      h.adapter.releaseAll();
      await settle(5);
    }
    assert.equal(c.data, expected);
    assert.equal(h.adapter.handled.length, ids.filter((_, i) => i % 7 === 3).length);
  });

  it('an answerNow that throws falls back to handle() and logs EINTERNAL', async () => {
    const h = await serve();
    const c = new Client(h.port);
    c.socket.write('a now\nb throw\nc now\n');
    await c.until((d) => d === 'a\nb\nc\n');
    assert.deepEqual(h.adapter.handled, ['b']);
    const line = h.lines.find((l) => l['code'] === 'EINTERNAL');
    assert.ok(line !== undefined);
    assert.equal(line['level'], 'error');
    assert.match(String(line['reason']), /warm path bug/);
    // The connection goes on.
    c.socket.write('d now\n');
    await c.until((d) => d.endsWith('d\n'));
  });
});

describe('Connection with answerNow and a TurnScheduler', () => {
  it('a client sending one request at a time is served without a scheduler turn', async () => {
    const scheduler = new RecordingScheduler(8);
    const h = await serve({ scheduler });
    const c = new Client(h.port);
    for (let i = 0; i < 50; i++) {
      const how = i % 5 === 0 ? 'slow' : 'now';
      c.socket.write(`q${i} ${how}\n`);
      await c.until((d) => d.endsWith(`q${i}\n`));
    }
    assert.equal(h.adapter.handled.length, 10, 'the slow ones went through handle');
    assert.equal(scheduler.wakes.length, 0, 'never woken');
  });

  it("a client that sends at most a turn's worth at once is served without a turn too", async () => {
    const scheduler = new RecordingScheduler(8);
    const h = await serve({ scheduler });
    const c = new Client(h.port);
    c.socket.write(Array.from({ length: 8 }, (_, i) => `p${i} now\n`).join(''));
    await c.until((d) => d.split('\n').length > 8);
    assert.equal(scheduler.wakes.length, 0);
  });

  it('a pipeliner of more than the budget waits for turns, and still gets every reply in order', async () => {
    const scheduler = new RecordingScheduler(8);
    const h = await serve({ scheduler });
    const c = new Client(h.port);
    const n = 100;
    c.socket.write(Array.from({ length: n }, (_, i) => `p${i} now\n`).join(''));
    const expected = Array.from({ length: n }, (_, i) => `p${i}\n`).join('');
    await c.until((d) => d.length >= expected.length);
    assert.equal(c.data, expected);
    assert.ok(scheduler.wakes.length >= 1, 'woken');
    assert.ok(scheduler.wakes.every((t) => t === h.connections[0]));
  });

  it('a slow request followed by more than a pending window of quick ones: every reply arrives, in order', async () => {
    const scheduler = new RecordingScheduler(8);
    const h = await serve({ scheduler });
    const c = new Client(h.port);
    const n = 300;
    c.socket.write(`head hold\n${Array.from({ length: n }, (_, i) => `p${i} now\n`).join('')}`);
    while (h.adapter.handled.length < 1) await settle(5);
    // The pending window (64) fills with answers waiting behind the slow head.
    while (h.adapter.answeredNow.length < 63) await settle(5);
    assert.equal(c.data, '');
    h.adapter.release('head');
    const expected = `head\n${Array.from({ length: n }, (_, i) => `p${i}\n`).join('')}`;
    await c.until((d) => d.length >= expected.length, 10_000);
    assert.equal(c.data, expected);
  });

  it('a request sent while another is outstanding waits for a turn', async () => {
    const scheduler = new RecordingScheduler(8);
    const h = await serve({ scheduler });
    const c = new Client(h.port);
    c.socket.write('a hold\n');
    while (h.adapter.handled.length < 1) await settle(5);
    assert.equal(scheduler.wakes.length, 0);
    c.socket.write('b now\n');
    while (scheduler.wakes.length < 1) await settle(5);
    h.adapter.release('a');
    await c.until((d) => d === 'a\nb\n');
  });
});

/** Just enough of a net.Socket for Connection, driven by the test. */
class FakeSocket extends EventEmitter {
  writable = true;
  writableLength = 0;
  readonly written: string[] = [];
  ended = false;
  destroyed = false;
  private paused = false;
  setNoDelay(): void {}
  cork(): void {}
  uncork(): void {}
  write(data: Uint8Array | string): boolean {
    this.written.push(typeof data === 'string' ? data : Buffer.from(data).toString('latin1'));
    return true;
  }
  end(callback?: () => void): void {
    this.ended = true;
    this.writable = false;
    callback?.();
  }
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.writable = false;
    this.emit('close');
  }
  isPaused(): boolean {
    return this.paused;
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
}

describe('Connection idle timeout with quick warm rounds', () => {
  it('many request/answer rounds, then idle: closed exactly idle_timeout after the last reply, not before', () => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
    try {
      const { log } = memoryLogger();
      const adapter = new WarmAdapter();
      const socket = new FakeSocket();
      const idleTimeoutMs = 1000;
      const conn = new Connection(socket as unknown as net.Socket, { adapter, context: { lookup: unusedLookup, log }, log, idleTimeoutMs });
      let closed = false;
      void conn.closed.then(() => (closed = true));
      // 600 rounds, one every 150 ms (90 s in all): far longer than idle_timeout, never idle that long.
      for (let i = 0; i < 600; i++) {
        mock.timers.tick(150);
        assert.equal(socket.ended, false, `open at round ${i}`);
        socket.emit('data', Buffer.from(`r${i} now\n`));
        assert.equal(socket.written.length, i + 1, 'answered at once');
      }
      assert.equal(socket.written.join(''), Array.from({ length: 600 }, (_, i) => `r${i}\n`).join(''));
      mock.timers.tick(idleTimeoutMs - 1);
      assert.equal(socket.ended, false, 'not before idle_timeout');
      mock.timers.tick(1);
      assert.equal(socket.ended, true, 'closed at idle_timeout');
      assert.equal(socket.destroyed, true);
      assert.equal(closed || socket.destroyed, true);
    } finally {
      mock.timers.reset();
    }
  });

  it('a slow request keeps the connection open however long it takes; idle counts from its reply', async () => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
    try {
      const { log } = memoryLogger();
      const adapter = new WarmAdapter();
      const socket = new FakeSocket();
      const idleTimeoutMs = 1000;
      new Connection(socket as unknown as net.Socket, { adapter, context: { lookup: unusedLookup, log }, log, idleTimeoutMs });
      mock.timers.tick(500);
      socket.emit('data', Buffer.from('s hold\n'));
      mock.timers.tick(5000);
      assert.equal(socket.ended, false, 'a pending request is not idleness');
      adapter.release('s');
      // Let the handler's promise settle (microtasks only; no timer runs).
      for (let i = 0; i < 5; i++) await Promise.resolve();
      assert.deepEqual(socket.written, ['s\n']);
      mock.timers.tick(idleTimeoutMs - 1);
      assert.equal(socket.ended, false, 'idle counts from the reply');
      mock.timers.tick(1);
      assert.equal(socket.ended, true);
    } finally {
      mock.timers.reset();
    }
  });
});
