/**
 * The DANE side as one service for the lookup path: the findings cache over the DNSSEC client,
 * the decision, the start-up probe, and the log lines. Protocol-neutral; the lookup service
 * asks it per domain in zones with `dane: true`.
 *
 * - {@link DaneService.cachedDecision} is synchronous for the warm path: a decision from a
 *   cached finding, starting a background refresh when that finding is stale; undefined when
 *   there is none (the caller takes the slow path, where {@link DaneService.finding} runs in
 *   parallel with the MTA-STS resolution).
 * - Log lines scale with change: a finding just looked up is an info line when DANE applies,
 *   is mixed or failed (error level for a local fault), debug otherwise; cached findings log
 *   nothing.
 */
import type { Logger } from 'winston';
import type { Clock } from '../clock.js';
import type { Verdict } from '../verdict.js';
import { decideDane, type DaneDecision, type DaneSettings } from './decision.js';
import { DaneFindingCache } from './finding-cache.js';
import { findDane } from './finding.js';
import { DEFAULT_DNSSEC_PROBE, probeResolver, type ProbeResult } from './probe.js';
import { formatResolverAddress, isLoopback, type ResolverAddress } from './resolver-address.js';
import type { DaneFinding, DaneQueryType, DnssecDns } from './types.js';

/** Deadline of the start-up probe. */
export const DANE_PROBE_TIMEOUT_MS = 5000;

export interface DaneServiceOptions {
  readonly dns: DnssecDns;
  readonly resolver: ResolverAddress;
  readonly clock: Clock;
  readonly log: Logger;
  readonly maxEntries?: number;
  /** The probe name (default: Postfix's `dnssec_probe` default, NS of the root). */
  readonly probe?: { readonly type: DaneQueryType; readonly name: string } | undefined;
  /** Hears every finding looked up (not cached ones reused): for metrics. */
  readonly onFinding?: ((finding: DaneFinding) => void) | undefined;
  /** Hears every probe result: for metrics. */
  readonly onProbe?: ((result: ProbeResult) => void) | undefined;
}

export interface DaneService {
  /** `timeoutMs` bounds the background refresh of a stale finding (the zone's deadline). */
  cachedDecision(domain: string, settings: DaneSettings, sts: Verdict, timeoutMs: number): DaneDecision | undefined;
  /** The finding for `domain`: cached and fresh, or looked up now within `timeoutMs`. Never rejects. */
  finding(domain: string, timeoutMs: number): Promise<DaneFinding>;
  /** Ask the probe name; log a warning when the resolver does not validate. */
  probe(): Promise<ProbeResult>;
  /** Findings kept and lookups under way, for metrics and tests. */
  stats(): { readonly findings: number; readonly inFlight: number };
}

/** Stable, grep-able fields of one finding. */
export function findingFields(f: DaneFinding): Record<string, string> {
  const hosts = f.hosts.map((h) => `${h.host}:${h.dane.kind === 'no-dane' ? h.dane.reason : h.dane.kind}`).join(',');
  switch (f.kind) {
    case 'dane':
    case 'mixed':
      return { domain: f.domain, dane: f.kind, hosts };
    case 'no-dane':
      return { domain: f.domain, dane: f.kind, reason: f.reason, hosts };
    case 'failed':
      return { domain: f.domain, dane: f.kind, code: f.code, side: f.side, stage: f.stage, host: f.host ?? '', reason: f.message, hosts };
    default: {
      const _never: never = f;
      return _never;
    }
  }
}

export function createDaneService(options: DaneServiceOptions): DaneService {
  const log = options.log.child({ component: 'dane' });
  const cache = new DaneFindingCache({
    clock: options.clock,
    ...(options.maxEntries === undefined ? {} : { maxEntries: options.maxEntries }),
    lookup: async (domain, timeoutMs) => {
      const finding = await findDane(options.dns, domain, timeoutMs);
      options.onFinding?.(finding);
      const fields = findingFields(finding);
      switch (finding.kind) {
        case 'dane':
        case 'mixed':
          log.info('dane finding', fields);
          break;
        case 'no-dane':
          if (log.isLevelEnabled('debug')) log.debug('dane finding', fields);
          break;
        case 'failed':
          log.log(finding.side === 'local' ? 'error' : 'info', 'dane finding', fields);
          break;
        default: {
          const _never: never = finding;
          return _never;
        }
      }
      return finding;
    },
  });

  return {
    cachedDecision(domain, settings, sts, timeoutMs) {
      const peeked = cache.peek(domain);
      switch (peeked.state) {
        case 'absent':
          return undefined;
        case 'stale':
          // Answer now from what is known; the refresh never rejects (findDane never does).
          void cache.refresh(domain, timeoutMs);
          return decideDane(settings, sts, peeked.finding);
        case 'fresh':
          return decideDane(settings, sts, peeked.finding);
        default: {
          const _never: never = peeked;
          return _never;
        }
      }
    },
    finding(domain, timeoutMs) {
      return cache.get(domain, timeoutMs);
    },
    async probe() {
      const where = formatResolverAddress(options.resolver);
      if (!isLoopback(options.resolver)) {
        log.warn('the DNSSEC resolver is not on loopback: its AD bit travels unprotected', { resolver: where });
      }
      const probe = options.probe ?? DEFAULT_DNSSEC_PROBE;
      const result = await probeResolver(options.dns, DANE_PROBE_TIMEOUT_MS, probe);
      options.onProbe?.(result);
      const fields = { resolver: where, probe: `${probe.type} ${probe.name}` };
      switch (result.kind) {
        case 'validating':
          log.info('DNSSEC resolver validates', fields);
          break;
        case 'not-validating':
          log.warn('the DNSSEC resolver does not validate (no AD bit): every domain looks unsigned, DANE never applies', fields);
          break;
        case 'failed':
          log.warn('the DNSSEC resolver probe failed', { ...fields, code: result.code, reason: result.message });
          break;
        default: {
          const _never: never = result;
          return _never;
        }
      }
      return result;
    },
    stats() {
      return { findings: cache.size, inFlight: cache.inFlight };
    },
  };
}
