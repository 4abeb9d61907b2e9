/**
 * One client connection: bytes in through the adapter's decoder, replies out in request order.
 *
 * Knows sockets and ordering, nothing of any wire format: the codec lives behind the
 * ProtocolAdapter port. Requests are pipelined (every lookup starts as soon as it is decoded)
 * but replies are written strictly in request order, because socketmap and tcp_table clients
 * match replies to requests by position only. With a TurnScheduler, decoded requests wait for
 * the connection's turn (a few per event-loop turn, round-robin across connections), so one
 * client cannot monopolise the process. The first bytes are checked against the protocol
 * (src/protocol/sniff.ts), and a request must be complete within `request_timeout`.
 */
import { Buffer } from 'node:buffer';
import type net from 'node:net';
import type { Logger } from 'winston';
import type { DecodeStep, Decoder, HandlerContext, ProtocolAdapter, Reply } from '../protocol/types.js';
import { SNIFF_MAX_BYTES, guessProtocol, sniff, type ProtocolGuess } from '../protocol/sniff.js';
import type { LogLimiter } from './log-limiter.js';
import type { RequestMemo } from './request-memo.js';
import type { TurnScheduler, TurnTaker } from './turn-scheduler.js';

/**
 * Requests started (lookup running or reply waiting for its turn) per connection before the
 * server stops reading from it. Postfix sends one request at a time; this only bounds a client
 * that pipelines without reading.
 */
export const MAX_PENDING_REQUESTS = 64;

/**
 * Reply bytes queued in the socket and not yet taken by the kernel before the server stops
 * writing and reading: two of socketmap's largest replies (100,000 bytes, socketmap_table(5))
 * and then some. Small on purpose: it is what each client that never reads costs in RSS
 * (the kernel's socket buffers hold several MB more, outside the process).
 */
export const MAX_UNFLUSHED_BYTES = 256 * 1024;

/**
 * After a protocol error or a one-shot reply, how long the server waits for the client to
 * close before destroying the socket. Reading on meanwhile keeps the kernel from answering
 * unread bytes with a RST that could discard the reply.
 */
export const CLOSE_LINGER_MS = 2000;

/**
 * How long the first bytes of a client that cannot speak the listener's protocol are held for a
 * better guess of what it speaks, when they are too few to tell (sniff.ts `settled`). The
 * client is closed within this of its first bytes.
 */
export const SNIFF_WAIT_MS = 300;

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
  /**
   * Once the first byte of a request arrived, the whole request must have arrived within this
   * long, else the client gets the adapter's abort reply and the connection closes; 0 disables.
   */
  readonly requestTimeoutMs?: number;
  readonly limits?: ConnectionLimits;
  /** Fairness between connections; without one, decoded requests start at once. */
  readonly scheduler?: TurnScheduler;
  /**
   * Decoded requests remembered by their bytes, shared by the connections of this protocol
   * (request-memo.ts); only for an adapter with a `statelessDecoder`.
   */
  readonly memo?: RequestMemo<Req>;
  /** Rate limit of warn lines about this client, under `limiterKey` (its peer host). */
  readonly limiter?: LogLimiter;
  readonly limiterKey?: string;
}

/** A started request: its reply once the handler has settled. */
interface Slot {
  settled: boolean;
  reply: Reply | undefined;
  /** The handler broke its contract (rejected): nothing after this slot can be written. */
  failed: boolean;
}

/** Why the connection closes once every started request is answered. */
interface Ending {
  readonly why:
    'protocol-error' | 'one-shot' | 'peer-closed' | 'idle' | 'shutdown' | 'handler-failed' | 'request-timeout' | 'wrong-protocol';
  /** Bytes written last (the adapter's error reply). */
  readonly reply?: Uint8Array;
  /** Wait for the client to close (true) or destroy once our bytes are flushed (false). */
  readonly linger: boolean;
}

/** Serves one accepted socket until it closes. */
export class Connection<Req> implements TurnTaker {
  /** Resolves when the socket is closed, whatever the reason. */
  readonly closed: Promise<void>;

