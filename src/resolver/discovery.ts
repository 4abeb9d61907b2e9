/**
 * MTA-STS discovery (RFC 8461 §3.1): find the one `_mta-sts` TXT record of a policy domain.
 */
import { isStsRecordCandidate, parseStsRecord } from '../policy/sts-record.js';
import type { Discovery, DnsPort } from './types.js';

/** RFC 8461 §3.1: the TXT record lives at this label under the policy domain. */
export const STS_RECORD_LABEL = '_mta-sts';

/** The name queried for `policyDomain` (a lower-case A-label without trailing dot). */
export function stsRecordName(policyDomain: string): string {
  return `${STS_RECORD_LABEL}.${policyDomain}`;
}

/**
 * Decide from the TXT records found (each a list of strings) which STS record applies.
 * Pure: the `query` command can replay recorded answers through it.
 *
 * RFC 8461 §3.1: the strings of a record are concatenated with nothing between them; records
 * that do not start with `v=STSv1` are discarded first; if not exactly one remains there is no
 * usable record; the remaining one must parse.
 */
export function selectStsRecord(strings: ReadonlyArray<readonly string[]>): Discovery {
  const candidates = strings.map((parts) => parts.join('')).filter((text) => isStsRecordCandidate(text));
  const only = candidates[0];
  if (only === undefined) return { kind: 'none', reason: 'no-sts-record', strings, problems: [] };
  if (candidates.length > 1) return { kind: 'none', reason: 'multiple-sts-records', strings, problems: [] };
  const parsed = parseStsRecord(only);
  if (!parsed.ok) return { kind: 'none', reason: 'invalid-sts-record', strings, problems: parsed.problems };
  return { kind: 'record', record: parsed.value, strings };
}

/**
 * Look up and select the STS record of `policyDomain` within `timeoutMs`. NXDOMAIN and NODATA
 * are "no record"; any other DNS failure is an error, which callers must not treat as absence
 * (a cached policy still applies, RFC 8461 §3.3). Never rejects.
 */
export async function discover(dns: DnsPort, policyDomain: string, timeoutMs: number): Promise<Discovery> {
  const name = stsRecordName(policyDomain);
  let answer;
  try {
    answer = await dns.resolveTxt(name, timeoutMs);
  } catch (err) {
    // A DnsPort should not throw; if one does, it is still a DNS failure, not an absence.
    const code = typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : 'EDNS_UNKNOWN';
    return { kind: 'error', code, message: err instanceof Error ? err.message : String(err) };
  }
  switch (answer.kind) {
    case 'records':
      return selectStsRecord(answer.records);
    case 'nxdomain':
    case 'nodata':
      return { kind: 'none', reason: answer.kind, strings: [], problems: [] };
    case 'error':
      return { kind: 'error', code: answer.code, message: answer.message };
    default: {
      const _never: never = answer;
      return _never;
    }
  }
}
