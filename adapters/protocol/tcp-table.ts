/**
 * Postfix tcp_table(5): one `get <key>` line per request, one `200|400|500 <text>` line per
 * reply, both `%XX`-encoded, many per connection. The listener's `zone` selects the zone
 * (the protocol carries no map name). Keys and answers are socketmap's: parsePostfixKey and
 * postfixAnswer decide, this file only frames.
 */
import { Buffer } from 'node:buffer';
import type { Decoder, DecodeStep, HandlerContext, ProtocolAdapter } from '../../src/protocol/types.js';
import { hexQuote, hexUnquote } from './hex-quote.js';
import { createLineSplitter, type LineStep } from './line-splitter.js';
import type { AnswerFormatter } from '../../src/lookup.js';
import { lookupPostfixKey, postfixOutcome, warmPostfixDomain, type ReplyLimit } from './postfix-lookup.js';

/**
 * Longest reply line Postfix reads, newline included: "Replies must be no longer than 4096
 * characters including the newline terminator" (tcp_table(5); DICT_TCP_MAXLEN in dict_tcp.c).
 */
export const TCP_TABLE_MAX_REPLY_BYTES = 4096;

/**
 * Longest request line accepted, newline included. tcp_table(5) bounds only replies; Postfix
 * keys are next hops (a domain of at most 253 octets, `%XX`-tripled when not ASCII, plus
 * brackets and a port), far below this. The same bound as replies keeps the rule simple.
 */
export const TCP_TABLE_MAX_REQUEST_BYTES = 4096;

/** Longest 400/500 text we send (before encoding); Postfix only logs it. */
const MAX_TEXT_LENGTH = 512;

const GET = Buffer.from('get ', 'latin1');

/** One decoded request line. */
export type TcpTableRequest =
  /** `get <key>`: the key decoded from `%XX` (bytes that are not UTF-8 become U+FFFD). */
  | { readonly kind: 'get'; readonly key: string }
  /**
   * A complete line that is not a valid request. The stream is still in step (the line
   * ended with a newline), so it is answered `400` and the connection goes on.
   */
  | { readonly kind: 'invalid'; readonly code: TcpTableRequestProblem; readonly detail: string };

/** Why a complete request line was refused (answered 400; listed in docs/errors.md). */
export type TcpTableRequestProblem =
  | 'ETCPTABLE_BAD_COMMAND' // the line does not start with `get ` (tcp_table(5) knows only get)
  | 'ETCPTABLE_BAD_ESCAPE'; // a `%` not followed by two hex digits in the key

/** Stable codes of tcp_table decode errors and log lines (listed in docs/errors.md). */
export type TcpTableLogCode =
  | TcpTableRequestProblem
  | 'ETCPTABLE_TOO_LONG' // request line over TCP_TABLE_MAX_REQUEST_BYTES: answered 400, then closed
  | 'ETCPTABLE_TRUNCATED' // the client closed its side in the middle of a line: closed, no reply
  | 'ETCPTABLE_REPLY_TOO_LARGE' // even the plain answer exceeds 4096 bytes: answered 400
  | 'ETCPTABLE_INTERNAL'; // handle caught an unexpected exception: answered 400

function printableSample(bytes: Uint8Array): string {
  const text = Buffer.from(bytes.subarray(0, 64))
    .toString('latin1')
    .replace(/[^\x20-\x7e]/g, '?');
  return bytes.length > 64 ? `${text}...` : text;
}

/** Classify one complete request line (without its newline). */
export function parseTcpTableLine(line: Uint8Array): TcpTableRequest {
  const bytes = Buffer.from(line.buffer, line.byteOffset, line.byteLength);
  if (bytes.length < GET.length || !bytes.subarray(0, GET.length).equals(GET)) {
    return { kind: 'invalid', code: 'ETCPTABLE_BAD_COMMAND', detail: `not a "get" request: ${JSON.stringify(printableSample(bytes))}` };
  }
  const key = hexUnquote(bytes.subarray(GET.length));
  if (key === undefined) {
    return { kind: 'invalid', code: 'ETCPTABLE_BAD_ESCAPE', detail: `bad %XX escape in ${JSON.stringify(printableSample(bytes))}` };
  }
  return { kind: 'get', key: key.toString('utf8') };
}

/** Reply lines, exactly as tcp_table(5) spells them, text `%XX`-encoded, newline-terminated. */
export const tcpTableReply = {
  found: (data: string): Buffer => Buffer.from(`200 ${hexQuote(data)}\n`, 'latin1'),
  notFound: (text: string): Buffer => Buffer.from(`500 ${hexQuote(cleanText(text))}\n`, 'latin1'),
  error: (text: string): Buffer => Buffer.from(`400 ${hexQuote(cleanText(text))}\n`, 'latin1'),
} as const;

function cleanText(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > MAX_TEXT_LENGTH ? `${clean.slice(0, MAX_TEXT_LENGTH - 3)}...` : clean;
}

