/**
 * Human-readable rendering of a {@link QueryReport}. Pure.
 */
import type { FetchTimings } from '../../src/resolver/types.js';
import type { PostfixAnswer } from '../../adapters/protocol/postfix-answer.js';
import type { QueryReport } from './query-run.js';

/** Largest part of a policy body echoed when it does not parse. */
const MAX_BODY_ECHO_CHARS = 2000;

/** The report as indented text, one fact per line. */
export function formatQueryReport(r: QueryReport): string {
  const out: string[] = [];
  out.push(`Domain: ${r.domain} (zone ${r.zone}, timeout ${r.timeoutSec}s)`);
  out.push('');

  const d = r.discovery;
  out.push(`1. TXT ${d.name} (${ms(d.ms)})`);
  switch (d.result.kind) {
    case 'error':
      out.push(`   DNS error: ${d.result.code}: ${d.result.message}`);
      break;
    case 'none':
      for (const s of d.result.strings) out.push(`   ${quoteStrings(s)}`);
      out.push(`   no usable record: ${d.result.reason}`);
      for (const p of d.result.problems) out.push(`   problem: ${p.message} [${p.code}]`);
      break;
    case 'record':
      for (const s of d.result.strings) out.push(`   ${quoteStrings(s)}`);
      out.push(`   id: ${d.result.record.id}`);
      for (const [name, value] of d.result.record.extensions) out.push(`   extension: ${name}=${value}`);
      break;
    default: {
      const _never: never = d.result;
      out.push(String(_never));
    }
  }

  if (r.fetch !== undefined) {
    const f = r.fetch.result;
    out.push('');
    out.push(`2. GET ${f.url} (${ms(r.fetch.ms)})`);
    if (f.status !== undefined) out.push(`   status: ${f.status}`);
    out.push(`   content-type: ${f.contentType ?? '(none)'}`);
    const cert = f.certificate;
    if (cert !== undefined) {
      out.push('   certificate:');
      out.push(`     subject: ${oneLine(cert.subject)}`);
      out.push(`     issuer: ${oneLine(cert.issuer)}`);
      out.push(`     subjectAltName: ${cert.subjectAltName}`);
      out.push(`     valid: ${cert.validFrom} .. ${cert.validTo}`);
      out.push(`     sha256: ${cert.fingerprint256}`);
    }
    out.push(`   timings: ${formatTimings(f.timings)}`);
    if (f.kind === 'error') out.push(`   fetch failed: ${f.message} [${f.code}]`);
  }

  if (r.parse !== undefined) {
    const p = r.parse.result;
    out.push('');
    out.push(`3. Policy file (${ms(r.parse.ms)})`);
    if (p.ok) {
      for (const [key, value] of p.value.lines) out.push(`   ${key}: ${value}`);
      out.push(`   => mode ${p.value.mode}, max_age ${p.value.maxAge}s, ${p.value.mx.length} mx pattern(s)`);
      for (const w of p.warnings) out.push(`   warning: ${lineRef(w.line)}${w.message} [${w.code}]`);
    } else {
      for (const e of p.problems) out.push(`   invalid: ${lineRef(e.line)}${e.message} [${e.code}]`);
      if (r.fetch?.result.kind === 'ok') {
        const body = r.fetch.result.body;
        out.push('   body:');
        for (const line of body.slice(0, MAX_BODY_ECHO_CHARS).split(/\r?\n/)) out.push(`   | ${JSON.stringify(line).slice(1, -1)}`);
        if (body.length > MAX_BODY_ECHO_CHARS) out.push(`   | ... (${body.length} characters in all)`);
      }
    }
  }

  out.push('');
  out.push(`Postfix answer: ${formatPostfix(r.postfix)}`);
  if (r.postfix.kind === 'ok' && r.postfix.plainData !== r.postfix.data) {
    out.push(`  (before Postfix 3.10: OK ${r.postfix.plainData})`);
  }
  out.push(`Result: ${describeOutcome(r)} (${ms(r.totalMs)} in all)`);
  return `${out.join('\n')}\n`;
}

/** A socketmap-style rendering of the answer. */
export function formatPostfix(a: PostfixAnswer): string {
  switch (a.kind) {
    case 'ok':
      return `OK ${a.data}`;
    case 'notfound':
      return 'NOTFOUND (no TLS policy from MTA-STS)';
    case 'temp':
      return `TEMP ${a.reason}`;
    default: {
      const _never: never = a;
      return String(_never);
    }
  }
}

function describeOutcome(r: QueryReport): string {
  const res = r.resolution;
  switch (res.kind) {
    case 'policy':
      return `policy found, mode ${res.policy.mode}, id ${res.id}, expires ${new Date(res.expiresAt).toISOString()}`;
    case 'no-policy':
      return `${r.outcome === 'error' ? 'error' : 'no policy'}: ${res.reason}${res.detail !== undefined ? ` (${res.detail})` : ''}`;
    case 'dns-error':
      return `error: DNS ${res.code}: ${res.detail}`;
    default: {
      const _never: never = res;
      return String(_never);
    }
  }
}

function formatTimings(t: FetchTimings): string {
  const parts: string[] = [];
  if (t.dnsMs !== undefined) parts.push(`dns ${ms(t.dnsMs)}`);
  if (t.connectMs !== undefined) parts.push(`connect ${ms(t.connectMs)}`);
  if (t.tlsMs !== undefined) parts.push(`tls ${ms(t.tlsMs)}`);
  if (t.firstByteMs !== undefined) parts.push(`first byte ${ms(t.firstByteMs)}`);
  parts.push(`total ${ms(t.totalMs)}`);
  return parts.join(', ');
}

/** The TXT strings exactly as returned: each JSON-quoted, so boundaries and spaces show. */
function quoteStrings(strings: readonly string[]): string {
  return strings.map((s) => JSON.stringify(s)).join(' ');
}

function lineRef(line: number | undefined): string {
  return line === undefined ? '' : `line ${line}: `;
}

function oneLine(s: string): string {
  return s.replace(/\r?\n/g, ', ');
}

function ms(n: number): string {
  return `${Math.round(n * 10) / 10} ms`;
}
