/**
 * A LookupResult -> the one line an Exim `${readsocket}` reads. Pure and deterministic.
 *
 * Reply grammar (one line, fields separated by one space; the server then closes):
 *   enforce <regex> <patterns>   deliver only over verified TLS to MX hosts matching <regex>
 *   testing <regex> <patterns>   RFC 8461 §5 testing: deliver as usual (informational)
 *   none                         no usable policy (or mode none): deliver as usual
 *   defer <reason>               do not deliver now (DNS error in a `dns_error: temp` zone, or
 *                                an enforce policy without one usable mx pattern)
 *   error <reason>               the request itself was malformed (written by exim.ts)
 * Field 1 is for a router `condition` (`${extract{1}{ }{...}}`); field 2 for
 * `${if match{$host}{${extract{2}{ }{...}}}}` in the transport's `tcp:connect` event_action;
 * field 3 (the policy's own `mx:` patterns, colon-separated) for log and error messages.
 *
 * Why a regex and not an Exim domain list: Exim's `*.example.com` list item is a suffix match
 * of any depth (spec "Domain lists": "the remaining characters of the pattern are compared with
 * the terminating characters of the domain"), broader than RFC 8461 §4.1's exactly one label,
 * and `match_domain` does not expand its list argument ("the second arg is NOT expanded, for
 * security reasons"), so a list read from a socket cannot be used there. `${if match}` expands
 * both arguments. The regex is anchored and caseless (`(?i)`: host names compare caselessly);
 * `*.example.com` becomes `[^.]+\.example\.com`: exactly one more label.
 */
import { failedSideName } from '../../src/dane/types.js';
import { isValidAsciiDomain } from '../../src/policy/domain.js';
import type { LookupResult } from '../../src/lookup.js';
import { verdictOf } from '../../src/verdict.js';

export type EximAnswer =
  /** `mx`: the policy's clean patterns (never empty), lower-case, in policy order. */
  | { readonly kind: 'enforce'; readonly mx: readonly string[] }
  | { readonly kind: 'testing'; readonly mx: readonly string[] }
  | { readonly kind: 'none' }
  /** DANE applies: the shipped config skips its MTA-STS checks and relies on `hosts_require_dane`. */
  | { readonly kind: 'dane' }
  | { readonly kind: 'defer'; readonly reason: string };

/** Printable ASCII only: a reason must not end the line or smuggle another field. */
export function eximText(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?');
}

/** A policy `mx:` pattern, lower-cased, or undefined when it is not a clean A-label pattern. */
export function cleanMxPattern(pattern: string): string | undefined {
  const p = pattern.toLowerCase();
  return isValidAsciiDomain(p.startsWith('*.') ? p.slice(2) : p) ? p : undefined;
}

/** The anchored, caseless PCRE that matches exactly the host names `patterns` allow (RFC 8461 §4.1). */
export function eximMxRegex(patterns: readonly string[]): string {
  const alternatives = patterns.map((p) => {
    const wildcard = p.startsWith('*.');
    const base = (wildcard ? p.slice(2) : p).replaceAll('.', '\\.');
    return wildcard ? `[^.]+\\.${base}` : base;
  });
  return `(?i)^(?:${alternatives.join('|')})$`;
}

/** Clean patterns only, de-duplicated, in policy order. Dropping one only narrows the accepted hosts. */
function mxList(patterns: readonly string[]): string[] {
  const items: string[] = [];
  for (const p of patterns) {
    const item = cleanMxPattern(p);
    if (item !== undefined && !items.includes(item)) items.push(item);
  }
  return items;
}

function enforceAnswer(domain: string, patterns: readonly string[]): EximAnswer {
  const mx = mxList(patterns);
  // Never an empty list: enforce with nothing to match defers rather than downgrades.
  return mx.length > 0
    ? { kind: 'enforce', mx }
    : { kind: 'defer', reason: eximText(`MTA-STS policy for ${domain} has no usable mx pattern`) };
}

/** The answer for one lookup result: the shared verdict in Exim's reply form. */
export function eximAnswer(result: LookupResult): EximAnswer {
  const verdict = verdictOf(result);
  switch (verdict.kind) {
    case 'enforce':
      return enforceAnswer(verdict.domain, verdict.policy.mx);
    case 'testing': {
      const mx = mxList(verdict.policy.mx);
      return mx.length > 0 ? { kind: 'testing', mx } : { kind: 'none' };
    }
    case 'none':
      return { kind: 'none' };
    case 'dns-temp':
      return {
        kind: 'defer',
        reason: eximText(`${failedSideName(verdict.code)} DNS lookup failed for ${verdict.domain} (${verdict.code})`),
      };
    case 'dane':
      // One form for both levels: Exim's hosts_require_dane has no dane-only distinction.
      return { kind: 'dane' };
    default: {
      const _never: never = verdict;
      return _never;
    }
  }
}

/** The reply line for an answer, newline included. */
export function formatEximAnswer(answer: EximAnswer): string {
  switch (answer.kind) {
    case 'enforce':
    case 'testing':
      return `${answer.kind} ${eximMxRegex(answer.mx)} ${answer.mx.join(':')}\n`;
    case 'none':
      return 'none\n';
    case 'dane':
      return 'dane\n';
    case 'defer':
      return `defer ${eximText(answer.reason)}\n`;
    default: {
      const _never: never = answer;
      return _never;
    }
  }
}
