/**
 * A whole `check` run: every domain (a few at a time), gathered under one deadline and judged.
 * The deadline is the run's --timeout: each step takes at most its own timeout and what is
 * left of the run, so a hanging MX host costs one step and the run ends on time, reporting
 * what it found. A domain whose facts were cut short is `error` (ECHECK_TIMEOUT).
 */
import { hostname } from 'node:os';
import { toPolicyDomain } from '../policy/domain.js';
import { clientContext } from './cert.js';
import type { CheckDns } from './dns.js';
import { Deadline, gatherDomain, mapBounded } from './gather.js';
import { judgeDomain } from './judge.js';
import type { CheckState, DomainState } from './state.js';
import { STATE_VERSION } from './state.js';
import type { CheckReport, DomainReport } from './types.js';

/** Domains checked at the same time. */
export const DOMAIN_CONCURRENCY = 4;
/** The longest one SMTP or HTTPS conversation may take (Postfix waits longer; a checker need not). */
export const PROBE_TIMEOUT_MS = 20_000;
/** The longest one DNS question may take. */
export const DNS_STEP_TIMEOUT_MS = 5_000;
/** After the deadline, how long a domain may take to wind down before it is given up. */
export const WIND_DOWN_MS = 2_000;
/** The default --timeout, in seconds. */
export const DEFAULT_TIMEOUT_S = 60;

export interface RunOptions {
  readonly dns: CheckDns;
  /** --mx-port. */
  readonly mxPort: number;
  /** 443 but in tests. */
  readonly policyPort?: number;
  /** A PEM trusted besides the system's roots (tests). */
  readonly extraCa?: string;
  /** --timeout, in milliseconds. */
  readonly timeoutMs: number;
  /** Per conversation; default a third of the run, at most {@link PROBE_TIMEOUT_MS}. */
  readonly probeTimeoutMs?: number;
  readonly dnsTimeoutMs?: number;
  readonly ehloName?: string;
  readonly now?: () => number;
  /** The previous run's state (--state); undefined without --state. */
  readonly state?: CheckState;
}

function errorReport(domain: string, code: NonNullable<DomainReport['error']>['code'], message: string): DomainReport {
  return { domain, result: 'error', checks: [], error: { code, message } };
}

export async function runCheck(domains: readonly string[], o: RunOptions): Promise<{ report: CheckReport; state?: CheckState }> {
  const now = o.now ?? Date.now;
  const deadline = new Deadline(o.timeoutMs, now);
  const context = clientContext(o.extraCa);
  const probeTimeoutMs = o.probeTimeoutMs ?? Math.min(PROBE_TIMEOUT_MS, Math.max(1000, Math.floor(o.timeoutMs / 3)));
  const dnsTimeoutMs = o.dnsTimeoutMs ?? Math.min(DNS_STEP_TIMEOUT_MS, Math.max(500, Math.floor(o.timeoutMs / 6)));
  const ehloName = o.ehloName ?? (hostname().includes('.') ? hostname() : 'localhost');
  const nextState: Record<string, DomainState> = { ...(o.state?.domains ?? {}) };

  const one = async (input: string): Promise<DomainReport> => {
    const parsed = toPolicyDomain(input);
    if (!parsed.ok) return errorReport(input, 'ECHECK_DOMAIN', parsed.message);
    const domain = parsed.domain;
    let windDown: NodeJS.Timeout | undefined;
    let arm: (() => void) | undefined;
    const givenUp = new Promise<undefined>((resolve) => {
      arm = (): void => {
        windDown = setTimeout(() => resolve(undefined), WIND_DOWN_MS);
      };
      if (deadline.signal.aborted) arm();
      else deadline.signal.addEventListener('abort', arm, { once: true });
    });
    try {
      const facts = await Promise.race([
        gatherDomain(domain, {
          dns: o.dns,
          context,
          mxPort: o.mxPort,
          policyPort: o.policyPort ?? 443,
          ehloName,
          dnsTimeoutMs,
          probeTimeoutMs,
          deadline,
          now,
        }),
        givenUp,
      ]);
      if (facts === undefined) return errorReport(input, 'ECHECK_TIMEOUT', `no result within --timeout and ${WIND_DOWN_MS} ms more`);
      const before = o.state?.domains[domain];
      const { report, next } = judgeDomain({ input, facts, before, haveState: o.state !== undefined, cut: deadline.expired });
      nextState[domain] = next;
      return report;
    } catch (err) {
      return errorReport(input, 'ECHECK_INTERNAL', err instanceof Error ? (err.stack ?? err.message) : String(err));
    } finally {
      if (arm !== undefined) deadline.signal.removeEventListener('abort', arm);
      clearTimeout(windDown);
    }
  };

  try {
    const reports = await mapBounded(domains, DOMAIN_CONCURRENCY, one);
    return { report: { domains: reports }, ...(o.state !== undefined ? { state: { version: STATE_VERSION, domains: nextState } } : {}) };
  } finally {
    deadline.dispose();
  }
}
