/**
 * All checks of one domain from its facts: the one place the judges are put together. Pure.
 */
import { DANE_DNS_ERROR_CODES, faultSideOf, type DaneDnsErrorCode } from '../dane/types.js';
import { isLocalDnsFault } from '../resolver/local-fault.js';
import type { DomainFacts } from './facts.js';
import { judgeMx } from './judge-mx.js';
import { judgePolicy } from './judge-policy.js';
import { judgeStsTxt, judgeTlsrpt } from './judge-records.js';
import { judgeSenderView } from './sender-view.js';
import { judgeMode, judgePolicyId, nextDomainState, type DomainState } from './state.js';
import { domainResult, sortResults, type CheckResult, type DomainReport } from './types.js';

export interface JudgeInput {
  /** The domain as given on the command line. */
  readonly input: string;
  readonly facts: DomainFacts;
  /** What the state file says about this domain; `haveState` false without --state. */
  readonly before: DomainState | undefined;
  readonly haveState: boolean;
  /** The run's deadline passed before the facts were all gathered. */
  readonly cut: boolean;
}

/** True for a code of this host's side: the resolver's (c-ares) local faults, and the DNSSEC client's local side. */
function isLocalCode(code: string): boolean {
  if (DANE_DNS_ERROR_CODES.has(code)) return faultSideOf(code as DaneDnsErrorCode) === 'local';
  return isLocalDnsFault(code);
}

/** A DNS error code of this host (its resolver unreachable, no descriptors), if any answer has one. */
function localFault(f: DomainFacts): string | undefined {
  const answers = [f.stsTxt, f.tlsrptTxt, f.mx, f.policyAddresses, ...f.mxHosts.map((h) => h.addresses), ...f.mxHosts.map((h) => h.tlsa)];
  for (const a of answers) if (a.kind === 'error' && isLocalCode(a.code)) return `${a.code}: ${a.message}`;
  return undefined;
}

export function judgeDomain(j: JudgeInput): { report: DomainReport; next: DomainState } {
  const f = j.facts;
  const checks: CheckResult[] = [];
  const sts = judgeStsTxt(f.domain, f.stsTxt);
  checks.push(sts.result);
  const policy = judgePolicy(f);
  checks.push(...policy.results);
  const parsed = policy.fetched?.policy;
  if (parsed !== undefined) checks.push(judgeMode(parsed.mode, j.before?.testingSince, f.nowMs, j.haveState));
  if (j.haveState && sts.record !== undefined && policy.fetched !== undefined)
    checks.push(judgePolicyId(sts.record.id, policy.fetched.sha256, j.before));
  const mx = judgeMx(f, parsed);
  checks.push(...mx.results);
  checks.push(judgeTlsrpt(f.domain, f.tlsrptTxt, parsed?.mode));
  if (parsed !== undefined) {
    const view = judgeSenderView(parsed, mx.hosts);
    if (view !== undefined) checks.push(view);
  }
  const fault = localFault(f);
  const error = j.cut
    ? { code: 'ECHECK_TIMEOUT' as const, message: 'the run timed out (--timeout) before every check of this domain had run' }
    : fault !== undefined
      ? { code: 'ECHECK_LOCAL' as const, message: `this host could not ask: ${fault}` }
      : undefined;
  const sorted = sortResults(checks);
  const next = nextDomainState(j.before, sts.record?.id, policy.fetched?.sha256, parsed?.mode, f.nowMs);
  return {
    report: { domain: j.input, result: domainResult(sorted, error), checks: sorted, ...(error !== undefined ? { error } : {}) },
    next,
  };
}
