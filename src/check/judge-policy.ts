/**
 * The policy host and the policy file: policy-dns, policy-tls, policy-cert, policy-fetch (each
 * address on its own), policy-consistent, policy-lines, policy-max-age. Pure. The file is
 * parsed by the resolver's own parser; what it tolerates or clamps is reported here.
 */
import { createHash } from 'node:crypto';
import { MAX_MAX_AGE, parsePolicyFile } from '../policy/policy-file.js';
import type { StsPolicy } from '../policy/types.js';
import { isTextPlain, MAX_POLICY_BYTES } from '../resolver/https-fetcher.js';
import { judgeCert } from './cert.js';
import type { DomainFacts, PolicyAddressFacts } from './facts.js';
import type { TlsFacts } from './https-probe.js';
import { finding, pass, type CheckResult } from './types.js';

/** Bodies above this are a warning: real policies are a few hundred bytes (the issue's choice). */
export const POLICY_WARN_BYTES = 4 * 1024;
export const DAY_SECONDS = 86_400;
/** max_age under a day: senders refetch constantly and a policy host outage soon disables MTA-STS. */
export const MIN_MAX_AGE = DAY_SECONDS;
/** Under enforce, RFC 8461 §3.2 suggests weeks or more: under 7 days is a warning. */
export const MIN_ENFORCE_MAX_AGE = 7 * DAY_SECONDS;
const TLS_OK = new Set(['TLSv1.2', 'TLSv1.3']); // RFC 8461 §3.3

/** The policy the later checks use: the first address (in order) that served a readable body. */
export interface FetchedPolicy {
  readonly address: string;
  readonly sha256: string;
  readonly text: string;
  /** Absent when the file does not parse. */
  readonly policy?: StsPolicy;
}

function tlsResult(address: string, host: string, tls: TlsFacts): CheckResult {
  if (TLS_OK.has(tls.protocol))
    return pass('policy-tls', `${tls.protocol}, ${tls.cipher}`, { host, address, protocol: tls.protocol, cipher: tls.cipher }, address);
  return finding('policy-tls', 'error', `${tls.protocol} is older than TLS 1.2`, { host, address, protocol: tls.protocol }, address);
}

function decode(body: Buffer): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return undefined;
  }
}

function judgeAddress(f: PolicyAddressFacts, host: string, nowMs: number, out: CheckResult[]): { body: Buffer; text: string } | undefined {
  const a = f.address;
  const p = f.probe;
  switch (p.kind) {
    case 'connect-failed':
      out.push(
        finding('policy-tls', 'error', `no connection to ${a} port 443: ${p.message} (${p.code})`, { host, address: a, code: p.code }, a),
      );
      return undefined;
    case 'tls-failed':
      out.push(
        finding('policy-tls', 'error', `TLS 1.2+ handshake failed: ${p.message} (${p.code})`, { host, address: a, code: p.code }, a),
      );
      return undefined;
    case 'timeout':
      if (p.tls === undefined) {
        out.push(
          finding(
            'policy-tls',
            'error',
            `no ${p.stage === 'connect' ? 'connection' : 'TLS handshake'} in time${p.cut ? ' (the run timed out)' : ''}`,
            { host, address: a, stage: p.stage },
            a,
          ),
        );
        return undefined;
      }
      out.push(tlsResult(a, host, p.tls), judgeCert('policy-cert', host, p.tls.cert, nowMs, a));
      out.push(
        finding(
          'policy-fetch',
          'error',
          `no HTTP answer in time${p.cut ? ' (the run timed out)' : ''}`,
          { host, address: a, stage: p.stage },
          a,
        ),
      );
      return undefined;
    case 'http-failed':
      out.push(tlsResult(a, host, p.tls), judgeCert('policy-cert', host, p.tls.cert, nowMs, a));
      out.push(finding('policy-fetch', 'error', `HTTP failed: ${p.message} (${p.code})`, { host, address: a, code: p.code }, a));
      return undefined;
    case 'response':
      break;
    default: {
      const _never: never = p;
      return _never;
    }
  }
  out.push(tlsResult(a, host, p.tls), judgeCert('policy-cert', host, p.tls.cert, nowMs, a));
  const evidence = {
    host,
    address: a,
    status: p.status,
    location: p.location ?? null,
    contentType: p.contentType ?? null,
    bytes: p.body.length,
    truncated: p.truncated,
  };
  const errors: string[] = [];
  if (p.status >= 300 && p.status < 400)
    errors.push(`HTTP ${p.status} redirect${p.location !== undefined ? ` to ${p.location}` : ''}: senders never follow redirects`);
  else if (p.status !== 200) errors.push(`HTTP ${p.status}: only 200 counts`);
  if (p.status === 200 && !isTextPlain(p.contentType))
    errors.push(`Content-Type ${p.contentType === undefined ? 'missing' : JSON.stringify(p.contentType)}, not text/plain`);
  if (p.truncated) errors.push(`body over ${MAX_POLICY_BYTES} bytes: senders stop reading`);
  const text = p.status === 200 && !p.truncated ? decode(p.body) : undefined;
  if (p.status === 200 && !p.truncated && text === undefined) errors.push('body is not valid UTF-8');
  if (errors.length > 0) out.push(finding('policy-fetch', 'error', errors.join('; '), evidence, a));
  else if (p.body.length > POLICY_WARN_BYTES)
    out.push(
      finding('policy-fetch', 'warning', `body of ${p.body.length} bytes: over ${POLICY_WARN_BYTES}, is it really a policy?`, evidence, a),
    );
  else out.push(pass('policy-fetch', `HTTP 200, ${p.contentType ?? ''}, ${p.body.length} bytes`, evidence, a));
  return text === undefined ? undefined : { body: p.body, text };
}

