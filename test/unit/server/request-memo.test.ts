/**
 * The request memo (src/server/request-memo.ts): a chunk that is exactly one whole request,
 * arriving between requests, is started from the remembered request instead of being decoded
 * again; the answer still comes from answerNow. What must never happen: a remembered request
 * taken for bytes that mean something else on this connection (the decoder holding part of a
 * request, several requests in one chunk), a reply out of order, a decoder that keeps state
 * between requests skipped, or a memo that grows without bound.
 */
import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { RequestMemo, REQUEST_MEMO_ENTRIES, REQUEST_MEMO_MAX_BYTES } from '../../../src/server/request-memo.js';
import type { DecodeStep } from '../../../src/protocol/types.js';
import { Client, serve as startServing, type Harness, type Req } from './warm-harness.js';

let current: Harness | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

/** A WarmAdapter listener (warm-harness.ts) whose connections share `memo`; closed after the test. */
async function serve(
  statelessDecoder: boolean,
  memo = new RequestMemo<Req>(),
  zones: ReadonlyArray<string | undefined> = [undefined],
): Promise<Harness & { readonly memo: RequestMemo<Req> }> {
  current = await startServing({ statelessDecoder, memo, zones });
  return { ...current, memo };
}

/** A client whose every write is its own chunk on the wire. */
const client = (port: number): Client => new Client(port, { noDelay: true });

describe('RequestMemo', () => {
  it('keys a chunk by its bytes, one character per byte, and refuses chunks over its byte bound', () => {
    const memo = new RequestMemo<Req>(4, 8);
    assert.equal(memo.keyOf(Buffer.from([0x61, 0xff, 0x00, 0x0a])), 'a\u00ff\u0000\n');
    assert.equal(memo.keyOf(Buffer.alloc(8, 0x61)), 'aaaaaaaa');
    assert.equal(memo.keyOf(Buffer.alloc(9, 0x61)), undefined);
    assert.ok(
      REQUEST_MEMO_MAX_BYTES >= 10 + 1 + 'postfix '.length + 253 + 1,
      'a Postfix socketmap request for the longest domain name fits',
    );
  });
  it('holds at most maxEntries, dropping the oldest; setting a known key again drops nothing', () => {
    const memo = new RequestMemo<Req>(2, 100);
    const step = (id: string): DecodeStep<Req> & { kind: 'request' } => ({ kind: 'request', request: { id, how: 'now' } });
    memo.set('a', step('a'));
    memo.set('b', step('b'));
    memo.set('b', step('b2'));
    assert.equal(memo.size, 2);
    assert.equal(memo.get('a')?.request.id, 'a');
    memo.set('c', step('c'));
    assert.equal(memo.size, 2);
    assert.equal(memo.get('a'), undefined);
    assert.deepEqual([memo.get('b')?.request.id, memo.get('c')?.request.id], ['b2', 'c']);
    for (let i = 0; i < 10_000; i += 1) memo.set(`k${i}`, step(String(i)));
    assert.equal(memo.size, 2, 'endless distinct keys cost a fixed amount');
    assert.ok(REQUEST_MEMO_ENTRIES > 0 && REQUEST_MEMO_ENTRIES <= 4096);
  });
});

