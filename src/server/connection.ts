/**
 * One client connection: bytes in through the adapter's decoder, replies out in request order.
 *
 * Knows sockets and ordering, nothing of any wire format: the codec lives behind the
 * ProtocolAdapter port. Requests are pipelined (every lookup starts as soon as it is decoded)
 * but replies are written strictly in request order, because socketmap and tcp_table clients
 * match replies to requests by position only.
 */
import type net from 'node:net';
import type { Logger } from 'winston';
import type { DecodeStep, Decoder, HandlerContext, ProtocolAdapter } from '../protocol/types.js';

/**
 * Requests started (lookup running or reply waiting for its turn) per connection before the
 * server stops reading from it. Postfix sends one request at a time; this only bounds a client
 * that pipelines without reading.
 */
export const MAX_PENDING_REQUESTS = 64;

/**
 * Reply bytes queued in the socket and not yet taken by the kernel before the server stops
 * writing and reading: ten of socketmap's largest replies (100,000 bytes, socketmap_table(5)).
 */
export const MAX_UNFLUSHED_BYTES = 1_000_000;

/**
 * After a protocol error or a one-shot reply, how long the server waits for the client to
 * close before destroying the socket. Reading on meanwhile keeps the kernel from answering
 * unread bytes with a RST that could discard the reply.
 */
export const CLOSE_LINGER_MS = 2000;

export interface ConnectionLimits {
  readonly maxPendingRequests: number;
  readonly maxUnflushedBytes: number;
  readonly closeLingerMs: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  maxPendingRequests: MAX_PENDING_REQUESTS,
  maxUnflushedBytes: MAX_UNFLUSHED_BYTES,
  closeLingerMs: CLOSE_LINGER_MS,
};

export interface ConnectionOptions<Req> {
  readonly adapter: ProtocolAdapter<Req>;
  readonly context: HandlerContext;
  /** Logger carrying `listener` and `peer`. */
  readonly log: Logger;
  /** Close a connection with no request pending after this long without data; 0 disables. */
  readonly idleTimeoutMs: number;
  readonly limits?: ConnectionLimits;
}

/** A started request: its reply once the handler has settled. */
interface Slot {
  settled: boolean;
  reply: Uint8Array | undefined;
  /** The handler broke its contract (rejected): nothing after this slot can be written. */
  failed: boolean;
}

/** Why the connection closes once every started request is answered. */
interface Ending {
  readonly why: 'protocol-error' | 'one-shot' | 'peer-closed' | 'idle' | 'shutdown' | 'handler-failed';
  /** Bytes written last (the adapter's error reply). */
  readonly reply?: Uint8Array;
  /** Wait for the client to close (true) or destroy once our bytes are flushed (false). */
  readonly linger: boolean;
}

/** Serves one accepted socket until it closes. */
export class Connection<Req> {
  /** Resolves when the socket is closed, whatever the reason. */
  readonly closed: Promise<void>;

  private readonly socket: net.Socket;
  private readonly adapter: ProtocolAdapter<Req>;
  private readonly context: HandlerContext;
  private readonly log: Logger;
  private readonly idleTimeoutMs: number;
  private readonly limits: ConnectionLimits;
  private readonly decoder: Decoder<Req>;
  /** Started requests in request order. */
  private slots: Slot[] = [];
  /** Decoded requests not yet started (more than the pending limit arrived in one read). */
  private backlog: Req[] = [];
  /** New bytes are decoded; false once the connection is winding down (bytes are discarded). */
  private accepting = true;
  private ending: Ending | undefined;
  /** `socket.end()` was called. */
  private finished = false;
  private isClosed = false;
  private idleTimer: NodeJS.Timeout | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;
  private requests = 0;

