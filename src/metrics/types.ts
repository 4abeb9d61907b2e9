/**
 * The Metrics port: what the core reports for monitoring. The core calls it on events; the
 * composition root (main/app.ts) chooses the implementation: the no-op below when no `metrics:`
 * listener is configured, src/metrics/prometheus.ts otherwise. Every label value passed here is
 * from a bounded set (protocol and zone names from the config, enums, error codes); never a domain.
 */
import type { ResolutionSource } from '../resolver/types.js';

/**
 * What an answered lookup found: the Resolution's kind, or, in zones with `dane: true`, what
 * the DANE decision answered instead (`dane`: a DANE level; `dane-temp`: a temporary failure
 * of the DANE side). Zones without DANE only ever count the first three.
 */
export type LookupOutcome = 'policy' | 'no-policy' | 'dns-error' | 'dane' | 'dane-temp';

/**
 * What one DANE lookup (src/dane/finding.ts) found: `dane` (every MX host with validated usable
 * TLSA), `mixed`, `absent` (validated NXDOMAIN/NODATA or no usable TLSA), `unsigned` (the MX
 * RRset without AD: an unsigned zone, or a resolver that does not validate), and the failures
 * by code: `servfail` (bogus signatures arrive as SERVFAIL), `timeout`, `local-fault`.
 */
export type DaneLookupOutcome = 'dane' | 'mixed' | 'absent' | 'unsigned' | 'servfail' | 'timeout' | 'local-fault';

/** The start-up probe of the DNSSEC resolver: validating, answering without AD, or failed. */
export type DaneResolverState = 'validating' | 'no-ad' | 'failed';

/** Which protocol asked: a listener's protocol, or `warm` for a background warm-up (policy delegation). */
export type LookupOrigin = 'socketmap' | 'tcp_table' | 'policy' | 'exim' | 'warm';

/** What a proactive refresh did (src/resolver/resolver.ts `RefreshOutcome` kinds). */
export type RefreshResult = 'refreshed' | 'failed' | 'backoff' | 'not-cached' | 'error';

export interface Metrics {
  /** One lookup answered, with the time it took. Hot path: must be cheap. */
  lookupAnswered(protocol: LookupOrigin, zone: string, outcome: LookupOutcome, source: ResolutionSource, seconds: number): void;
  /** One policy fetch (lookup or refresh): `code` is the EFETCH_* / EPOLICY_INVALID code, or undefined when it worked. */
  policyFetched(code: string | undefined): void;
  /** One proactive refresh of a cached policy; `code` when it failed. */
  refreshed(result: RefreshResult, code: string | undefined): void;
  /** One DNS error (TXT discovery): the DNS seam's code (ETIMEOUT, ESERVFAIL, ...). */
  dnsError(code: string): void;
  /**
   * A local fault (the resolver's `onLocalFault(code)` hook): something on this host failed, not
   * the destination's setup (e.g. the cache, the local resolver).
   */
  localFault(code: string): void;
  /** One DANE lookup made (not a cached finding reused). */
  daneLookup(outcome: DaneLookupOutcome): void;
  /** The result of the DNSSEC resolver's start-up probe (at start and on a reload that turns DANE on). */
  daneResolver(state: DaneResolverState): void;
}

/** Reports nothing: used when no metrics listener is configured. */
export const NO_METRICS: Metrics = Object.freeze({
  lookupAnswered(): void {},
  policyFetched(): void {},
  refreshed(): void {},
  dnsError(): void {},
  localFault(): void {},
  daneLookup(): void {},
  daneResolver(): void {},
});