/** A fresh per-connection decoder. */
export function newTcpTableDecoder(): Decoder<TcpTableRequest> {
  const lines = createLineSplitter(TCP_TABLE_MAX_REQUEST_BYTES);
  const convert = (steps: readonly LineStep[]): DecodeStep<TcpTableRequest>[] =>
    steps.map((step): DecodeStep<TcpTableRequest> => {
      switch (step.kind) {
        case 'line':
          return { kind: 'request', request: parseTcpTableLine(step.line) };
        case 'too-long':
          // The line's end is unknown, so the stream is out of step: answer this one request
          // (the client waits for exactly one reply to it) and close.
          return {
            kind: 'error',
            code: 'ETCPTABLE_TOO_LONG',
            message: `request line longer than ${step.limit} bytes`,
            reply: tcpTableReply.error('request too long'),
          };
        default: {
          const _never: never = step;
          return _never;
        }
      }
    });
  return {
    push: (chunk) => convert(lines.push(chunk)),
    partial: () => lines.partial(),
    end: () => {
      const rest = lines.end();
      if (rest.length === 0) return [];
      return [{ kind: 'error', code: 'ETCPTABLE_TRUNCATED', message: `stream ended inside a request line after ${rest.length} bytes` }];
    },
  };
}

/** The reply size limit of tcp_table, for postfixOutcome. */
const TCP_TABLE_LIMIT: ReplyLimit = {
  replyBytes: (data) => tcpTableReply.found(data).length,
  maxBytes: TCP_TABLE_MAX_REPLY_BYTES,
};

/**
 * The warm-path formatter: the whole reply line for a fresh cached policy (ASCII: every byte
 * outside printable ASCII is %XX-quoted), or undefined when the answer needs a log line (a
 * reply too large), which only the full path writes.
 */
export const tcpTableWarmReply: AnswerFormatter<string | undefined> = (result) => {
  const outcome = postfixOutcome(result, TCP_TABLE_LIMIT);
  switch (outcome.kind) {
    case 'ok':
      return outcome.degraded === undefined ? tcpTableReply.found(outcome.data).toString('latin1') : undefined;
    case 'notfound':
      return tcpTableReply.notFound(NOT_FOUND_TEXT).toString('latin1');
    case 'temp':
      return tcpTableReply.error(outcome.reason).toString('latin1');
    case 'too-large':
      return undefined;
    default: {
      const _never: never = outcome;
      return _never;
    }
  }
};

/** The text of a 500 reply. */
const NOT_FOUND_TEXT = 'no MTA-STS policy';

async function answer(req: TcpTableRequest, ctx: HandlerContext): Promise<Buffer> {
  const log = ctx.log;
  switch (req.kind) {
    case 'invalid':
      log.warn('tcp_table request refused', { code: req.code, reason: req.detail, outcome: 'error' });
      return tcpTableReply.error(req.code === 'ETCPTABLE_BAD_COMMAND' ? 'only "get" is supported' : 'bad %XX escape in key');
    case 'get':
      break;
    default: {
      const _never: never = req;
      return _never;
    }
  }

  const outcome = await lookupPostfixKey('tcp_table', req.key, ctx.listenerZone, ctx, TCP_TABLE_LIMIT);
  switch (outcome.kind) {
    case 'ok':
      return tcpTableReply.found(outcome.data);
    case 'too-large':
      // 400, not 500: "not found" would silently drop an enforce policy; a temporary error
      // defers the mail and the log says why.
      log.error('tcp_table answer too large for Postfix', {
        code: 'ETCPTABLE_REPLY_TOO_LARGE',
        domain: outcome.domain,
        bytes: outcome.bytes,
        limit: TCP_TABLE_MAX_REPLY_BYTES,
        outcome: 'error',
      });
      return tcpTableReply.error('reply too large');
    case 'notfound':
      return tcpTableReply.notFound(NOT_FOUND_TEXT);
    case 'temp':
      return tcpTableReply.error(outcome.reason);
    default: {
      const _never: never = outcome;
      return _never;
    }
  }
}

/** The tcp_table protocol adapter. */
export const tcpTableAdapter: ProtocolAdapter<TcpTableRequest> = {
  protocol: 'tcp_table',
  oneShot: false,
  maxRequestBytes: TCP_TABLE_MAX_REQUEST_BYTES,
  // One line per request: nothing carries over between requests (src/server/request-memo.ts).
  statelessDecoder: true,
  newDecoder: newTcpTableDecoder,
  abortReply: (reason) => tcpTableReply.error(reason),
  answerNow(req: TcpTableRequest, ctx: HandlerContext): string | undefined {
    if (req.kind !== 'get' || ctx.lookup.cachedAnswer === undefined) return undefined;
    const domain = warmPostfixDomain(req.key);
    if (domain === undefined) return undefined;
    try {
      return ctx.lookup.cachedAnswer(domain, ctx.listenerZone, tcpTableWarmReply);
    } catch {
      return undefined; // the full path answers, and logs whatever went wrong
    }
  },
  async handle(req: TcpTableRequest, ctx: HandlerContext): Promise<Uint8Array> {
    try {
      return await answer(req, ctx);
    } catch (err) {
      try {
        ctx.log.error('tcp_table request failed', {
          code: 'ETCPTABLE_INTERNAL',
          ...(req.kind === 'get' ? { key: req.key } : {}),
          outcome: 'error',
          error: err instanceof Error ? err.message : String(err),
        });
      } catch {
        // A failing logger must not turn into a rejected handle().
      }
      return tcpTableReply.error('internal error');
    }
  },
};