  private readonly socket: net.Socket;
  private readonly adapter: ProtocolAdapter<Req>;
  private readonly context: HandlerContext;
  private readonly log: Logger;
  private readonly idleTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  private readonly limits: ConnectionLimits;
  private readonly scheduler: TurnScheduler | undefined;
  private readonly limiter: LogLimiter | undefined;
  private readonly limiterKey: string;
  private readonly memo: RequestMemo<Req> | undefined;
  /** The client's first bytes while it is not yet known whether they fit the protocol. */
  private sniffed: Buffer | undefined = Buffer.alloc(0);
  /** Foreign bytes are held this long for a better guess of what the client speaks. */
  private sniffTimer: NodeJS.Timeout | undefined;
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
  /** Last data in or reply out (Date.now()): the idle timer re-arms itself instead of being reset per request. */
  private lastActivity = Date.now();
  private lingerTimer: NodeJS.Timeout | undefined;
  private requestTimer: NodeJS.Timeout | undefined;
  private requests = 0;

  constructor(socket: net.Socket, options: ConnectionOptions<Req>) {
    this.socket = socket;
    this.adapter = options.adapter;
    this.context = options.context;
    this.log = options.log;
    this.idleTimeoutMs = options.idleTimeoutMs;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 0;
    this.limits = options.limits ?? DEFAULT_CONNECTION_LIMITS;
    this.scheduler = options.scheduler;
    this.limiter = options.limiter;
    this.limiterKey = options.limiterKey ?? 'peer';
    this.memo = options.adapter.statelessDecoder === true ? options.memo : undefined;
    this.decoder = this.adapter.newDecoder();

    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.isClosed = true;
        this.clearIdle();
        this.clearRequestTimer();
        if (this.sniffTimer !== undefined) clearTimeout(this.sniffTimer);
        this.scheduler?.forget(this);
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
    this.lastActivity = Date.now();
    if (this.sniffed !== undefined && !this.sniffFirstBytes(chunk)) return;
    const memoKey = this.memoKeyOf(chunk);
    if (memoKey !== undefined) {
      const known = this.memo?.get(memoKey);
      if (known !== undefined) {
        // The same bytes as a request decoded before, between requests: the decoder would give
        // the same request and end between requests again (request-memo.ts).
        if (!this.fastLane(known)) this.take([known]);
        return;
      }
    }
    let steps: DecodeStep<Req>[];
    try {
      steps = this.decoder.push(chunk);
    } catch (err) {
      steps = [this.decoderCrash(err)];
    }
    const only = steps.length === 1 ? steps[0] : undefined;
    if (memoKey !== undefined && only?.kind === 'request' && !this.decoderPartial()) this.memo?.set(memoKey, only);
    this.updateRequestTimer(steps.some((s) => s.kind === 'request'));
    this.take(steps);
  }

  /**
   * The memo key of `chunk` when it may be a whole request on its own: a memo, the client's first
   * bytes already checked, nothing of this connection waiting, and the decoder between requests.
   */
  private memoKeyOf(chunk: Buffer): string | undefined {
    if (
      this.memo === undefined ||
      this.sniffed !== undefined ||
      this.slots.length > 0 ||
      this.backlog.length > 0 ||
      this.decoderPartial()
    ) {
      return undefined;
    }
    return this.memo.keyOf(chunk);
  }

  /** The decoder holds part of a request (a throwing decoder counts as holding one: no memo then). */
  private decoderPartial(): boolean {
    try {
      return this.decoder.partial();
    } catch {
      return true;
    }
  }

  /**
   * Checks the first bytes against the protocol (src/protocol/sniff.ts). False when they
   * cannot belong to it: the connection is then closed, without a reply (the client would
   * misread one), and a warning names the protocol it probably spoke.
   */
  private sniffFirstBytes(chunk: Buffer): boolean {
    const seen = Buffer.concat([this.sniffed ?? Buffer.alloc(0), chunk.subarray(0, SNIFF_MAX_BYTES)]).subarray(0, SNIFF_MAX_BYTES);
    const verdict = sniff(this.adapter.protocol, seen);
    switch (verdict.kind) {
      case 'fits':
        this.sniffed = undefined;
        return true;
      case 'undecided':
        this.sniffed = seen;
        return true;
      case 'foreign':
        if (verdict.settled) {
          this.closeForeign(seen, verdict.probably);
        } else {
          // Wrong already, but a byte or two say little: hold them (the decoder never sees
          // them) a moment for a better guess of what the client speaks.
          this.sniffed = seen;
          this.sniffTimer ??= setTimeout(() => this.closeForeign(this.sniffed ?? seen), SNIFF_WAIT_MS);
        }
        return false;
      default: {
        const _never: never = verdict;
        throw new Error(`unknown sniff verdict ${JSON.stringify(_never)}`);
      }
    }
  }

