/**
 * The harness of the warm-path connection tests (connection-warm.test.ts, request-memo.test.ts):
 * a line protocol whose requests are answered at once (answerNow) or later (handle), real
 * Connections on a real TCP listener, and a client that waits for what it expects.
 *
 * Requests are lines `ID HOW` (HOW defaults to `now`):
 * - `now`: answerNow answers `ID\n` as a string (`ID@ZONE\n` on a listener with a zone);
 * - `bytes`: the same as a Uint8Array;
 * - `throw`: answerNow throws, and handle answers `ID\n`;
 * - `hold`: handle answers `ID\n` once released (`release(ID)` or `releaseAll()`).
 */
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import net from 'node:net';
import { Connection, type ConnectionOptions } from '../../../src/server/connection.js';
import type { RequestMemo } from '../../../src/server/request-memo.js';
import type { Decoder, DecodeStep, HandlerContext, ProtocolAdapter, Reply } from '../../../src/protocol/types.js';
import { memoryLogger } from '../../helpers/fakes.js';
import { unusedLookup } from './fake-adapter.js';

export interface Req {
  readonly id: string;
  readonly how: string;
}

export class WarmAdapter implements ProtocolAdapter<Req> {
  readonly protocol = 'fake';
  readonly oneShot = false;
  readonly maxRequestBytes = 100;
  /** Ids the decoders made requests of, in order. */
  readonly decoded: string[] = [];
  /** Ids handle() was called for, in order. */
  readonly handled: string[] = [];
  /** Ids answerNow answered, in order. */
  readonly answeredNow: string[] = [];
  /** Ids answered by either path, in the order their answers were made. */
  readonly answered: string[] = [];
  private readonly waiting = new Map<string, () => void>();
  private readonly released = new Set<string>();

  /** `statelessDecoder`: declared as the request memo requires (the decoder below keeps nothing between requests). */
  constructor(readonly statelessDecoder = false) {}

  newDecoder(): Decoder<Req> {
    let buffer = '';
    const decoded = this.decoded;
    return {
      push(chunk: Uint8Array): DecodeStep<Req>[] {
        buffer += Buffer.from(chunk).toString('latin1');
        const steps: DecodeStep<Req>[] = [];
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const [id = '', how = 'now'] = buffer.slice(0, nl).split(' ');
          buffer = buffer.slice(nl + 1);
          decoded.push(id);
          steps.push({ kind: 'request', request: { id, how } });
        }
        return steps;
      },
      partial: () => buffer !== '',
      end: () => [],
    };
  }

  answerNow(req: Req, ctx: HandlerContext): Reply | undefined {
    if (req.how === 'throw') throw new Error('warm path bug');
    if (req.how !== 'now' && req.how !== 'bytes') return undefined;
    this.answeredNow.push(req.id);
    this.answered.push(req.id);
    const text = ctx.listenerZone === undefined ? `${req.id}\n` : `${req.id}@${ctx.listenerZone}\n`;
    return req.how === 'bytes' ? Buffer.from(text) : text;
  }

  async handle(req: Req): Promise<Uint8Array> {
    this.handled.push(req.id);
    if (req.how === 'hold' && !this.released.has(req.id)) await new Promise<void>((resolve) => this.waiting.set(req.id, resolve));
    this.answered.push(req.id);
    return Buffer.from(`${req.id}\n`);
  }

  release(id: string): void {
    this.released.add(id);
    this.waiting.get(id)?.();
    this.waiting.delete(id);
  }

  /** Release every waiting request, the newest first. */
  releaseAll(): void {
    for (const id of [...this.waiting.keys()].reverse()) this.release(id);
  }
}

export interface Harness {
  readonly port: number;
  readonly adapter: WarmAdapter;
  readonly lines: Array<Record<string, unknown>>;
  readonly connections: Array<Connection<Req>>;
  close(): Promise<void>;
}

export interface ServeOptions extends Partial<ConnectionOptions<Req>> {
  readonly statelessDecoder?: boolean;
  /** Connection k is given listener zone `zones[k % zones.length]` (undefined: none): listeners sharing one memo. */
  readonly zones?: ReadonlyArray<string | undefined>;
  readonly memo?: RequestMemo<Req>;
}

/** A listener on 127.0.0.1 (a free port) whose connections use a WarmAdapter. Close it with `close()`. */
export async function serve({ statelessDecoder = false, zones = [undefined], ...options }: ServeOptions = {}): Promise<Harness> {
  const adapter = new WarmAdapter(statelessDecoder);
  const { log, lines } = memoryLogger();
  const connections: Array<Connection<Req>> = [];
  const server = net.createServer((socket) => {
    const zone = zones[connections.length % zones.length];
    const context = { lookup: unusedLookup, log, ...(zone !== undefined ? { listenerZone: zone } : {}) };
    connections.push(new Connection(socket, { adapter, context, log, idleTimeoutMs: 0, ...options }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  return {
    port: address.port,
    adapter,
    lines,
    connections,
    async close() {
      adapter.releaseAll();
      await Promise.all(connections.map((c) => c.destroy()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export class Client {
  readonly socket: net.Socket;
  data = '';
  private waiters: Array<() => void> = [];
  /** `noDelay`: each write goes out as its own segment (tests that need one chunk per request). */
  constructor(port: number, { noDelay = false }: { readonly noDelay?: boolean } = {}) {
    this.socket = net.connect(port, '127.0.0.1');
    if (noDelay) this.socket.setNoDelay(true);
    this.socket.setEncoding('latin1');
    this.socket.on('data', (d: string) => {
      this.data += d;
      for (const w of this.waiters.splice(0)) w();
    });
    this.socket.on('error', () => undefined);
  }

  /**
   * Resolves once the received text satisfies `expected` (a predicate, or the exact text: more
   * than it fails at once); fails after `ms` (a hang, not a timing check).
   */
  async until(expected: string | ((data: string) => boolean), ms = 5000): Promise<void> {
    const done = typeof expected === 'string' ? (d: string) => d === expected : expected;
    const deadline = Date.now() + ms;
    while (!done(this.data)) {
      if (Date.now() > deadline || (typeof expected === 'string' && this.data.length > expected.length)) {
        assert.fail(`expected ${typeof expected === 'string' ? JSON.stringify(expected) : 'more'}, received ${JSON.stringify(this.data)}`);
      }
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 20);
      });
    }
  }

  /** Writes `text` as one chunk and waits until the received text is `expected`. */
  async ask(text: string, expected: string): Promise<void> {
    this.socket.write(text);
    await this.until(expected);
  }

  close(): void {
    this.socket.destroy();
  }
}
