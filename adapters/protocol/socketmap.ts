/**
 * Postfix/Sendmail socketmap (socketmap_table(5)): one netstring request `<name> <key>`, one
 * netstring reply, many per connection. The map name selects the zone.
 */
import { Buffer } from 'node:buffer';
import type { Decoder, DecodeStep, HandlerContext, ProtocolAdapter } from '../../src/protocol/types.js';
import { SOCKETMAP_MAX_REPLY_BYTES, SOCKETMAP_MAX_REQUEST_BYTES, createNetstringDecoder, encodeNetstring } from './netstring.js';
import type { NetstringStep } from './netstring.js';
import type { AnswerFormatter } from '../../src/lookup.js';
import { lookupPostfixKey, postfixOutcome, warmPostfixDomain, type ReplyLimit } from './postfix-lookup.js';

export { SOCKETMAP_MAX_REPLY_BYTES, SOCKETMAP_MAX_REQUEST_BYTES } from './netstring.js';

/**
 * One decoded request. Either part may be empty (a payload with no space or nothing after it):
 * `handle` answers those with PERM. Bytes that are not UTF-8 decode to U+FFFD.
 */
export interface SocketmapRequest {
  readonly mapName: string;
  readonly key: string;
}

/** Stable codes in socketmap log lines (listed in docs/errors.md). */
export type SocketmapLogCode =
  | 'ESOCKETMAP_BAD_REQUEST' // empty map name or key: answered PERM
  | 'ESOCKETMAP_REPLY_TOO_LARGE' // even the plain answer exceeds 100,000 bytes: answered PERM
  | 'ESOCKETMAP_INTERNAL'; // handle caught an unexpected exception: answered TEMP

const SPACE = 0x20;

/** Longest TEMP/PERM reason we send; Postfix only logs it. */
const MAX_REASON_LENGTH = 512;

/** Bytes of the largest request on the wire: `10000:` + payload + `,`. */
const MAX_REQUEST_WIRE_BYTES = String(SOCKETMAP_MAX_REQUEST_BYTES).length + 1 + SOCKETMAP_MAX_REQUEST_BYTES + 1;

/** The request in `bytes[start, end)`, split at its first space; read in place (a PayloadReader). */
export function readSocketmapRequest(bytes: Buffer, start: number, end: number): SocketmapRequest {
  let space = start;
  while (space < end && bytes[space] !== SPACE) space += 1;
  if (space === end) return { mapName: bytes.toString('utf8', start, end), key: '' };
  return { mapName: bytes.toString('utf8', start, space), key: bytes.toString('utf8', space + 1, end) };
}

/** Split a request payload at its first space. */
export function parseSocketmapPayload(payload: Buffer): SocketmapRequest {
  return readSocketmapRequest(payload, 0, payload.length);
}

/** A fresh per-connection decoder. */
export function newSocketmapDecoder(): Decoder<SocketmapRequest> {
  const netstrings = createNetstringDecoder(SOCKETMAP_MAX_REQUEST_BYTES, readSocketmapRequest);
  const convert = (steps: readonly NetstringStep<SocketmapRequest>[]): DecodeStep<SocketmapRequest>[] =>
    steps.map((step): DecodeStep<SocketmapRequest> => {
      switch (step.kind) {
        case 'payload':
          return { kind: 'request', request: step.payload };
        case 'error':
          // No reply: the stream is out of step, so no reply could be matched to a request.
          return { kind: 'error', code: step.code, message: step.message };
        default: {
          const _never: never = step;
          return _never;
        }
      }
    });
  return {
    push: (chunk) => convert(netstrings.push(chunk)),
    end: () => convert(netstrings.end()),
    partial: () => netstrings.partial(),
  };
}

function reasonText(reason: string): string {
  const clean = reason.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > MAX_REASON_LENGTH ? `${clean.slice(0, MAX_REASON_LENGTH - 3)}...` : clean;
}

/** Reply payloads, exactly as socketmap_table(5) spells them. */
export const socketmapReply = {
  ok: (data: string): string => `OK ${data}`,
  /** With the space: socketmap_table(5) "NOTFOUND <space>". */
  notfound: (): string => 'NOTFOUND ',
  temp: (reason: string): string => `TEMP ${reasonText(reason)}`,
  perm: (reason: string): string => `PERM ${reasonText(reason)}`,
} as const;