  constructor(socket: net.Socket, options: ConnectionOptions<Req>) {
    this.socket = socket;
    this.adapter = options.adapter;
    this.context = options.context;
    this.log = options.log;
    this.idleTimeoutMs = options.idleTimeoutMs;
    this.limits = options.limits ?? DEFAULT_CONNECTION_LIMITS;
    this.decoder = this.adapter.newDecoder();

    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.isClosed = true;
        this.clearIdle();
        if (this.lingerTimer !== undefined) clearTimeout(this.lingerTimer);
        const pending = this.slots.filter((s) => !s.settled).length;
        this.log.debug('connection closed', { requests: this.requests, ...(pending > 0 ? { abandoned: pending } : {}) });
        resolve();
      });
    });
    if (typeof socket.setNoDelay === 'function') socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onEnd());
    socket.on('drain', () => this.progress());
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // ECONNRESET / EPIPE from a client that went away: routine, the 'close' follows.
      this.log.debug('connection error', { code: err.code ?? 'ERROR', reason: err.message });
    });
    this.updateIdle();
  }

  /** Requests received and not yet answered. */
  get pending(): number {
    return this.slots.length + this.backlog.length;
  }

  /**
   * Graceful close: decode nothing new, answer what was received, flush, then close.
   * Resolves when the socket is closed.
   */
  shutdown(): Promise<void> {
    if (!this.isClosed) {
      this.accepting = false;
      this.ending ??= { why: 'shutdown', linger: false };
      this.progress();
    }
    return this.closed;
  }

  /** Close at once; running lookups finish and their results are dropped. */
  destroy(): Promise<void> {
    this.socket.destroy();
    return this.closed;
  }

  private onData(chunk: Buffer): void {
    if (!this.accepting) return; // winding down: bytes are read only to see the client's EOF
    this.clearIdle();
    let steps: DecodeStep<Req>[];
    try {
      steps = this.decoder.push(chunk);
    } catch (err) {
      steps = [this.decoderCrash(err)];
    }
    this.take(steps);
  }

  private onEnd(): void {
    if (this.accepting) {
      let steps: DecodeStep<Req>[];
      try {
        steps = this.decoder.end();
      } catch (err) {
        steps = [this.decoderCrash(err)];
      }
      this.take(steps);
      this.accepting = false;
    }
    this.ending ??= { why: 'peer-closed', linger: false };
    this.progress();
  }

  private decoderCrash(err: unknown): DecodeStep<Req> {
    this.log.error('decoder failed', { code: 'EINTERNAL', reason: err instanceof Error ? err.message : String(err) });
    return { kind: 'error', code: 'EINTERNAL', message: 'internal decoder error' };
  }

  /** Queue decoded requests; the first error or a one-shot request ends decoding. */
  private take(steps: readonly DecodeStep<Req>[]): void {
    for (const step of steps) {
      if (!this.accepting) break;
      switch (step.kind) {
        case 'request':
          this.requests += 1;
          this.backlog.push(step.request);
          if (this.adapter.oneShot) {
            this.accepting = false;
            this.ending ??= { why: 'one-shot', linger: true };
          }
          break;
        case 'error':
          this.log.warn('protocol error', { code: step.code, reason: step.message });
          this.accepting = false;
          this.ending ??= {
            why: 'protocol-error',
            linger: true,
            ...(step.reply !== undefined ? { reply: step.reply } : {}),
          };
          break;
        default: {
          const _never: never = step;
          throw new Error(`unknown decode step ${JSON.stringify(_never)}`);
        }
      }
    }
    this.progress();
  }

  /** Start what may start, write what is ready in order, close when done, adjust reading. */
  private progress(): void {
    if (this.isClosed) return;

    while (this.backlog.length > 0 && this.slots.length < this.limits.maxPendingRequests) {
      this.start(this.backlog.shift() as Req);
    }

    this.socket.cork();
    while (!this.finished) {
      const head = this.slots[0];
      if (head === undefined || !head.settled || this.socket.writableLength > this.limits.maxUnflushedBytes) break;
      if (head.failed) {
        // A later reply cannot be written without this one: the client would misattribute it.
        this.slots = [];
        this.backlog = [];
        this.accepting = false;
        this.ending = { why: 'handler-failed', linger: true };
        break;
      }
      this.slots.shift();
      if (head.reply !== undefined && this.socket.writable) this.socket.write(head.reply);
    }
    this.socket.uncork();

    if (this.ending !== undefined && !this.finished && this.slots.length === 0 && this.backlog.length === 0) {
      this.finish(this.ending);
    }
    this.updateFlow();
    this.updateIdle();
  }

  private start(request: Req): void {
    const slot: Slot = { settled: false, reply: undefined, failed: false };
    this.slots.push(slot);
    let reply: Promise<Uint8Array>;
    try {
      reply = this.adapter.handle(request, this.context);
    } catch (err) {
      reply = Promise.reject(err);
    }
    void reply.then(
      (bytes) => {
        slot.reply = bytes;
        slot.settled = true;
        this.progress();
      },
      (err: unknown) => {
        // The port says handle() never rejects; a rejection is a bug, not a client problem.
        this.log.error('request handler failed', {
          code: 'EINTERNAL',
          reason: err instanceof Error ? err.message : String(err),
        });
        slot.failed = true;
        slot.settled = true;
        this.progress();
      },
    );
  }

  private finish(ending: Ending): void {
    this.finished = true;
    this.clearIdle();
    if (ending.reply !== undefined && this.socket.writable) this.socket.write(ending.reply);
    if (ending.why !== 'peer-closed' && ending.why !== 'shutdown' && ending.why !== 'idle') {
      this.log.debug('closing connection', { reason: ending.why });
    }
    if (ending.linger) {
      // The client closes after reading our reply; the timer only bounds one that never does.
      this.lingerTimer = setTimeout(() => this.socket.destroy(), this.limits.closeLingerMs);
      this.socket.end();
    } else {
      this.socket.end(() => this.socket.destroy());
    }
  }

  /** Read while there is room; always read once winding down, to notice the client's EOF. */
  private updateFlow(): void {
    if (this.isClosed) return;
    const read =
      !this.accepting ||
      (this.backlog.length === 0 &&
        this.slots.length < this.limits.maxPendingRequests &&
        this.socket.writableLength <= this.limits.maxUnflushedBytes);
    if (read && this.socket.isPaused()) this.socket.resume();
    else if (!read && !this.socket.isPaused()) this.socket.pause();
  }

  /** The idle timer runs only while nothing is pending. */
  private updateIdle(): void {
    const idle = this.accepting && !this.isClosed && this.ending === undefined && this.pending === 0;
    if (!idle || this.idleTimeoutMs <= 0) {
      this.clearIdle();
      return;
    }
    this.idleTimer ??= setTimeout(() => {
      this.idleTimer = undefined;
      this.log.debug('idle timeout', { reason: 'idle' });
      this.accepting = false;
      this.ending ??= { why: 'idle', linger: false };
      this.progress();
    }, this.idleTimeoutMs);
  }

  private clearIdle(): void {
    if (this.idleTimer !== undefined) {
      clearTimeout(this.idleTimer);
      this.idleTimer = undefined;
    }
  }
}
