/**
 * The start-up probe of the validating resolver, like Postfix's `dnssec_probe` (default
 * `ns:.`): ask a name that is signed and see whether the answer comes back with AD. A resolver
 * that does not validate makes every domain look unsigned, so DANE silently never applies: the
 * daemon says so at start (a warning, not a failure: MTA-STS answers go on as without DANE).
 */
import type { DaneDnsErrorCode, DaneQueryType, DnssecDns } from './types.js';

/** Postfix's `dnssec_probe` default: the root's NS RRset, signed since 2010. */
export const DEFAULT_DNSSEC_PROBE = { type: 'NS', name: '.' } as const;

export type ProbeResult =
  | { readonly kind: 'validating' }
  /** An answer without AD: the resolver does not validate (or the probe name is unsigned). */
  | { readonly kind: 'not-validating'; readonly answer: 'records' | 'nxdomain' | 'nodata' }
  | { readonly kind: 'failed'; readonly code: DaneDnsErrorCode; readonly message: string };

/** Ask `type` at `name` and report whether the resolver validated the answer. */
export async function probeResolver(
  dns: DnssecDns,
  timeoutMs: number,
  probe: { readonly type: DaneQueryType; readonly name: string } = DEFAULT_DNSSEC_PROBE,
): Promise<ProbeResult> {
  const answer = await dns.query(probe.name, probe.type, timeoutMs);
  switch (answer.kind) {
    case 'error':
      return { kind: 'failed', code: answer.code, message: answer.message };
    case 'records':
    case 'nxdomain':
    case 'nodata':
      return answer.secure ? { kind: 'validating' } : { kind: 'not-validating', answer: answer.kind };
    default: {
      const _never: never = answer;
      return _never;
    }
  }
}