async function answer(req: SocketmapRequest, ctx: HandlerContext): Promise<string> {
  const log = ctx.log;
  if (req.mapName === '' || req.key === '') {
    const reason = req.mapName === '' ? 'missing map name' : 'missing key';
    log.warn('socketmap request without map name or key', {
      code: 'ESOCKETMAP_BAD_REQUEST',
      mapName: req.mapName,
      key: req.key,
      outcome: 'perm',
      reason,
    });
    return socketmapReply.perm(reason);
  }

  const outcome = await lookupPostfixKey('socketmap', req.key, req.mapName, ctx, SOCKETMAP_LIMIT);
  switch (outcome.kind) {
    case 'ok':
      return socketmapReply.ok(outcome.data);
    case 'too-large':
      log.error('socketmap answer too large for Postfix', {
        code: 'ESOCKETMAP_REPLY_TOO_LARGE',
        domain: outcome.domain,
        bytes: outcome.bytes,
        limit: SOCKETMAP_MAX_REPLY_BYTES,
        outcome: 'perm',
      });
      return socketmapReply.perm('reply too large');
    case 'notfound':
      return socketmapReply.notfound();
    case 'temp':
      return socketmapReply.temp(outcome.reason);
    default: {
      const _never: never = outcome;
      return _never;
    }
  }
}

/** The reply size limit of socketmap, for postfixOutcome. */
const SOCKETMAP_LIMIT: ReplyLimit = {
  replyBytes: (data) => Buffer.byteLength(socketmapReply.ok(data), 'utf8'),
  maxBytes: SOCKETMAP_MAX_REPLY_BYTES,
};

/** `payload` framed as a netstring, as a string (the warm path keeps these). */
function netstringText(payload: string): string {
  return `${Buffer.byteLength(payload, 'utf8')}:${payload},`;
}

/**
 * The warm-path formatter: the whole reply for a fresh cached policy, or undefined when the
 * answer needs a log line (a reply too large), which only the full path writes.
 */
export const socketmapWarmReply: AnswerFormatter<string | undefined> = (result) => {
  const outcome = postfixOutcome(result, SOCKETMAP_LIMIT);
  switch (outcome.kind) {
    case 'ok':
      return outcome.degraded === undefined ? netstringText(socketmapReply.ok(outcome.data)) : undefined;
    case 'notfound':
      return netstringText(socketmapReply.notfound());
    case 'temp':
      return netstringText(socketmapReply.temp(outcome.reason));
    case 'too-large':
      return undefined;
    default: {
      const _never: never = outcome;
      return _never;
    }
  }
};

/** The socketmap protocol adapter. */
export const socketmapAdapter: ProtocolAdapter<SocketmapRequest> = {
  protocol: 'socketmap',
  oneShot: false,
  maxRequestBytes: MAX_REQUEST_WIRE_BYTES,
  // One netstring per request: nothing carries over between requests (src/server/request-memo.ts).
  statelessDecoder: true,
  newDecoder: newSocketmapDecoder,
  // Postfix reads it as the answer to the request it is still sending: TEMP, so mail defers.
  abortReply: (reason) => encodeNetstring(socketmapReply.temp(reason)),
  answerNow(req: SocketmapRequest, ctx: HandlerContext): string | undefined {
    const domain = warmPostfixDomain(req.key);
    if (domain === undefined || req.mapName === '' || ctx.lookup.cachedAnswer === undefined) return undefined;
    try {
      return ctx.lookup.cachedAnswer(domain, req.mapName, socketmapWarmReply);
    } catch {
      return undefined; // the full path answers, and logs whatever went wrong
    }
  },
  async handle(req: SocketmapRequest, ctx: HandlerContext): Promise<Uint8Array> {
    try {
      return encodeNetstring(await answer(req, ctx));
    } catch (err) {
      try {
        ctx.log.error('socketmap request failed', {
          code: 'ESOCKETMAP_INTERNAL',
          mapName: req.mapName,
          key: req.key,
          outcome: 'temp',
          error: err instanceof Error ? err.message : String(err),
        });
      } catch {
        // A failing logger must not turn into a rejected handle().
      }
      return encodeNetstring(socketmapReply.temp('internal error'));
    }
  },
};
