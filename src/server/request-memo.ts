/**
 * Decoded requests remembered by their exact bytes, shared by the connections of one protocol.
 *
 * Postfix asks about the same destinations over and over, each request arriving alone in one
 * read. Decoding it again (a netstring or a line, the key split into strings, a request
 * object) costs more than the warm answer that follows, so a chunk that is exactly one whole
 * request, arriving on a connection whose decoder is between requests, is looked up here first;
 * on a hit the connection starts the remembered request, and the answer itself still comes from
 * the adapter's `answerNow` (or `handle`) as for any request: only the decoding is skipped.
 *
 * That is right only for an adapter whose decoder is pure and keeps nothing from one request to
 * the next (`ProtocolAdapter.statelessDecoder`): the same bytes then always decode to the same
 * request. One request object serves every connection and listener, so it is frozen when
 * remembered: a handler that tried to change it would fail (and take its error path) instead of
 * leaking the change to other clients.
 *
 * Bounded: at most {@link REQUEST_MEMO_ENTRIES} entries of at most {@link REQUEST_MEMO_MAX_BYTES}
 * bytes each, so a client sending endless distinct keys costs a fixed amount of memory. First in,
 * first out: the entry remembered longest ago is dropped for a new one, however often it is
 * asked (a hit does not reorder the map; a dropped request is decoded once more and remembered
 * again). Measured on V8's heap with 1,024 socketmap requests: about 420 KiB for ~30-byte requests
 * (the key string, the request and its two strings, the map's slots: ~410 bytes each), about
 * 770 KiB if every request were ~290 bytes of ASCII, about 1 MB for invalid UTF-8 (each bad byte a
 * two-byte U+FFFD in the key). One memo per protocol in use.
 */
import type { Buffer } from 'node:buffer';
import type { DecodeStep } from '../protocol/types.js';

/** Requests remembered per protocol: the recent destinations of a busy MTA, not every domain. */
export const REQUEST_MEMO_ENTRIES = 1024;
/** Longest chunk remembered: a Postfix request for a long domain name, and no more. */
export const REQUEST_MEMO_MAX_BYTES = 300;

export class RequestMemo<Req> {
  readonly #steps = new Map<string, DecodeStep<Req> & { readonly kind: 'request' }>();

  constructor(
    readonly maxEntries: number = REQUEST_MEMO_ENTRIES,
    readonly maxBytes: number = REQUEST_MEMO_MAX_BYTES,
  ) {}

  /** The key of `chunk` (its bytes as latin1: one character per byte), or undefined when too long to remember. */
  keyOf(chunk: Buffer): string | undefined {
    return chunk.length <= this.maxBytes ? chunk.toString('latin1') : undefined;
  }

  get(key: string): (DecodeStep<Req> & { readonly kind: 'request' }) | undefined {
    return this.#steps.get(key);
  }

  /** Remember that `key`'s bytes, alone, decode to `step`. */
  set(key: string, step: DecodeStep<Req> & { readonly kind: 'request' }): void {
    if (this.#steps.size >= this.maxEntries && !this.#steps.has(key)) {
      const oldest = this.#steps.keys().next();
      if (oldest.done !== true) this.#steps.delete(oldest.value);
    }
    Object.freeze(step.request);
    this.#steps.set(key, Object.freeze(step));
  }

  get size(): number {
    return this.#steps.size;
  }
}
