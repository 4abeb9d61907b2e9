/**
 * The two TXT records: `_mta-sts` (sts-txt) decided by the resolver's own `selectStsRecord`
 * and parser (src/resolver/discovery.ts, src/policy/sts-record.ts), its findings reported
 * instead of applied, and `_smtp._tls` (tlsrpt-txt). Pure.
 */
import { isStsRecordCandidate, parseStsRecord } from '../policy/sts-record.js';
import type { PolicyMode, StsRecord } from '../policy/types.js';
import { selectStsRecord, stsRecordName } from '../resolver/discovery.js';
import type { DnsAnswer } from './dns.js';
import { isTlsrptCandidate, parseTlsrptRecord, TLSRPT_LABEL } from './tlsrpt-record.js';
import { finding, pass, type CheckResult } from './types.js';

function problemsText(problems: ReadonlyArray<{ code: string; message: string }>): string {
  return problems.map((p) => `${p.message} [${p.code}]`).join('; ');
}

/**
 * Why a record that mentions STSv1 is not a candidate, as senders see it: the traps of case
 * and whitespace that make them silently discard it.
 */
export function nearMissReason(text: string): string | undefined {
  if (isStsRecordCandidate(text) || !/stsv1/i.test(text)) return undefined;
  if (/^[ \t]/.test(text)) return 'whitespace before "v=STSv1"';
  if (!text.startsWith('v=STSv1')) return '"v=STSv1" is case-sensitive and must come first';
  if (/^v=STSv1[ \t]*$/.test(text)) return 'nothing after "v=STSv1" (an id= field is required)';
  return 'no ";" right after "v=STSv1"';
}

/** `sts-txt`, and the record when there is exactly one valid one. */
export function judgeStsTxt(domain: string, answer: DnsAnswer<readonly string[]>): { result: CheckResult; record?: StsRecord } {
  const name = stsRecordName(domain);
  switch (answer.kind) {
    case 'error':
      return {
        result: finding('sts-txt', 'error', `TXT ${name}: DNS error ${answer.code}: senders cannot discover the policy`, {
          name,
          code: answer.code,
          detail: answer.message,
        }),
      };
    case 'nxdomain':
    case 'nodata':
      return {
        result: finding('sts-txt', 'error', `no TXT record at ${name}: senders do not know the domain uses MTA-STS`, {
          name,
          dns: answer.kind,
        }),
      };
    case 'records':
      break;
    default: {
      const _never: never = answer;
      return _never;
    }
  }
  // The resolver's own decision (RFC 8461 §3.1), reported instead of applied.
  const selected = selectStsRecord(answer.records);
  const texts = answer.records.map((strings) => strings.join(''));
  const nearMisses = texts.flatMap((record) => {
    const reason = nearMissReason(record);
    return reason === undefined ? [] : [{ record, reason }];
  });
  const evidence = { name, records: answer.records, nearMisses };
  switch (selected.kind) {
    case 'record':
      break;
    case 'none':
      switch (selected.reason) {
        case 'nxdomain':
        case 'nodata':
        case 'no-sts-record': {
          const why =
            nearMisses.length > 0
              ? `: senders discard ${nearMisses.map((n) => `${JSON.stringify(n.record)} (${n.reason})`).join(', ')}`
              : '';
          return { result: finding('sts-txt', 'error', `no MTA-STS record at ${name}${why}`, evidence) };
        }
        case 'multiple-sts-records':
          return {
            result: finding(
              'sts-txt',
              'error',
              `${texts.filter(isStsRecordCandidate).length} MTA-STS records at ${name}: senders ignore them all (RFC 8461 §3.1)`,
              evidence,
            ),
          };
        case 'invalid-sts-record': {
          const only = texts.find(isStsRecordCandidate) ?? '';
          return {
            result: finding('sts-txt', 'error', `invalid MTA-STS record ${JSON.stringify(only)}: ${problemsText(selected.problems)}`, {
              ...evidence,
              problems: selected.problems,
            }),
          };
        }
        default: {
          const _never: never = selected.reason;
          return _never;
        }
      }
    case 'error':
      return {
        result: finding('sts-txt', 'error', `TXT ${name}: ${selected.code}`, { name, code: selected.code, detail: selected.message }),
      };
    default: {
      const _never: never = selected;
      return _never;
    }
  }
  const record = selected.record;
  // The parser's warnings (a duplicated field): the resolver logs them, senders go on.
  const parsed = parseStsRecord(record.text);
  const warnings = parsed.ok ? parsed.warnings : [];
  const ev = { ...evidence, record: record.text, id: record.id, extensions: record.extensions, warnings };
  const notes = [
    ...warnings.map((w) => `${w.message} [${w.code}]`),
    ...nearMisses.map((n) => `another record ${JSON.stringify(n.record)} is discarded (${n.reason})`),
  ];
  if (notes.length > 0)
    return { result: finding('sts-txt', 'warning', `MTA-STS record id ${record.id}, but: ${notes.join('; ')}`, ev), record };
  return { result: pass('sts-txt', `one valid MTA-STS record, id ${record.id}`, ev), record };
}

/** `tlsrpt-txt`: missing is a warning for enforce domains, information otherwise. */
export function judgeTlsrpt(domain: string, answer: DnsAnswer<readonly string[]>, mode: PolicyMode | undefined): CheckResult {
  const name = `${TLSRPT_LABEL}.${domain}`;
  const missingLevel = mode === 'enforce' ? 'warning' : 'info';
  switch (answer.kind) {
    case 'error':
      return finding('tlsrpt-txt', 'error', `TXT ${name}: DNS error ${answer.code}`, { name, code: answer.code, detail: answer.message });
    case 'nxdomain':
    case 'nodata':
      return finding('tlsrpt-txt', missingLevel, `no TLSRPT record at ${name}: nobody hears of failed TLS deliveries`, {
        name,
        dns: answer.kind,
      });
    case 'records':
      break;
    default: {
      const _never: never = answer;
      return _never;
    }
  }
  const texts = answer.records.map((s) => s.join(''));
  const candidates = texts.filter(isTlsrptCandidate);
  const evidence = { name, records: answer.records };
  if (candidates.length === 0) return finding('tlsrpt-txt', missingLevel, `no v=TLSRPTv1 record at ${name}`, evidence);
  if (candidates.length > 1)
    return finding(
      'tlsrpt-txt',
      'error',
      `${candidates.length} TLSRPT records at ${name}: reporters ignore them all (RFC 8460 §3)`,
      evidence,
    );
  const parsed = parseTlsrptRecord(candidates[0]!);
  if (!parsed.ok)
    return finding('tlsrpt-txt', 'error', `invalid TLSRPT record: ${problemsText(parsed.problems)}`, {
      ...evidence,
      problems: parsed.problems,
    });
  const ev = { ...evidence, rua: parsed.value.rua, extensions: parsed.value.extensions, warnings: parsed.warnings };
  if (parsed.warnings.length > 0) return finding('tlsrpt-txt', 'warning', `TLSRPT record with ${problemsText(parsed.warnings)}`, ev);
  return pass('tlsrpt-txt', `TLSRPT reports go to ${parsed.value.rua.join(', ')}`, ev);
}