  private closeForeign(seen: Buffer, probably: ProtocolGuess = guessProtocol(seen)): void {
    if (this.sniffTimer !== undefined) clearTimeout(this.sniffTimer);
    this.sniffTimer = undefined;
    this.sniffed = undefined;
    if (!this.accepting || this.isClosed) return;
    this.warn('client speaks another protocol; closing', {
      code: 'ECLIENT_WRONG_PROTOCOL',
      protocol: this.adapter.protocol,
      probably,
      sample: seen
        .subarray(0, 32)
        .toString('latin1')
        .replace(/[^\x20-\x7e]/g, '?'),
    });
    this.accepting = false;
    this.ending ??= { why: 'wrong-protocol', linger: false };
    this.progress();
  }

  /** A warn line about this client, within its rate limit (log-limiter.ts). */
  private warn(message: string, fields: Record<string, unknown>): void {
    const dropped = this.limiter === undefined ? 0 : this.limiter.take(this.limiterKey);
    if (dropped === false) return;
    this.log.warn(message, dropped > 0 ? { ...fields, suppressed: dropped } : fields);
  }

  /**
   * The request timer starts with the first byte of a request and stops when the decoder
   * holds no unfinished request; a chunk that completed requests and began another restarts it.
   */
  private updateRequestTimer(completedRequest: boolean): void {
    if (this.requestTimeoutMs <= 0) return;
    let partial: boolean;
    try {
      partial = this.decoder.partial();
    } catch {
      partial = false;
    }
    if (!partial || !this.accepting) {
      this.clearRequestTimer();
      return;
    }
    if (completedRequest) this.clearRequestTimer();
    this.requestTimer ??= setTimeout(() => this.onRequestTimeout(), this.requestTimeoutMs);
  }

  private onRequestTimeout(): void {
    this.requestTimer = undefined;
    if (!this.accepting || this.isClosed) return;
    this.warn('request not complete within request_timeout; closing', {
      code: 'ECLIENT_REQUEST_TIMEOUT',
      protocol: this.adapter.protocol,
      timeoutMs: this.requestTimeoutMs,
    });
    let reply: Uint8Array | undefined;
    try {
      reply = this.adapter.abortReply?.('request timeout');
    } catch {
      reply = undefined;
    }
    this.accepting = false;
    this.ending ??= { why: 'request-timeout', linger: true, ...(reply !== undefined ? { reply } : {}) };
    this.progress();
  }

  private clearRequestTimer(): void {
    if (this.requestTimer !== undefined) {
      clearTimeout(this.requestTimer);
      this.requestTimer = undefined;
    }
  }

