/**
 * The one service protocol adapters call: resolve a policy domain in a zone.
 * Adapters turn the result into their own bytes; the core never sees Postfix syntax.
 */
import type { ZoneConfig } from './config/types.js';
import type { Resolution } from './resolver/types.js';

export interface LookupResult {
  readonly zoneName: string;
  readonly zone: ZoneConfig;
  readonly resolution: Resolution;
}

export interface LookupService {
  /**
   * Resolve `domain` (already a lower-case A-label policy domain) in the zone named
   * `zoneName` (the default zone when unknown or absent). Never rejects.
   */
  lookup(domain: string, zoneName?: string): Promise<LookupResult>;
  /** Zone settings by name, falling back to the default zone. */
  zone(zoneName?: string): { readonly name: string; readonly zone: ZoneConfig };
}
