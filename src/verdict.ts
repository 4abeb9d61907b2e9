/**
 * What applies to a destination, decided once for every protocol (RFC 8461 §5): the policy is
 * enforced, only tested (report-only), absent, or a DNS failure the zone wants deferred. The
 * adapters only turn a verdict into their own syntax (Postfix answers, Exim replies, map files).
 */
import type { DaneLevel } from './dane/decision.js';
import type { LookupResult } from './lookup.js';
import type { StsPolicy } from './policy/types.js';
import { isLocalFault } from './resolver/local-fault.js';

export type Verdict =
  /** `mode: enforce`, or `mode: testing` in a zone with `strict_testing`. */
  | { readonly kind: 'enforce'; readonly domain: string; readonly policy: StsPolicy }
  /** `mode: testing`: deliver anyway, report only (RFC 8461 §5). */
  | { readonly kind: 'testing'; readonly domain: string; readonly policy: StsPolicy }
  /** `mode: none`, no policy, or a DNS error answered as "no policy" (the RFC's default). */
  | { readonly kind: 'none' }
  /** A DNS error with nothing cached, in a zone with `dns_error: temp`; or any local fault. */
  | { readonly kind: 'dns-temp'; readonly domain: string; readonly code: string }
  /** DANE applies (zone `dane: true`, every MX host with validated usable TLSA, docs/dane.md). */
  | { readonly kind: 'dane'; readonly domain: string; readonly level: DaneLevel };

/** The verdict for one lookup result. Exhaustive over Resolution, policy mode and zone options. */
export function verdictOf(result: LookupResult): Verdict {
  const dane = result.dane;
  if (dane !== undefined) {
    switch (dane.kind) {
      case 'dane':
        return { kind: 'dane', domain: dane.domain, level: dane.level };
      case 'temp':
        return { kind: 'dns-temp', domain: dane.domain, code: dane.code };
      case 'sts':
        break;
      default: {
        const _never: never = dane;
        return _never;
      }
    }
  }
  return stsVerdictOf(result);
}

/** The MTA-STS verdict alone (what DANE is combined with). */
export function stsVerdictOf(result: LookupResult): Verdict {
  const { zone, resolution } = result;
  switch (resolution.kind) {
    case 'policy': {
      const { policy, domain } = resolution;
      switch (policy.mode) {
        case 'enforce':
          return { kind: 'enforce', domain, policy };
        case 'testing':
          // strict_testing is the operator's opt-in to enforce testing policies.
          return zone.strictTesting ? { kind: 'enforce', domain, policy } : { kind: 'testing', domain, policy };
        case 'none':
          return { kind: 'none' };
        default: {
          const _never: never = policy.mode;
          return _never;
        }
      }
    }
    case 'no-policy':
      return { kind: 'none' };
    case 'dns-error':
      // A local fault (out of descriptors, resolver unreachable, internal error) is no DNS answer:
      // always a temporary failure, whatever dns_error says, so it never becomes a downgrade.
      if (isLocalFault(resolution.code)) return { kind: 'dns-temp', domain: resolution.domain, code: resolution.code };
      switch (zone.dnsErrorAnswer) {
        case 'no-policy':
          // RFC 8461 §3.3: no usable policy is delivery as if the domain had no MTA-STS.
          return { kind: 'none' };
        case 'temp':
          return { kind: 'dns-temp', domain: resolution.domain, code: resolution.code };
        default: {
          const _never: never = zone.dnsErrorAnswer;
          return _never;
        }
      }
    default: {
      const _never: never = resolution;
      return _never;
    }
  }
}
