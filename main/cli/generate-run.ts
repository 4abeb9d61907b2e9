/**
 * One `generate` run, after the lock is taken and the state opened: resolve every listed domain
 * with the daemon's resolver, turn the results into map entries, compare with the map in place,
 * and replace it atomically, unless that would make it worse (see `decideWrite`).
 */
import { existsSync, readFileSync } from 'node:fs';
import type { PolicyCache } from '../../src/cache/types.js';
import type { Clock } from '../../src/clock.js';
import type { ZoneConfig } from '../../src/config/types.js';
import type { LookupResult } from '../../src/lookup.js';
import { decideDane } from '../../src/dane/decision.js';
import type { DaneFinding } from '../../src/dane/types.js';
import { stsVerdictOf } from '../../src/verdict.js';
import type { Resolver } from '../../src/resolver/resolver.js';
import type { Resolution } from '../../src/resolver/types.js';
import { writeMapAtomically, type WriteStep } from '../../src/generate/atomic-writer.js';
import { GenerateError, messageOf } from '../../src/generate/errors.js';
import {
  decideEntry,
  diffMaps,
  parseMap,
  renderMap,
  type MapDiff,
  type MapEntry,
  type MapFormat,
  type MapType,
} from '../../adapters/map/map-format.js';
import { indexSuffix, type PostfixTools } from '../../src/generate/postfix-tools.js';
import { isRefreshDue } from '../../src/generate/refresh-due.js';

/** Default number of domains resolved at once: 10,000 domains in minutes, gentle on one resolver. */
export const DEFAULT_CONCURRENCY = 32;
/** Upper bound of --concurrency: each resolution may hold a socket and a c-ares channel. */
export const MAX_CONCURRENCY = 1024;

export interface GenerateRequest {
  /** Normalised policy domains (parseDomainList). */
  readonly domains: readonly string[];
  /** Path of the map's text source. */
  readonly output: string;
  readonly format: MapFormat;
  /** Table to build with postmap; undefined for text-only formats. */
  readonly type: MapType | undefined;
  readonly zoneName: string;
  readonly zone: ZoneConfig;
  readonly dryRun: boolean;
  readonly concurrency: number;
  /** `--offline`: build from the state only: no DNS, no HTTPS. */
  readonly offline: boolean;
}

export interface GenerateDeps {
  /** The opened state. */
  readonly cache: PolicyCache;
  /** Resolves one domain (main/resolver-stack.ts, BATCH_TUNING); unused when offline. */
  readonly resolver: Pick<Resolver, 'resolve' | 'refresh'>;
  readonly clock: Clock;
  readonly tools: PostfixTools;
  readonly pid?: number;
  readonly onProgress?: ((done: number, total: number) => void) | undefined;
  /**
   * The DANE finding of a domain, in a zone with `dane: true` (docs/dane.md); absent: no DANE
   * side (the map holds MTA-STS answers only). Not used offline.
   */
  readonly daneFinding?: ((domain: string, timeoutMs: number) => Promise<DaneFinding>) | undefined;
  /** Tests: called between the steps of the atomic write. */
  readonly onWriteStep?: (step: WriteStep) => void;
}

/** A domain that could not be brought up to date. */
export interface FailedDomain {
  readonly domain: string;
  readonly reason: string;
  /** Its last-known-good policy stays in the map (until its max_age). */
  readonly kept: boolean;
}

export type GenerateResult =
  /** The map was replaced. */
  | 'written'
  /** The new map is byte for byte the old one: nothing was touched. */
  | 'unchanged'
  /** --dry-run: nothing was touched. */
  | 'dry-run'
  /** Every lookup failed and the new map would be empty: the old map was kept (exit 2). */
  | 'nothing-reached';

export interface GenerateReport {
  readonly result: GenerateResult;
  readonly domains: number;
  /** Entries in the new map. */
  readonly enforced: number;
  readonly diff: MapDiff;
  /** Sorted by domain. */
  readonly failed: readonly FailedDomain[];
  readonly seconds: number;
}

