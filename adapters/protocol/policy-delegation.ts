/**
 * Postfix SMTPD policy delegation (SMTPD_POLICY_README) as a cache warmer: at `RCPT` the
 * recipient's domain is handed to the background warm-up, and the answer is always an
 * immediate `action=DUNNO` (no opinion). Delivery never waits for DNS or HTTPS here, and a
 * full queue or a failed resolution never changes the answer.
 *
 * Postfix: `smtpd_recipient_restrictions = ..., check_policy_service inet:127.0.0.1:8462, ...`
 * (see docs/protocols.md, "Postfix policy delegation").
 */
import type { HandlerContext, ProtocolAdapter } from '../../src/protocol/types.js';
import {
  POLICY_MAX_REQUEST_BYTES,
  POLICY_REPLY_DUNNO,
  encodePolicyReply,
  newPolicyDecoder,
  type PolicyRequest,
} from './policy-attributes.js';
import { recipientDomain } from './policy-recipient.js';

export { POLICY_MAX_ATTRIBUTES, POLICY_MAX_LINE_BYTES, POLICY_MAX_REQUEST_BYTES } from './policy-attributes.js';
export type { PolicyDecodeErrorCode, PolicyRequest } from './policy-attributes.js';

/** Stable codes in policy delegation log lines (listed in docs/errors.md). */
export type PolicyDelegationLogCode =
  | 'EDELEGATION_UNKNOWN_REQUEST' // `request=` other than smtpd_access_policy: answered DUNNO, nothing warmed
  | 'EDELEGATION_INTERNAL'; // handle caught an unexpected exception: answered DUNNO

/** The request type the SMTP server sends (SMTPD_POLICY_README "Protocol description"). */
export const SMTPD_ACCESS_POLICY = 'smtpd_access_policy';

/** The protocol state in which the recipient is known and final for this request. */
export const RCPT_STATE = 'RCPT';

const DUNNO = encodePolicyReply('DUNNO');

/** What the handler decided for one request; returned for tests and logged at debug level. */
export type PolicyDecision =
  | { readonly kind: 'ignored'; readonly reason: 'not-rcpt' | 'unknown-request' }
  | { readonly kind: 'skipped'; readonly reason: string; readonly detail: string }
  | { readonly kind: 'warm'; readonly domain: string; readonly outcome: string };

/** Decide (and start) the warm-up for one request. Never throws on its own account. */
export function warmForRequest(req: PolicyRequest, ctx: HandlerContext): PolicyDecision {
  // Postfix always sends `request`; a request without it is still read as the SMTP server's.
  if (req.request !== undefined && req.request !== SMTPD_ACCESS_POLICY) {
    ctx.log.warn('policy delegation request of an unknown type; answered DUNNO', {
      code: 'EDELEGATION_UNKNOWN_REQUEST',
      request: req.request,
    });
    return { kind: 'ignored', reason: 'unknown-request' };
  }
  if (req.protocolState?.toUpperCase() !== RCPT_STATE) return { kind: 'ignored', reason: 'not-rcpt' };
  const found = recipientDomain(req.recipient ?? '');
  switch (found.kind) {
    case 'skip':
      return { kind: 'skipped', reason: found.reason, detail: found.detail };
    case 'domain':
      break;
    default: {
      const _never: never = found;
      return _never;
    }
  }
  const outcome = ctx.warm === undefined ? 'no-warmer' : ctx.warm.enqueue(found.domain, ctx.listenerZone);
  return { kind: 'warm', domain: found.domain, outcome };
}

/** The policy delegation protocol adapter. */
export const policyDelegationAdapter: ProtocolAdapter<PolicyRequest> = {
  protocol: 'policy',
  // SMTPD_POLICY_README: the SMTP server keeps the connection for many requests.
  oneShot: false,
  maxRequestBytes: POLICY_MAX_REQUEST_BYTES,
  newDecoder: newPolicyDecoder,
  // The answer is always "no opinion"; an unfinished request gets it too.
  abortReply: () => DUNNO,
  // Every request is answered at once: the warm path is the only path.
  answerNow: (req: PolicyRequest, ctx: HandlerContext): Uint8Array => answerPolicyRequest(req, ctx),
  handle: (req: PolicyRequest, ctx: HandlerContext): Promise<Uint8Array> => Promise.resolve(answerPolicyRequest(req, ctx)),
};

/** DUNNO, after starting the warm-up the request asks for. Never throws. */
function answerPolicyRequest(req: PolicyRequest, ctx: HandlerContext): Uint8Array {
  try {
    const decision = warmForRequest(req, ctx);
    if (ctx.log.isLevelEnabled('debug')) {
      ctx.log.debug('policy delegation answer', {
        state: req.protocolState ?? '',
        recipient: req.recipient ?? '',
        instance: req.instance ?? '',
        decision: decision.kind,
        ...(decision.kind === 'warm' ? { domain: decision.domain, warm: decision.outcome } : { reason: decision.reason }),
        outcome: 'DUNNO',
      });
    }
  } catch (err) {
    try {
      ctx.log.error('policy delegation request failed', {
        code: 'EDELEGATION_INTERNAL',
        recipient: req.recipient ?? '',
        outcome: 'DUNNO',
        error: err instanceof Error ? err.message : String(err),
      });
    } catch {
      // A failing logger must not turn into a rejected handle().
    }
  }
  return DUNNO;
}

export { POLICY_REPLY_DUNNO };
