/**
 * A LookupResult -> what Postfix's smtp_tls_policy_maps should hear. Pure and deterministic
 * byte for byte: same result, same string. Protocol framing (socketmap, tcp_table) is elsewhere.
 *
 * Answer syntax (postconf(5) smtp_tls_policy_maps, TLS_README "secure" level):
 *   `secure match=<p1>:<p2>... [servername=hostname]`
 * Postfix 3.10 MTA-STS attributes (TLSRPT_README, "MTA-STS Support via smtp_tls_policy_maps"):
 *   `policy_type=sts policy_domain=<name> mx_host_pattern=<pattern>... { policy_string = <value> }...`
 *   "Specify one mx_host_pattern instance for each "mx:" feature", in the policy's own form
 *   (`mx_host_pattern=*.example.net`); "Specify one policy_string instance for each MTA-STS
 *   policy feature, enclosed inside "{" and "}" to protect whitespace"; "This form ignores
 *   whitespace after the opening "{", around the "=", and before the closing "}"."
 *   "It is an error to specify these attributes for a non-STS policy", so they only ever follow
 *   `secure` built from an STS policy here. Postfix 3.9 and older reject them: opt-in (zone.tlsrpt).
 */
import { failedSideName } from '../../src/dane/types.js';
import { isValidAsciiDomain } from '../../src/policy/domain.js';
import type { LookupResult } from '../../src/lookup.js';
import type { StsPolicy } from '../../src/policy/types.js';
import { verdictOf } from '../../src/verdict.js';

/** What to tell Postfix. */
export type PostfixAnswer =
  /** `data`: the full answer; `plainData`: the same without the Postfix 3.10 attributes. */
  | { readonly kind: 'ok'; readonly data: string; readonly plainData: string }
  | { readonly kind: 'notfound' }
  | { readonly kind: 'temp'; readonly reason: string };

/** Why a policy line is left out of the `{ policy_string = ... }` attributes. */
export type PolicyStringOmission = 'brace' | 'control-character' | 'edge-whitespace';

/**
 * Whether `key: value` can travel inside `{ policy_string = ... }` unchanged.
 * - `{` or `}` would end or unbalance Postfix's brace grouping (the rest of the answer would be
 *   misparsed: a policy file must never be able to inject attributes).
 * - Control characters (CR, LF, TAB, ...) are attribute separators or worse on this wire.
 * - Whitespace at the value's edges would be stripped by Postfix ("ignores whitespace ... before
 *   the closing }"), so the TLSRPT report would carry a string that is not the policy's line.
 * Such a line is omitted, not altered: a TLSRPT policy-string is informational, and a
 * missing line is better than a wrong one. The policy parser should never produce such lines.
 */
export function policyStringProblem(key: string, value: string): PolicyStringOmission | undefined {
  const text = key + value;
  if (/[{}]/.test(text)) return 'brace';
  if (/[\u0000-\u001f\u007f]/.test(text)) return 'control-character';
  if (key.length === 0 || /^\s|\s$/.test(key) || /^\s|\s$/.test(value)) return 'edge-whitespace';
  return undefined;
}

/** `*.x` or `x`, lower-case A-labels: the only shapes safe in `match=` and `mx_host_pattern=`. */
function isSafePattern(pattern: string): boolean {
  return isValidAsciiDomain(pattern.startsWith('*.') ? pattern.slice(2) : pattern);
}

function dedupe(items: readonly string[]): string[] {
  return [...new Set(items)];
}

/** Printable ASCII only, so a reason can't break the reply line. */
function sanitizeText(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?');
}

function secureAnswer(domain: string, policy: StsPolicy, requireSni: boolean, tlsrpt: boolean): PostfixAnswer {
  // The parser yields lower-case A-labels; re-checking keeps a bad value from ever reaching
  // Postfix's syntax. Dropping a pattern only narrows the set of accepted MX hosts.
  const patterns = dedupe(policy.mx.map((p) => p.toLowerCase()).filter(isSafePattern));
  if (patterns.length === 0) {
    // Never an empty `match=`; an enforce policy matching no MX host defers rather than downgrades.
    return { kind: 'temp', reason: sanitizeText(`MTA-STS policy for ${domain} has no usable mx pattern`) };
  }
  // Postfix writes "any subdomain of x" as `.x` (broader than `*.x`, which allows one label;
  // mx_host_pattern below restores exactness on Postfix 3.10.5+).
  const match = dedupe(patterns.map((p) => (p.startsWith('*.') ? p.slice(1) : p)));
  const plain = `secure match=${match.join(':')}${requireSni ? ' servername=hostname' : ''}`;
  if (!tlsrpt) return { kind: 'ok', data: plain, plainData: plain };

  const parts = [plain, 'policy_type=sts', `policy_domain=${domain}`];
  for (const p of patterns) parts.push(`mx_host_pattern=${p}`);
  for (const [key, value] of policy.lines) {
    if (policyStringProblem(key, value) !== undefined) continue;
    parts.push(`{ policy_string = ${value === '' ? `${key}:` : `${key}: ${value}`} }`);
  }
  return { kind: 'ok', data: parts.join(' '), plainData: plain };
}

/** The answer for one lookup result: the shared verdict in Postfix's syntax. */
export function postfixAnswer(result: LookupResult): PostfixAnswer {
  const verdict = verdictOf(result);
  switch (verdict.kind) {
    case 'enforce':
      return secureAnswer(verdict.domain, verdict.policy, result.zone.requireSni, result.zone.tlsrpt);
    case 'testing':
    case 'none':
      return { kind: 'notfound' };
    case 'dns-temp':
      return {
        kind: 'temp',
        reason: sanitizeText(`${failedSideName(verdict.code)} DNS lookup failed for ${verdict.domain} (${verdict.code})`),
      };
    case 'dane':
      // DANE wins (RFC 8461 §2): the bare level, never STS attributes (Postfix 3.10 accepts
      // `policy_type=sts ...` on STS policies only and reports DANE results itself).
      return { kind: 'ok', data: verdict.level, plainData: verdict.level };
    default: {
      const _never: never = verdict;
      return _never;
    }
  }
}
