/**
 * Exim `${readsocket}`: one request line per connection, one reply line, then the server
 * closes (readsocket reads until end-of-file; PROTOCOLS.md §8).
 *
 * Request: `<domain>` or `<zone> <domain>`, fields separated by spaces or tabs, ended by LF
 * (CRLF tolerated) or by the client's half-close: Exim writes the request exactly as given,
 * adds no terminator, and by default shuts down its writing side after it (`shutdown=yes`),
 * so `${readsocket{inet:127.0.0.1:8463}{$domain}}` works as well as `{$domain\n}`.
 * Without a zone, the listener's `zone` (or the default zone) applies. Reply: exim-answer.ts.
 */
import { Buffer } from 'node:buffer';
import type { Decoder, DecodeStep, HandlerContext, ProtocolAdapter } from '../../src/protocol/types.js';
import type { AnswerFormatter } from '../../src/lookup.js';
import { isPlainPolicyDomain, toPolicyDomain } from '../../src/policy/domain.js';
import { eximAnswer, eximText, formatEximAnswer } from './exim-answer.js';
import { createLineSplitter, type LineStep } from './line-splitter.js';

/**
 * Longest request accepted, terminator included. A domain is at most 253 octets as A-labels
 * (RFC 1035 §2.3.4), and as UTF-8 U-labels at most four bytes per character: 1012 bytes; a
 * zone name, a separator and CRLF fit in the rest.
 */
export const EXIM_MAX_REQUEST_BYTES = 2048;

/** One request: already split, not yet validated (handle answers problems with `error`). */
export type EximRequest =
  { readonly kind: 'lookup'; readonly domain: string; readonly zone?: string } | { readonly kind: 'invalid'; readonly detail: string };

/** Stable codes in Exim adapter decode errors and log lines (listed in docs/errors.md). */
export type EximLogCode =
  | 'EEXIM_BAD_REQUEST' // empty request or more than two fields: answered `error ...`
  | 'EEXIM_TOO_LONG' // request over EXIM_MAX_REQUEST_BYTES: answered `error ...`, closed
  | 'EEXIM_INTERNAL'; // handle caught an unexpected exception: answered `defer internal error`

/** Split one request line (without terminator). Bytes that are not UTF-8 become U+FFFD. */
export function parseEximRequest(line: Uint8Array): EximRequest {
  const text = Buffer.from(line.buffer, line.byteOffset, line.byteLength).toString('utf8');
  const fields = text.split(/[ \t]+/).filter((f) => f !== '');
  switch (fields.length) {
    case 0:
      return { kind: 'invalid', detail: 'empty request' };
    case 1:
      return { kind: 'lookup', domain: fields[0] as string };
    case 2:
      return { kind: 'lookup', zone: fields[0] as string, domain: fields[1] as string };
    default:
      return { kind: 'invalid', detail: `expected "<domain>" or "<zone> <domain>", got ${fields.length} fields` };
  }
}

/** A fresh per-connection decoder: yields at most one request. */
export function newEximDecoder(): Decoder<EximRequest> {
  const lines = createLineSplitter(EXIM_MAX_REQUEST_BYTES);
  let done = false;
  const convert = (steps: readonly LineStep[]): DecodeStep<EximRequest>[] => {
    const first = steps[0];
    if (done || first === undefined) return [];
    done = true;
    switch (first.kind) {
      case 'line':
        return [{ kind: 'request', request: parseEximRequest(first.line) }];
      case 'too-long':
        return [
          {
            kind: 'error',
            code: 'EEXIM_TOO_LONG',
            message: `request longer than ${first.limit} bytes`,
            reply: Buffer.from('error request too long\n', 'latin1'),
          },
        ];
      default: {
        const _never: never = first;
        return _never;
      }
    }
  };
  return {
    push: (chunk) => convert(lines.push(chunk)),
    partial: () => !done && lines.partial(),
    end: () => {
      if (done) return [];
      const rest = lines.end();
      done = true;
      // Nothing at all: a connect-and-close (a port probe), not a request.
      return rest.length === 0 ? [] : [{ kind: 'request', request: parseEximRequest(rest) }];
    },
  };
}

async function answer(req: EximRequest, ctx: HandlerContext): Promise<string> {
  const log = ctx.log;
  switch (req.kind) {
    case 'invalid':
      log.warn('exim request refused', { code: 'EEXIM_BAD_REQUEST', reason: req.detail, outcome: 'error' });
      return `error ${eximText(req.detail)}\n`;
    case 'lookup':
      break;
    default: {
      const _never: never = req;
      return _never;
    }
  }
  const zoneName = req.zone ?? ctx.listenerZone;
  // U+FFFD is what invalid UTF-8 decoded to: never guess a domain from broken bytes.
  const checked = req.domain.includes('\uFFFD')
    ? ({ ok: false, code: 'EDOMAIN_INVALID', message: 'domain is not valid UTF-8' } as const)
    : toPolicyDomain(req.domain);
  if (!checked.ok) {
    // An IP literal or a name that is no domain has no policy: deliver as usual.
    log.info('exim request is not a policy domain', {
      key: req.domain,
      zone: zoneName,
      code: checked.code,
      reason: checked.message,
      outcome: 'none',
    });
    return 'none\n';
  }
  const result = await ctx.lookup.lookup(checked.domain, zoneName);
  const ans = eximAnswer(result);
  log.debug('exim answer', {
    domain: checked.domain,
    key: req.domain,
    zone: result.zoneName,
    resolution: result.resolution.kind,
    outcome: ans.kind,
  });
  return formatEximAnswer(ans);
}

/**
 * The warm-path formatter: the reply line for a fresh cached policy. Replies are written as
 * Latin-1 on the full path; a line that is not ASCII (never, in practice) is left to it.
 */
export const eximWarmReply: AnswerFormatter<string | undefined> = (result) => {
  const line = formatEximAnswer(eximAnswer(result));
  return ASCII_ONLY.test(line) ? line : undefined;
};

const ASCII_ONLY = /^[\x00-\x7f]*$/;

/** The Exim `${readsocket}` protocol adapter. */
export const eximAdapter: ProtocolAdapter<EximRequest> = {
  protocol: 'exim',
  oneShot: true,
  maxRequestBytes: EXIM_MAX_REQUEST_BYTES,
  newDecoder: newEximDecoder,
  abortReply: (reason) => Buffer.from(`defer ${eximText(reason)}\n`, 'latin1'),
  answerNow(req: EximRequest, ctx: HandlerContext): string | undefined {
    if (req.kind !== 'lookup' || ctx.lookup.cachedAnswer === undefined || !isPlainPolicyDomain(req.domain)) return undefined;
    try {
      return ctx.lookup.cachedAnswer(req.domain, req.zone ?? ctx.listenerZone, eximWarmReply);
    } catch {
      return undefined; // the full path answers, and logs whatever went wrong
    }
  },
  async handle(req: EximRequest, ctx: HandlerContext): Promise<Uint8Array> {
    let line: string;
    try {
      line = await answer(req, ctx);
    } catch (err) {
      try {
        ctx.log.error('exim request failed', {
          code: 'EEXIM_INTERNAL',
          ...(req.kind === 'lookup' ? { key: req.domain } : {}),
          outcome: 'defer',
          error: err instanceof Error ? err.message : String(err),
        });
      } catch {
        // A failing logger must not turn into a rejected handle().
      }
      line = 'defer internal error\n';
    }
    return Buffer.from(line, 'latin1');
  },
};
