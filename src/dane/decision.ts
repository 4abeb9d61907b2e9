/**
 * The decision: a DANE finding and the MTA-STS verdict, per the zone's settings. Pure.
 *
 * | finding | answer |
 * |---|---|
 * | every MX host has a validated usable TLSA RRset | DANE at the zone's `dane_level`, never `secure match=` (RFC 8461 §2: DANE wins) |
 * | mixed: some MX hosts with, some without | MTA-STS when its verdict enforces; otherwise `dane` (see below) |
 * | no DANE: unsigned, validated absence, no usable TLSA | the MTA-STS verdict as it is |
 * | failed, local fault | temporary failure, always |
 * | failed, remote (bogus → SERVFAIL, timeout) | `dane_lookup_failure`: `temp` (default) or the MTA-STS verdict |
 *
 * The mixed case. Postfix's `dane` level uses DANE for the hosts with TLSA records and plain
 * opportunistic TLS (`may`) for the others; an attacker who blocks the DANE hosts then gets the
 * mail in clear through the others. `secure match=` keeps every host authenticated by WebPKI,
 * at the price of the DANE hosts losing DANE (and failing if their certificate is not a WebPKI
 * one, so the mail goes to the other hosts). With an enforced MTA-STS policy the domain has
 * promised WebPKI certificates on every listed MX, so the uniform, enforced STS check is the
 * stronger choice. Without one (testing, none, no policy), nothing enforces anything on the
 * non-DANE hosts anyway, and `dane` adds DANE where it exists: what Postfix does on its own at
 * `smtp_tls_security_level = dane`. `dane-only` is never used for a mixed domain: it would make
 * the hosts without TLSA unusable and defer mail the domain's own DNS says is deliverable.
 *
 * The `dane_lookup_failure` default, `temp`: RFC 7672 §2.2 requires that a DANE client never
 * treats a bogus or indeterminate DNS answer as an absence of TLSA records (that would let an
 * attacker who can break DNSSEC answers downgrade the destination), and that it treats such a
 * failure of the MX lookup as a temporary error and a host whose TLSA lookup fails as
 * unusable. Postfix at `smtp_dns_support_level = dnssec` does the same with no policy map at
 * all; a map answering `secure match=` instead would make the daemon weaker than Postfix alone.
 * `sts` is the opt-out for those who prefer delivery under MTA-STS while a remote zone is
 * broken (postfix-tlspol's users' complaint); it never applies to local faults.
 */
import type { Verdict } from '../verdict.js';
import type { DaneDnsErrorCode, DaneFinding, FaultSide, NoDaneReason } from './types.js';

/** Zone key `dane_level`: `dane` falls back where Postfix has no DNSSEC; `dane-only` defers. */
export type DaneLevel = 'dane' | 'dane-only';
/** Zone key `dane_lookup_failure`. */
export type DaneLookupFailure = 'temp' | 'sts';

/** The DANE settings of a zone. */
export interface DaneSettings {
  /** Zone key `dane` (default false: today's answers, byte for byte). */
  readonly enabled: boolean;
  readonly level: DaneLevel;
  readonly lookupFailure: DaneLookupFailure;
}

/** Defaults of the zone keys, with the reasons in this file's header. */
export const DANE_DEFAULTS: DaneSettings = { enabled: false, level: 'dane', lookupFailure: 'temp' };

export type DaneDecision =
  /** Answer the MTA-STS verdict unchanged. */
  | {
      readonly kind: 'sts';
      readonly verdict: Verdict;
      readonly why: 'dane-off' | 'no-dane' | 'mixed-sts-enforces' | 'lookup-failed-sts';
      readonly noDane?: NoDaneReason;
    }
  /** Answer a DANE level for the domain. */
  | { readonly kind: 'dane'; readonly domain: string; readonly level: DaneLevel; readonly why: 'all-mx-dane' | 'mixed' }
  /** Answer a temporary failure. */
  | {
      readonly kind: 'temp';
      readonly domain: string;
      readonly code: DaneDnsErrorCode;
      readonly side: FaultSide;
      readonly why: 'local-fault' | 'lookup-failed';
    };

/** Combine; exhaustive over the finding, the verdict (where it matters) and the settings. */
export function decideDane(settings: DaneSettings, sts: Verdict, finding: DaneFinding): DaneDecision {
  if (!settings.enabled) return { kind: 'sts', verdict: sts, why: 'dane-off' };
  switch (finding.kind) {
    case 'dane':
      return { kind: 'dane', domain: finding.domain, level: settings.level, why: 'all-mx-dane' };
    case 'mixed':
      switch (sts.kind) {
        case 'enforce':
        case 'dns-temp':
        case 'dane':
          // Enforced STS stays uniform; an STS temp stays temp (its zone asked for it).
          return { kind: 'sts', verdict: sts, why: 'mixed-sts-enforces' };
        case 'testing':
        case 'none':
          return { kind: 'dane', domain: finding.domain, level: 'dane', why: 'mixed' };
        default: {
          const _never: never = sts;
          return _never;
        }
      }
    case 'no-dane':
      return { kind: 'sts', verdict: sts, why: 'no-dane', noDane: finding.reason };
    case 'failed':
      switch (finding.side) {
        case 'local':
          return { kind: 'temp', domain: finding.domain, code: finding.code, side: 'local', why: 'local-fault' };
        case 'remote':
          switch (settings.lookupFailure) {
            case 'temp':
              return { kind: 'temp', domain: finding.domain, code: finding.code, side: 'remote', why: 'lookup-failed' };
            case 'sts':
              return { kind: 'sts', verdict: sts, why: 'lookup-failed-sts' };
            default: {
              const _never: never = settings.lookupFailure;
              return _never;
            }
          }
        default: {
          const _never: never = finding.side;
          return _never;
        }
      }
    default: {
      const _never: never = finding;
      return _never;
    }
  }
}
