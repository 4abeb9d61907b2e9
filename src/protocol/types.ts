/**
 * The ProtocolAdapter port. An adapter is a pure codec plus a handler that maps a request to
 * reply bytes through the LookupService. Only src/server/ touches sockets.
 */
import type { Logger } from 'winston';
import type { LookupService } from '../lookup.js';
import type { WarmService } from '../warm/types.js';

/** Reply bytes, or a string written as UTF-8 (answers kept with a cached policy are strings: smaller). */
export type Reply = Uint8Array | string;

/** One step out of a decoder. */
export type DecodeStep<Req> =
  | { readonly kind: 'request'; readonly request: Req }
  /**
   * The byte stream is malformed. The server writes the replies of earlier requests,
   * then `reply` (if any), then closes the connection.
   */
  | { readonly kind: 'error'; readonly code: string; readonly message: string; readonly reply?: Uint8Array };

/** Push-style decoder: bytes in, requests out. Pure; one per connection. */
export interface Decoder<Req> {
  push(chunk: Uint8Array): DecodeStep<Req>[];
  /** The peer closed its side: report a truncated request as an error step, if any. */
  end(): DecodeStep<Req>[];
  /**
   * Bytes of an unfinished request are held (its first byte arrived, its end did not): the
   * server's `request_timeout` runs while this is true.
   */
  partial(): boolean;
}

export interface HandlerContext {
  readonly lookup: LookupService;
  readonly log: Logger;
  /** Zone configured on the listener, for protocols without a map name. */
  readonly listenerZone?: string;
  /** Background warm-up of the cache (policy delegation); absent when none is running. */
  readonly warm?: WarmService;
}

export interface ProtocolAdapter<Req = unknown> {
  readonly protocol: string;
  /** Close the connection after the first reply (Exim `${readsocket}`). */
  readonly oneShot: boolean;
  /** Largest request the decoder accepts, in bytes (for the server's memory bound). */
  readonly maxRequestBytes: number;
  /**
   * The decoder is pure and keeps nothing from one request to the next: bytes that are exactly
   * one whole request, pushed between requests, always decode to the same request, with no
   * side effect. The server may then remember decoded requests by their bytes
   * (src/server/request-memo.ts) and skip decoding a repeat. Requests must be immutable.
   */
  readonly statelessDecoder?: boolean;
  newDecoder(): Decoder<Req>;
  /**
   * The reply a client gets when the server gives up on its unfinished request (`reason`,
   * e.g. the request timeout), written after the replies of its earlier requests, just before
   * the close; undefined when the protocol has none that the client could match.
   */
  abortReply?(reason: string): Uint8Array | undefined;
  /**
   * The warm path: the reply for `request` when it is known at once (a fresh cached policy, or
   * a protocol that always answers at once), else undefined and the server calls `handle`.
   * Synchronous: no promise, no closure. A string reply is written as UTF-8. Never throws.
   */
  answerNow?(request: Req, ctx: HandlerContext): Reply | undefined;
  /** Reply bytes for one request. Never rejects: failures become protocol error replies. */
  handle(request: Req, ctx: HandlerContext): Promise<Uint8Array>;
}