describe('Connection with a request memo', () => {
  it('a repeated request, on this or another connection, is answered without decoding it again', async () => {
    const h = await serve(true);
    const a = client(h.port);
    await a.ask('x\n', 'x\n');
    await a.ask('x\n', 'x\nx\n');
    const b = client(h.port);
    await b.ask('x\n', 'x\n');
    await b.ask('y\n', 'x\ny\n');
    a.close();
    b.close();
    assert.deepEqual(h.adapter.decoded, ['x', 'y'], 'x decoded once, for three requests');
    assert.deepEqual(h.adapter.answered, ['x', 'x', 'x', 'y'], 'every request answered by the adapter');
    assert.equal(h.memo.size, 2);
  });
  it('bytes that finish a request the decoder holds part of are decoded, never taken for a remembered request', async () => {
    const h = await serve(true);
    const c = client(h.port);
    await c.ask('x\n', 'x\n');
    await c.ask('\n', 'x\n\n'); // the empty request, remembered as "\n"
    c.socket.write('zz');
    await new Promise((r) => setTimeout(r, 30)); // "zz" arrives alone: the decoder holds it
    await c.ask('x\n', 'x\n\nzzx\n');
    await c.ask('y', 'x\n\nzzx\n');
    await new Promise((r) => setTimeout(r, 30));
    await c.ask('\n', 'x\n\nzzx\ny\n');
    c.close();
    assert.deepEqual(h.adapter.decoded, ['x', '', 'zzx', 'y']);
  });
  it('a request followed by the start of the next in one chunk is not remembered: the held bytes are never lost', async () => {
    const h = await serve(true);
    const a = client(h.port);
    await a.ask('x\nzz', 'x\n');
    await a.ask('\n', 'x\nzz\n');
    a.close();
    assert.equal(h.memo.size, 0, 'the chunk ended inside a request');
    const b = client(h.port);
    await b.ask('x\nzz', 'x\n');
    await b.ask('\n', 'x\nzz\n');
    b.close();
    assert.deepEqual(h.adapter.decoded, ['x', 'zz', 'x', 'zz']);
  });
  it('listeners with different zones share the memo and still answer for their own zone', async () => {
    const h = await serve(true, new RequestMemo<Req>(), ['blue', 'green']);
    const blue = client(h.port);
    await blue.ask('x\n', 'x@blue\n');
    const green = client(h.port);
    await green.ask('x\n', 'x@green\n');
    await blue.ask('x\n', 'x@blue\nx@blue\n');
    blue.close();
    green.close();
    assert.deepEqual(h.adapter.decoded, ['x'], 'one decoded request served both listeners');
  });
  it('a remembered request is frozen: a handler cannot change it for the next client', async () => {
    const h = await serve(true);
    const c = client(h.port);
    await c.ask('x\n', 'x\n');
    c.close();
    const step = h.memo.get('x\n');
    assert.ok(step !== undefined && Object.isFrozen(step) && Object.isFrozen(step.request));
    assert.throws(() => {
      (step.request as { id: string }).id = 'y';
    }, TypeError);
  });
  it('a chunk of several requests is decoded and not remembered; its requests are answered in order', async () => {
    const h = await serve(true);
    const c = client(h.port);
    await c.ask('x\ny\n', 'x\ny\n');
    assert.equal(h.memo.size, 0);
    await c.ask('x\ny\n', 'x\ny\nx\ny\n');
    c.close();
    assert.deepEqual(h.adapter.decoded, ['x', 'y', 'x', 'y']);
  });
  it('while a request is outstanding, a repeat waits its turn: replies stay in request order', async () => {
    const h = await serve(true);
    const c = client(h.port);
    await c.ask('x\n', 'x\n');
    c.socket.write('h hold\n');
    await new Promise((r) => setTimeout(r, 30));
    c.socket.write('x\n');
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(c.data, 'x\n', 'nothing overtakes the held request');
    h.adapter.releaseAll();
    await c.until('x\nh\nx\n');
    c.close();
    // Started at once (pipelining), written in order: the repeat was answered before h's reply.
    assert.deepEqual(h.adapter.answered, ['x', 'x', 'h']);
  });
  it('an adapter whose decoder is not declared stateless is never given a remembered request', async () => {
    const h = await serve(false);
    const c = client(h.port);
    await c.ask('x\n', 'x\n');
    await c.ask('x\n', 'x\nx\n');
    c.close();
    assert.deepEqual(h.adapter.decoded, ['x', 'x']);
    assert.equal(h.memo.size, 0);
  });
  it('the memo stays within its bound under many distinct requests, and every one is answered', async () => {
    const h = await serve(true, new RequestMemo<Req>(8, 100));
    const c = client(h.port);
    let expected = '';
    for (let i = 0; i < 50; i += 1) {
      expected += `r${i % 20}\n`;
      await c.ask(`r${i % 20}\n`, expected);
    }
    c.close();
    assert.equal(h.memo.size, 8);
    assert.equal(h.adapter.answered.length, 50);
  });
});
