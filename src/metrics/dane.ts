/**
 * The DANE side's labels for the Metrics port: what one finding and one probe count as, and
 * what a lookup answered when a DANE decision replaced the MTA-STS answer. Pure; exhaustive.
 */
import type { DaneDecision } from '../dane/decision.js';
import type { ProbeResult } from '../dane/probe.js';
import type { DaneFinding } from '../dane/types.js';
import type { DaneLookupOutcome, DaneResolverState, LookupOutcome } from './types.js';

/** A finding's outcome label (bounded: never a domain, never a free-form code). */
export function daneLookupOutcome(finding: DaneFinding): DaneLookupOutcome {
  switch (finding.kind) {
    case 'dane':
      return 'dane';
    case 'mixed':
      return 'mixed';
    case 'no-dane':
      switch (finding.reason) {
        case 'mx-insecure':
          return 'unsigned';
        case 'domain-nxdomain':
        case 'null-mx':
        case 'no-tlsa':
          return 'absent';
        default: {
          const _never: never = finding.reason;
          return _never;
        }
      }
    case 'failed':
      if (finding.side === 'local') return 'local-fault';
      return finding.code === 'EDANE_DNS_TIMEOUT' ? 'timeout' : 'servfail';
    default: {
      const _never: never = finding;
      return _never;
    }
  }
}

/** The probe's state label. */
export function daneResolverState(result: ProbeResult): DaneResolverState {
  switch (result.kind) {
    case 'validating':
      return 'validating';
    case 'not-validating':
      return 'no-ad';
    case 'failed':
      return 'failed';
    default: {
      const _never: never = result;
      return _never;
    }
  }
}

/** The lookups_total outcome of an answer a DANE decision gave; undefined when the MTA-STS answer stands. */
export function daneAnswerOutcome(decision: DaneDecision | undefined): Extract<LookupOutcome, 'dane' | 'dane-temp'> | undefined {
  if (decision === undefined) return undefined;
  switch (decision.kind) {
    case 'dane':
      return 'dane';
    case 'temp':
      return 'dane-temp';
    case 'sts':
      return undefined;
    default: {
      const _never: never = decision;
      return _never;
    }
  }
}
