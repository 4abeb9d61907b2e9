/**
 * The one service protocol adapters call: resolve a policy domain in a zone.
 * Adapters turn the result into their own bytes; the core never sees Postfix syntax.
 */
import type { ZoneConfig } from './config/types.js';
import type { DaneDecision } from './dane/decision.js';
import type { Resolution } from './resolver/types.js';

export interface LookupResult {
  readonly zoneName: string;
  readonly zone: ZoneConfig;
  readonly resolution: Resolution;
  /** The DANE decision, in zones with `dane: true` (docs/dane.md); absent: MTA-STS alone. */
  readonly dane?: DaneDecision;
}

/**
 * Turns a lookup result into a protocol's answer. Pure; its identity (with the zone's) keys the
 * answers memoised with a cached policy, so a protocol keeps one formatter for its lifetime.
 */
export type AnswerFormatter<T> = (result: LookupResult) => T;

/** Told which warm answer was given: the zone's name, and the outcome and source a lookup would report. */
export type WarmNote = (
  zoneName: string,
  outcome: 'policy' | 'no-policy' | 'dane' | 'dane-temp',
  source: 'cache' | 'negative-cache',
) => void;

export interface LookupService {
  /**
   * Resolve `domain` (already a lower-case A-label policy domain) in the zone named
   * `zoneName` (the default zone when unknown or absent). Never rejects.
   */
  lookup(domain: string, zoneName?: string): Promise<LookupResult>;
  /**
   * The warm path: when `domain` has a cached policy that answers right now without any DNS
   * query (unexpired, checked within `cache_grace`), the answer `format` gives for it in the
   * zone, computed once per stored policy, zone and formatter and returned as the same value
   * afterwards; when it is remembered without MTA-STS (negative cache) and nothing can be cached
   * for it elsewhere, the answer `format` gives for that; otherwise undefined (the caller then
   * uses `lookup`). Synchronous, no promise. `note` hears what answered (for metrics), and only
   * when an answer is returned: an undefined answer of `format` (e.g. a reply that needs the full
   * path's log line) leaves the request, and its counting, to `lookup`.
   * Optional: a service without a cache (tests, tools) has no warm path.
   */
  cachedAnswer?<T>(domain: string, zoneName: string | undefined, format: AnswerFormatter<T>, note?: WarmNote): T | undefined;
  /** Zone settings by name, falling back to the default zone. */
  zone(zoneName?: string): { readonly name: string; readonly zone: ZoneConfig };
}
