/**
 * The LookupService: zone selection plus the decision log, in front of the resolver.
 *
 * Logging scales with change, not with traffic: a decision that changed something or went wrong
 * (a policy fetched, a stale policy applied, a DNS error) is an info line; a cache hit or a
 * remembered absence is a debug line; and every `summaryIntervalMs` one info line counts the
 * lookups since the last one by outcome and source.
 */
import type { Logger } from 'winston';
import type { BridgeConfig, ZoneConfig } from './config/types.js';
import type { CachedPolicy } from './cache/cached-policy.js';
import type { AnswerFormatter, LookupResult, LookupService, WarmNote } from './lookup.js';
import { cachedResolution, type Resolver } from './resolver/resolver.js';
import type { Resolution } from './resolver/types.js';
import { decideDane, type DaneDecision } from './dane/decision.js';
import type { DaneService } from './dane/service.js';
import { stsVerdictOf } from './verdict.js';
import { daneAnswerOutcome } from './metrics/dane.js';

/** Name under which the default zone is reported in logs. */
export const DEFAULT_ZONE_NAME = 'default';

/** How often the lookup summary line is written (when there were lookups). */
export const SUMMARY_INTERVAL_MS = 300_000;

/** The summary keys of warm-path answers: what the resolver's own fast answers report. */
const WARM_KIND = 'policy/cache';
const WARM_ABSENT_KIND = 'no-policy/negative-cache';

interface SelectedZone {
  readonly name: string;
  readonly zone: ZoneConfig;
}

/** The answer `format` gives for a fresh cached entry in `selected` (made once per entry, formatter and zone). */
function answerFromEntry<T>(entry: CachedPolicy, format: AnswerFormatter<T>, selected: SelectedZone): T {
  return format({ zoneName: selected.name, zone: selected.zone, resolution: cachedResolution(entry) });
}

/** A LookupService that can stop its summary timer (a reload replaces the service). */
export interface StoppableLookupService extends LookupService {
  /** Write the pending summary (if any lookups) and stop the timer. */
  stop(): void;
}

