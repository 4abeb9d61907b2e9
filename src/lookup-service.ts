/**
 * The LookupService: zone selection plus one log line per decision, in front of the resolver.
 */
import type { Logger } from 'winston';
import type { BridgeConfig, ZoneConfig } from './config/types.js';
import type { LookupResult, LookupService } from './lookup.js';
import type { Resolver } from './resolver/resolver.js';
import type { Resolution } from './resolver/types.js';

/** Name under which the default zone is reported in logs. */
export const DEFAULT_ZONE_NAME = 'default';

export function createLookupService(resolver: Pick<Resolver, 'resolve'>, config: BridgeConfig, log: Logger): LookupService {
  const decisions = log.child({ component: 'decision' });
  const zones = new Map<string, ZoneConfig>(Object.entries(config.zones));

  const zone = (zoneName?: string): { name: string; zone: ZoneConfig } => {
    if (zoneName !== undefined) {
      const found = zones.get(zoneName);
      if (found !== undefined) return { name: zoneName, zone: found };
    }
    return { name: DEFAULT_ZONE_NAME, zone: config.defaultZone };
  };

  return {
    zone,
    async lookup(domain: string, zoneName?: string): Promise<LookupResult> {
      const selected = zone(zoneName);
      const resolution = await resolver.resolve(domain, selected.zone);
      if (decisions.isLevelEnabled('info')) decisions.info('decision', decisionFields(resolution, selected.name));
      return { zoneName: selected.name, zone: selected.zone, resolution };
    },
  };
}

/** Stable, grep-able fields of one decision: domain, outcome, source, reason (and mode, id, zone). */
export function decisionFields(r: Resolution, zoneName: string): Record<string, string> {
  switch (r.kind) {
    case 'policy':
      return {
        domain: r.domain,
        outcome: 'policy',
        mode: r.policy.mode,
        source: r.source,
        reason: r.reason ?? '',
        id: r.id,
        zone: zoneName,
      };
    case 'no-policy':
      return {
        domain: r.domain,
        outcome: 'no-policy',
        source: r.source,
        reason: r.detail !== undefined ? `${r.reason} ${r.detail}` : r.reason,
        zone: zoneName,
      };
    case 'dns-error':
      return { domain: r.domain, outcome: 'dns-error', source: 'lookup', reason: `${r.code} ${r.detail}`, zone: zoneName };
    default: {
      const unreachable: never = r;
      return unreachable;
    }
  }
}