  private onEnd(): void {
    if (this.sniffTimer !== undefined) {
      // Foreign bytes held for a better guess: the client has said all it will.
      this.closeForeign(this.sniffed ?? Buffer.alloc(0));
      return;
    }
    this.sniffed = undefined; // a short request followed by the client's EOF (Exim) fits
    this.clearRequestTimer();
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
    if (steps.length === 1 && this.fastLane(steps[0] as DecodeStep<Req>)) return;
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
          this.warn('protocol error', { code: step.code, reason: step.message });
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

  /**
   * Postfix's usual case, taken without the queue: one request arrived and nothing of this
   * connection is outstanding, so it starts at once whatever the scheduler (progress() would
   * start it here too): start() writes a warm answer at once, and a pending one is followed by
   * the rest of progress(). False, with nothing done, when the request must go through take().
   */
  private fastLane(step: DecodeStep<Req>): boolean {
    if (
      step.kind !== 'request' ||
      !this.accepting ||
      this.finished ||
      this.adapter.oneShot ||
      this.slots.length > 0 ||
      this.backlog.length > 0 ||
      this.socket.writableLength > this.limits.maxUnflushedBytes
    ) {
      return false;
    }
    this.requests += 1;
    this.start(step.request);
    if (this.slots.length > 0) this.progress();
    return true;
  }

  /** Scheduler turn: start at most `budget` waiting requests. */
  runTurn(budget: number): void {
    if (this.isClosed) return;
    this.socket.cork(); // replies known at once go out in one write with the rest
    this.startWaiting(budget);
    this.progress();
    this.socket.uncork();
  }

  /** Start at most `budget` waiting requests, within the pending limit; returns how many started. */
  private startWaiting(budget: number): number {
    let started = 0;
    while (this.backlog.length > 0 && this.slots.length < this.limits.maxPendingRequests && started < budget) {
      this.start(this.backlog.shift() as Req);
      started += 1;
    }
    return started;
  }

  /** Start what may start, write what is ready in order, close when done, adjust reading. */
  private progress(): void {
    if (this.isClosed) return;

    // Corked only when more than one reply could go out here: a lone reply (Postfix asks one at
    // a time) is written straight to the socket, without the stream's buffering round trip.
    const corked = this.backlog.length + this.slots.length > 1;
    if (corked) this.socket.cork();
    let wrote = false;
    // Requests answered at once (answerNow) settle as they start and never call back here, so
    // writing them may free the room that waiting requests need: go on until neither starting
    // nor writing moves, else a full pending window drained here would leave the backlog stalled.
    for (;;) {
      let started = 0;
      if (this.scheduler === undefined) {
        started = this.startWaiting(Infinity);
      } else if (this.backlog.length > 0 && this.slots.length < this.limits.maxPendingRequests) {
        // A client with nothing outstanding that sent at most a turn's worth (Postfix: one request,
        // then it waits) is served at once; one that pipelines more waits for its turns.
        if (this.slots.length === 0 && this.backlog.length <= this.scheduler.budget) started = this.startWaiting(this.scheduler.budget);
        else this.scheduler.wake(this);
      }

      let shifted = 0;
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
        shifted += 1;
        if (head.reply !== undefined && this.socket.writable) {
          this.socket.write(head.reply);
          wrote = true;
        }
      }
      if (started === 0 && shifted === 0) break;
    }
    if (corked) this.socket.uncork();
    if (wrote) this.lastActivity = Date.now();

    if (this.ending !== undefined && !this.finished && this.slots.length === 0 && this.backlog.length === 0) {
      this.finish(this.ending);
    }
    this.updateFlow();
    this.updateIdle();
  }

  private start(request: Req): void {
    const now = this.answerNow(request);
    if (now !== undefined) {
      // Known at once: written now when nothing is ahead of it, else queued in order.
      if (this.slots.length === 0 && !this.finished && this.socket.writableLength <= this.limits.maxUnflushedBytes) {
        if (this.socket.writable) this.socket.write(now);
        this.lastActivity = Date.now();
      } else {
        this.slots.push({ settled: true, reply: now, failed: false });
      }
      return;
    }
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

  /** The adapter's synchronous answer, if it has one for `request`; a throw is logged and taken as none. */
  private answerNow(request: Req): Reply | undefined {
    if (this.adapter.answerNow === undefined) return undefined;
    try {
      return this.adapter.answerNow(request, this.context);
    } catch (err) {
      this.log.error('warm-path answer failed; taking the full path', {
        code: 'EINTERNAL',
        reason: err instanceof Error ? err.message : String(err),
      });
      return undefined;
    }
  }

  private finish(ending: Ending): void {
    this.finished = true;
    this.clearIdle();
    this.clearRequestTimer();
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
    // The client is not late while we do not read its bytes; the next byte restarts the timer.
    if (!read) this.clearRequestTimer();
  }

  private isIdle(): boolean {
    return this.accepting && !this.isClosed && this.ending === undefined && this.pending === 0;
  }

  /**
   * The idle timer runs only while nothing is pending, and counts from the last data in or reply
   * out. It is armed once and re-arms itself for the time left when activity happened meanwhile,
   * so a busy connection costs no timer call per request.
   */
  private updateIdle(): void {
    if (this.idleTimeoutMs <= 0 || this.idleTimer !== undefined || !this.isIdle()) return;
    this.armIdle(this.idleTimeoutMs);
  }

  private armIdle(ms: number): void {
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (!this.isIdle()) return; // busy now: re-armed when idle again
      const left = this.lastActivity + this.idleTimeoutMs - Date.now();
      if (left > 0) {
        this.armIdle(left);
        return;
      }
      this.log.debug('idle timeout', { reason: 'idle' });
      this.accepting = false;
      this.ending ??= { why: 'idle', linger: false };
      this.progress();
    }, ms);
  }

  private clearIdle(): void {
    if (this.idleTimer !== undefined) {
      clearTimeout(this.idleTimer);
      this.idleTimer = undefined;
    }
  }
}