export function createLookupService(
  resolver: Pick<Resolver, 'resolve'> & Partial<Pick<Resolver, 'freshEntry' | 'freshAbsence'>>,
  config: BridgeConfig,
  log: Logger,
  options: { readonly summaryIntervalMs?: number; readonly dane?: DaneService } = {},
): StoppableLookupService {
  const dane = options.dane;
  const decisions = log.child({ component: 'decision' });
  const counts = new Map<string, number>();
  let total = 0;
  /** Warm-path answers since the last summary (counted apart: a plain increment per lookup). */
  let warmHits = 0;
  let warmAbsences = 0;
  let since = Date.now();
  const flush = (): void => {
    if (warmHits > 0) {
      counts.set(WARM_KIND, (counts.get(WARM_KIND) ?? 0) + warmHits);
      total += warmHits;
      warmHits = 0;
    }
    if (warmAbsences > 0) {
      counts.set(WARM_ABSENT_KIND, (counts.get(WARM_ABSENT_KIND) ?? 0) + warmAbsences);
      total += warmAbsences;
      warmAbsences = 0;
    }
    if (total === 0) return;
    const byKind: Record<string, number> = {};
    for (const [key, n] of [...counts.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) byKind[key] = n;
    decisions.info('lookup summary', { lookups: total, sinceSec: Math.round((Date.now() - since) / 1000), ...byKind });
    counts.clear();
    total = 0;
    since = Date.now();
  };
  const every = options.summaryIntervalMs ?? SUMMARY_INTERVAL_MS;
  const timer = every > 0 ? setInterval(flush, every) : undefined;
  timer?.unref();
  // One selection object per zone, made once: selecting a zone allocates nothing.
  const defaultSelection: SelectedZone = { name: DEFAULT_ZONE_NAME, zone: config.defaultZone };
  const zones = new Map<string, SelectedZone>(Object.entries(config.zones).map(([name, z]) => [name, { name, zone: z }]));
  const zone = (zoneName?: string): SelectedZone => (zoneName === undefined ? undefined : zones.get(zoneName)) ?? defaultSelection;
  // The logger's own level gates first (winston checks it before any transport): reading it is a
  // property access, so a warm answer at info costs no isLevelEnabled call.
  const debugEnabled = (): boolean => {
    const level = decisions.level;
    return (level === 'debug' || level === 'silly') && decisions.isLevelEnabled('debug');
  };

  return {
    zone,
    cachedAnswer<T>(domain: string, zoneName: string | undefined, format: AnswerFormatter<T>, note?: WarmNote): T | undefined {
      const entry = resolver.freshEntry?.(domain);
      if (entry !== undefined) {
        const selected = zone(zoneName);
        const daneSettings = selected.zone.dane;
        let daneResult: LookupResult | undefined;
        if (dane !== undefined && daneSettings?.enabled === true) {
          const result: LookupResult = { zoneName: selected.name, zone: selected.zone, resolution: cachedResolution(entry) };
          const decision = dane.cachedDecision(domain, daneSettings, stsVerdictOf(result), selected.zone.timeoutSec * 1000);
          // No finding cached: the slow path looks DANE up beside the MTA-STS resolution.
          if (decision === undefined) return undefined;
          if (decision.kind !== 'sts') daneResult = { ...result, dane: decision };
        }
        // Keyed by the selection object: one per zone and configuration generation.
        const answer = daneResult !== undefined ? format(daneResult) : entry.answer(format, selected, answerFromEntry);
        // Declined by the formatter: the full path answers (and counts) this request.
        if (answer === undefined) return undefined;
        warmHits += 1;
        if (debugEnabled()) decisions.debug('decision', decisionFields(cachedResolution(entry), selected.name));
        note?.(selected.name, daneAnswerOutcome(daneResult?.dane) ?? 'policy', 'cache');
        return answer;
      }
      const absent = resolver.freshAbsence?.(domain);
      if (absent === undefined) return undefined;
      const selected = zone(zoneName);
      const absentResult: LookupResult = { zoneName: selected.name, zone: selected.zone, resolution: absent };
      const daneSettings = selected.zone.dane;
      let daneDecision: DaneDecision | undefined;
      if (dane !== undefined && daneSettings?.enabled === true) {
        daneDecision = dane.cachedDecision(domain, daneSettings, stsVerdictOf(absentResult), selected.zone.timeoutSec * 1000);
        if (daneDecision === undefined) return undefined;
      }
      const answer = format(
        daneDecision === undefined || daneDecision.kind === 'sts' ? absentResult : { ...absentResult, dane: daneDecision },
      );
      if (answer === undefined) return undefined;
      warmAbsences += 1;
      if (debugEnabled()) decisions.debug('decision', decisionFields(absent, selected.name));
      note?.(selected.name, daneAnswerOutcome(daneDecision) ?? 'no-policy', 'negative-cache');
      return answer;
    },
    async lookup(domain: string, zoneName?: string): Promise<LookupResult> {
      const selected = zone(zoneName);
      const daneSettings = selected.zone.dane;
      const withDane = dane !== undefined && daneSettings?.enabled === true;
      // DANE is looked up beside the MTA-STS resolution, within the same deadline.
      const [resolution, finding] = await Promise.all([
        resolver.resolve(domain, selected.zone),
        withDane ? dane.finding(domain, selected.zone.timeoutSec * 1000) : undefined,
      ]);
      const kind = decisionKind(resolution);
      total += 1;
      counts.set(kind.key, (counts.get(kind.key) ?? 0) + 1);
      if (decisions.isLevelEnabled(kind.level)) decisions.log(kind.level, 'decision', decisionFields(resolution, selected.name));
      const result: LookupResult = { zoneName: selected.name, zone: selected.zone, resolution };
      if (finding === undefined || daneSettings === undefined) return result;
      const decision = decideDane(daneSettings, stsVerdictOf(result), finding);
      if (decision.kind !== 'sts' || decisions.isLevelEnabled('debug')) {
        decisions.log(decision.kind === 'sts' ? 'debug' : 'info', 'dane decision', {
          domain,
          zone: selected.name,
          dane: decision.kind,
          why: decision.why,
        });
      }
      return decision.kind === 'sts' ? result : { ...result, dane: decision };
    },
    stop(): void {
      if (timer !== undefined) clearInterval(timer);
      flush();
    },
  };
}

/**
 * The summary key (`outcome/source`) of a decision and the level its line is logged at: info
 * for what changed or went wrong, debug for what the cache answered as before.
 */
export function decisionKind(r: Resolution): { readonly key: string; readonly level: 'info' | 'debug' } {
  switch (r.kind) {
    case 'policy':
      return { key: `policy/${r.source}`, level: r.source === 'cache' ? 'debug' : 'info' };
    case 'no-policy':
      return { key: `no-policy/${r.source}`, level: r.source === 'negative-cache' ? 'debug' : 'info' };
    case 'dns-error':
      return { key: 'dns-error/lookup', level: 'info' };
    default: {
      const unreachable: never = r;
      return unreachable;
    }
  }
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