/** Why a resolution did not confirm the domain's current state, or undefined when it did. */
export function failureOf(r: Resolution): { reason: string; kept: boolean } | undefined {
  switch (r.kind) {
    case 'dns-error':
      return { reason: `dns-error ${r.code}`, kept: false };
    case 'no-policy':
      return r.reason === 'fetch-failed' || r.reason === 'fetch-backoff'
        ? { reason: r.detail !== undefined ? `${r.reason} ${r.detail}` : r.reason, kept: false }
        : undefined;
    case 'policy':
      // A stale answer after a removed TXT record is the RFC's rule (keep until max_age), not a failure.
      if (r.source === 'stale' && r.reason !== undefined && /^(dns-error|fetch-failed|fetch-backoff)\b/.test(r.reason)) {
        return { reason: r.reason, kept: true };
      }
      return undefined;
    default: {
      const _never: never = r;
      return _never;
    }
  }
}

/** Run `work` over `items` with at most `limit` in flight; results in input order. */
export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
  onDone?: (done: number) => void,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i] as T);
      done += 1;
      onDone?.(done);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/** One domain's resolution, and why its due refresh failed, if it did. */
interface ForMap {
  readonly resolution: Resolution;
  readonly refreshFailure?: string;
}

/**
 * Refresh the domain's cached policy first when it is due (RFC 8461 §3.3: fetch the policy file
 * even when the TXT id is unchanged), then resolve it as the daemon would. A failed refresh keeps
 * the unexpired policy (the resolver's rule) and is reported, so cron mail says so.
 */
async function resolveForMap(deps: GenerateDeps, domain: string, zone: ZoneConfig): Promise<ForMap> {
  const now = deps.clock.now();
  const entry = await deps.cache.get(domain).catch(() => undefined);
  let refreshFailure: string | undefined;
  if (entry !== undefined && entry.expiresAt > now && isRefreshDue(entry, now)) {
    const refreshed = await deps.resolver.refresh(domain, zone);
    switch (refreshed.kind) {
      case 'refreshed':
      case 'not-cached':
        break;
      case 'failed':
        // No TXT record any more is the domain's own choice, kept until max_age: not a failure.
        if (refreshed.stage !== 'txt') refreshFailure = `${refreshed.stage === 'dns' ? 'dns-error' : 'fetch-failed'} ${refreshed.code}`;
        break;
      case 'backoff':
        refreshFailure = `fetch-backoff ${refreshed.code}`;
        break;
      case 'error':
        refreshFailure = `refresh-failed ${refreshed.code}`;
        break;
      default: {
        const _never: never = refreshed;
        return _never;
      }
    }
  }
  const resolution = await deps.resolver.resolve(domain, zone);
  return refreshFailure === undefined ? { resolution } : { resolution, refreshFailure };
}

async function fromState(cache: PolicyCache, domain: string, now: number): Promise<Resolution> {
  const e = await cache.get(domain);
  if (e === undefined || e.expiresAt <= now)
    return { kind: 'no-policy', domain, reason: 'no-sts-record', source: 'lookup', detail: 'not in state' };
  return {
    kind: 'policy',
    domain,
    id: e.id,
    policy: e.policy,
    source: 'cache',
    fetchedAt: e.fetchedAt,
    expiresAt: e.expiresAt,
    reason: 'offline',
  };
}

function readOld(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new GenerateError('EGEN_WRITE', `cannot read the current map ${path}: ${messageOf(err)}`, { cause: err });
  }
}