/** Every policy-* result except policy-mode and policy-id (which need the state). */
export function judgePolicy(facts: DomainFacts): { results: CheckResult[]; fetched?: FetchedPolicy } {
  const host = facts.policyHost;
  const out: CheckResult[] = [];
  const a = facts.policyAddresses;
  switch (a.kind) {
    case 'error':
      out.push(
        finding('policy-dns', 'error', `${host}: DNS error ${a.code}: senders cannot reach the policy host`, {
          host,
          code: a.code,
          detail: a.message,
        }),
      );
      return { results: out };
    case 'nxdomain':
    case 'nodata':
      out.push(finding('policy-dns', 'error', `${host} has no A or AAAA record: senders cannot fetch the policy`, { host, dns: a.kind }));
      return { results: out };
    case 'records':
      out.push(
        pass('policy-dns', `${host}: ${a.records.map((r) => r.address).join(', ')}`, {
          host,
          addresses: a.records.map((r) => r.address).sort(),
        }),
      );
      break;
    default: {
      const _never: never = a;
      return _never;
    }
  }
  const bodies: Array<{ address: string; body: Buffer; text: string }> = [];
  for (const f of facts.policyProbes) {
    const got = judgeAddress(f, host, facts.nowMs, out);
    if (got !== undefined) bodies.push({ address: f.address, ...got });
  }
  const hashes = bodies.map((b) => ({ address: b.address, sha256: createHash('sha256').update(b.body).digest('hex') }));
  if (hashes.length > 1) {
    const distinct = new Set(hashes.map((h) => h.sha256));
    out.push(
      distinct.size === 1
        ? pass('policy-consistent', `all ${hashes.length} addresses serve the same policy`, { bodies: hashes })
        : finding('policy-consistent', 'warning', `the addresses serve ${distinct.size} different policies: senders get one or the other`, {
            bodies: hashes,
          }),
    );
  }
  const first = bodies[0];
  if (first === undefined) return { results: out };
  const sha256 = hashes[0]!.sha256;
  const parsed = parsePolicyFile(first.text);
  if (!parsed.ok) {
    const list = parsed.problems.map((p) => `${p.line !== undefined ? `line ${p.line}: ` : ''}${p.message} [${p.code}]`);
    out.push(
      finding('policy-lines', 'error', `the policy does not parse, senders ignore it: ${list.join('; ')}`, {
        address: first.address,
        problems: parsed.problems,
        text: first.text,
      }),
    );
    return { results: out, fetched: { address: first.address, sha256, text: first.text } };
  }
  const policy = parsed.value;
  const warnings = parsed.warnings.filter((w) => w.code !== 'EPOLICY_MAX_AGE_CLAMPED');
  const unknown = policy.lines.filter(([k]) => !['version', 'mode', 'max_age', 'mx'].includes(k)).map(([k]) => k);
  const notes = [
    ...warnings.map((w) => `${w.line !== undefined ? `line ${w.line}: ` : ''}${w.message} [${w.code}]`),
    ...(unknown.length > 0 ? [`unknown key(s) ${unknown.join(', ')}: ignored by senders (a typo?)`] : []),
  ];
  const evidence = {
    address: first.address,
    lines: policy.lines,
    mode: policy.mode,
    maxAge: policy.maxAge,
    mx: policy.mx,
    warnings,
    unknownKeys: unknown,
  };
  out.push(
    notes.length > 0
      ? finding('policy-lines', 'warning', notes.join('; '), evidence)
      : pass(
          'policy-lines',
          `${policy.lines.length} lines: mode ${policy.mode}, max_age ${policy.maxAge}, mx ${policy.mx.join(', ') || '(none)'}`,
          evidence,
        ),
  );
  out.push(judgeMaxAge(policy));
  return { results: out, fetched: { address: first.address, sha256, text: first.text, policy } };
}

/** `policy-max-age`, from the value as written (the parser clamps it; the owner should fix it). */
export function judgeMaxAge(policy: StsPolicy): CheckResult {
  const written = policy.lines.find(([k]) => k === 'max_age')?.[1] ?? String(policy.maxAge);
  const seconds = Number(written);
  const evidence = { maxAge: seconds, days: Math.floor(seconds / DAY_SECONDS), mode: policy.mode };
  if (seconds > MAX_MAX_AGE)
    return finding(
      'policy-max-age',
      'error',
      `max_age ${seconds} is over ${MAX_MAX_AGE} (RFC 8461 §3.2): senders clamp it, fix it`,
      evidence,
    );
  if (seconds < MIN_MAX_AGE)
    return finding(
      'policy-max-age',
      'warning',
      `max_age ${seconds} is under one day: a short policy host outage disables MTA-STS`,
      evidence,
    );
  if (policy.mode === 'enforce' && seconds < MIN_ENFORCE_MAX_AGE)
    return finding('policy-max-age', 'warning', `max_age ${seconds} is under 7 days for an enforce policy (weeks are usual)`, evidence);
  return pass('policy-max-age', `max_age ${seconds} (${Math.floor(seconds / DAY_SECONDS)} days)`, evidence);
}
