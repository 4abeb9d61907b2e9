/**
 * The part of a Postfix table lookup that socketmap and tcp_table share: key rules, the lookup,
 * the answer, and the fall-back from the TLSRPT form to the plain form when the reply would be
 * too large for the protocol. Each adapter only frames the outcome in its own reply syntax.
 */
import type { LookupResult } from '../../src/lookup.js';
import { isPlainPolicyDomain } from '../../src/policy/domain.js';
import type { HandlerContext } from '../../src/protocol/types.js';
import { postfixAnswer } from './postfix-answer.js';
import { parsePostfixKey } from './postfix-key.js';

/** What a Postfix key comes to, before framing. */
export type PostfixLookupOutcome =
  /**
   * A found answer whose reply fits the protocol's limit (the TLSRPT form, else the plain one;
   * `degraded` then holds the size in bytes of the TLSRPT form's reply that did not fit).
   */
  | { readonly kind: 'ok'; readonly domain: string; readonly data: string; readonly degraded?: number }
  /** Even the plain answer's reply exceeds the limit. */
  | { readonly kind: 'too-large'; readonly domain: string; readonly bytes: number }
  /** No policy applies, or the key needs no lookup (parent domain, IP literal, invalid name). */
  | { readonly kind: 'notfound' }
  | { readonly kind: 'temp'; readonly reason: string };

export interface ReplyLimit {
  /** Size in bytes of the protocol's reply for `data`. */
  readonly replyBytes: (data: string) => number;
  readonly maxBytes: number;
}

/**
 * Look up a Postfix table key in `zoneName` and choose the answer form that fits `limit`.
 * `protocol` names the adapter in log messages (`socketmap`, `tcp_table`).
 */
export async function lookupPostfixKey(
  protocol: string,
  key: string,
  zoneName: string | undefined,
  ctx: HandlerContext,
  limit: ReplyLimit,
): Promise<PostfixLookupOutcome> {
  const log = ctx.log;
  const parsed = parsePostfixKey(key);
  switch (parsed.kind) {
    case 'skip': {
      const fields = { key, zone: zoneName, outcome: 'notfound', reason: parsed.reason, detail: parsed.detail };
      switch (parsed.reason) {
        case 'parent-domain':
        case 'ip-literal':
          // Routine: Postfix probes parent suffixes after every miss, and IP next hops exist.
          log.debug(`${protocol} key needs no MTA-STS lookup`, fields);
          break;
        case 'invalid':
          log.info(`${protocol} key is not a domain name`, fields);
          break;
        default: {
          const _never: never = parsed.reason;
          return _never;
        }
      }
      return { kind: 'notfound' };
    }
    case 'domain':
      break;
    default: {
      const _never: never = parsed;
      return _never;
    }
  }

  const result = await ctx.lookup.lookup(parsed.domain, zoneName);
  const outcome = postfixOutcome(result, limit);
  log.debug(`${protocol} answer`, {
    domain: parsed.domain,
    key,
    zone: result.zoneName,
    resolution: result.resolution.kind,
    outcome: outcome.kind,
  });
  if (outcome.kind === 'ok' && outcome.degraded !== undefined) {
    log.warn(`${protocol} answer too large with TLSRPT attributes; sent the plain answer`, {
      domain: outcome.domain,
      bytes: outcome.degraded,
      limit: limit.maxBytes,
    });
  }
  return outcome;
}

/**
 * The outcome of a lookup result under `limit`: the TLSRPT form when it fits, else the plain
 * form (`degraded`: the size of the form that did not fit), else too large. Pure: the slow path
 * logs what it means, the warm path keeps it with the cached policy.
 */
export function postfixOutcome(result: LookupResult, limit: ReplyLimit): PostfixLookupOutcome {
  const ans = postfixAnswer(result);
  const domain = result.resolution.domain;
  switch (ans.kind) {
    case 'ok': {
      const full = limit.replyBytes(ans.data);
      if (full <= limit.maxBytes) return { kind: 'ok', domain, data: ans.data };
      const plain = limit.replyBytes(ans.plainData);
      if (plain <= limit.maxBytes) return { kind: 'ok', domain, data: ans.plainData, degraded: full };
      return { kind: 'too-large', domain, bytes: plain };
    }
    case 'notfound':
      return { kind: 'notfound' };
    case 'temp':
      return { kind: 'temp', reason: ans.reason };
    default: {
      const _never: never = ans;
      return _never;
    }
  }
}

/**
 * The key of a warm-path lookup: the key itself when it is already a policy domain
 * (isPlainPolicyDomain), else undefined and the request takes the full path (parsePostfixKey).
 */
export function warmPostfixDomain(key: string): string | undefined {
  return isPlainPolicyDomain(key) ? key : undefined;
}