export async function runGenerate(req: GenerateRequest, deps: GenerateDeps): Promise<GenerateReport> {
  const started = deps.clock.now();
  const total = req.domains.length;
  const outcomes = await mapBounded(
    req.domains,
    req.concurrency,
    async (d): Promise<ForMap> =>
      req.offline ? { resolution: await fromState(deps.cache, d, deps.clock.now()) } : resolveForMap(deps, d, req.zone),
    deps.onProgress === undefined ? undefined : (done) => deps.onProgress?.(done, total),
  );

  const daneByDomain = new Map<string, DaneFinding>();
  const daneLookup = deps.daneFinding;
  if (!req.offline && daneLookup !== undefined && req.zone.dane?.enabled === true) {
    const findings = await mapBounded(req.domains, req.concurrency, (d) => daneLookup(d, req.zone.timeoutSec * 1000));
    findings.forEach((f) => daneByDomain.set(f.domain, f));
  }
  const entries: MapEntry[] = [];
  const failed: FailedDomain[] = [];
  for (const { resolution, refreshFailure } of outcomes) {
    const stsResult: LookupResult = { zoneName: req.zoneName, zone: req.zone, resolution };
    const dane = daneByDomain.get(resolution.domain);
    const daneSettings = req.zone.dane;
    const decision0 =
      dane === undefined || daneSettings === undefined ? undefined : decideDane(daneSettings, stsVerdictOf(stsResult), dane);
    // Never dane-only in a static map; a DANE failure keeps the MTA-STS entry (the daemon would defer).
    const result: LookupResult = decision0?.kind === 'dane' ? { ...stsResult, dane: { ...decision0, level: 'dane' } } : stsResult;
    // A failed refresh in this run says more than the resolution that followed it (which then
    // only sees the back-off or the unchanged id).
    const failure = refreshFailure !== undefined ? { reason: refreshFailure, kept: resolution.kind === 'policy' } : failureOf(resolution);
    const decision = decideEntry(result, req.format);
    switch (decision.kind) {
      case 'entry':
        entries.push({ domain: resolution.domain, value: decision.value });
        break;
      case 'none':
        break;
      case 'unrepresentable':
        if (failure === undefined)
          failed.push({ domain: resolution.domain, reason: `not expressible in a static map: ${decision.reason}`, kept: false });
        break;
      default: {
        const _never: never = decision;
        return _never;
      }
    }
    if (failure !== undefined)
      failed.push({ domain: resolution.domain, reason: failure.reason, kept: failure.kept && decision.kind === 'entry' });
  }
  failed.sort((a, b) => (a.domain < b.domain ? -1 : a.domain > b.domain ? 1 : 0));

  const newText = renderMap(entries, req.format);
  const oldText = readOld(req.output);
  const newMap = parseMap(newText, req.format);
  const diff = diffMaps(oldText === undefined ? new Map() : parseMap(oldText, req.format), newMap);
  const report = (result: GenerateResult): GenerateReport => ({
    result,
    domains: total,
    enforced: entries.length,
    diff,
    failed,
    seconds: (deps.clock.now() - started) / 1000,
  });

  // Never worse than before: a run that reached nothing must not empty a map that exists.
  const allFailed = total > 0 && failed.length === total;
  const oldEntries = oldText === undefined ? 0 : diff.removed.length + diff.changed.length + diff.unchanged;
  if (allFailed && entries.length === 0 && oldEntries > 0 && !req.offline) return report('nothing-reached');
  if (req.dryRun) return report('dry-run');

  const suffix = req.type === undefined ? undefined : indexSuffix(req.type);
  if (oldText === newText && (suffix === undefined || existsSync(req.output + suffix))) return report('unchanged');
  await writeMapAtomically({
    output: req.output,
    text: newText,
    type: req.type,
    tools: deps.tools,
    ...(deps.pid !== undefined ? { pid: deps.pid } : {}),
    ...(deps.onWriteStep !== undefined ? { onStep: deps.onWriteStep } : {}),
  });
  return report('written');
}

/**
 * The summary line: `generate: domains=N enforced=N unchanged=N added=N removed=N changed=N
 * failed=N seconds=S`. Stable field names, for log scraping.
 */
export function summaryLine(r: GenerateReport): string {
  return (
    `generate: domains=${r.domains} enforced=${r.enforced} unchanged=${r.diff.unchanged} added=${r.diff.added.length} ` +
    `removed=${r.diff.removed.length} changed=${r.diff.changed.length} failed=${r.failed.length} seconds=${r.seconds.toFixed(1)} result=${r.result}`
  );
}
