/**
 * The MX side: mx-dns, mx-coverage, mx-stale-pattern, mx-not-checked, and for each checked
 * host mx-address, then per address mx-starttls, mx-tls, mx-cert and dane-tlsa. Pure. Also
 * returns what a sender would find at each host, for the sender's view.
 */
import { mxMatches } from '../policy/domain.js';
import type { StsPolicy } from '../policy/types.js';
import { isOutsideValidity, judgeCert, namesHost, namesMatchingPatterns } from './cert.js';
import { isNullMx, sortMx, type DomainFacts, type MxHostFacts } from './facts.js';
import type { SmtpProbe } from './smtp-probe.js';
import { formatTlsa, tlsaName } from '../dane/tlsa.js';
import { matchTlsa } from './tlsa.js';
import { finding, pass, type CheckResult } from './types.js';

const TLS_OK = new Set(['TLSv1.2', 'TLSv1.3']); // RFC 8461 §4.2 via RFC 7525

/** What a sender finds at one address: a TLS session it can verify, or why not. */
export interface AddressView {
  readonly address: string;
  /** STARTTLS, TLS 1.2+, a chain to a trusted root, the host's name, unexpired: RFC 8461 §4.2. */
  readonly verified: boolean;
  readonly problem?: string;
  /** DANE: a published TLSA RRset matched (`match`), or not (`no-match`); `none` when no usable one. */
  readonly dane: 'match' | 'no-match' | 'none';
}

export interface HostView {
  readonly host: string;
  readonly matchesPolicy: boolean;
  readonly addresses: readonly AddressView[];
}

const STAGE_TEXT = {
  connect: 'connection',
  banner: '220 greeting',
  ehlo: 'EHLO reply',
  starttls: 'STARTTLS reply',
  tls: 'TLS handshake',
} as const;

function judgeProbe(
  h: MxHostFacts,
  address: string,
  p: SmtpProbe,
  facts: DomainFacts,
  policy: StsPolicy | undefined,
  out: CheckResult[],
): AddressView {
  const host = h.host;
  const subject = `${host} ${address}`;
  const ev = { host, address, port: facts.mxPort };
  const down = (problem: string): AddressView => ({ address, verified: false, problem, dane: 'none' });
  switch (p.kind) {
    case 'connect-failed':
      out.push(
        finding(
          'mx-starttls',
          'error',
          `no connection to port ${facts.mxPort}: ${p.message} (${p.code})`,
          { ...ev, code: p.code },
          subject,
        ),
      );
      return down('no connection');
    case 'timeout': {
      const what = `no ${STAGE_TEXT[p.stage]} in time${p.cut ? ' (the run timed out)' : ''}`;
      if (p.stage === 'tls') {
        out.push(pass('mx-starttls', 'STARTTLS offered and accepted', { ...ev, banner: p.banner ?? [], ehlo: p.ehlo ?? [] }, subject));
        out.push(finding('mx-tls', 'error', what, { ...ev, stage: p.stage }, subject));
      } else {
        out.push(finding('mx-starttls', 'error', what, { ...ev, stage: p.stage, banner: p.banner ?? [], ehlo: p.ehlo ?? [] }, subject));
      }
      return down(what);
    }
    case 'smtp-error':
      out.push(
        finding(
          'mx-starttls',
          'error',
          `${p.stage === 'starttls' ? 'STARTTLS refused' : `SMTP ${p.stage}`}: ${p.message}`,
          { ...ev, stage: p.stage, reply: p.reply },
          subject,
        ),
      );
      return down(p.message);
    case 'no-starttls':
      out.push(
        finding(
          'mx-starttls',
          'error',
          'STARTTLS not offered: senders cannot use TLS here',
          { ...ev, banner: p.banner, ehlo: p.ehlo },
          subject,
        ),
      );
      return down('STARTTLS not offered');
    case 'tls-failed':
      out.push(pass('mx-starttls', 'STARTTLS offered and accepted', { ...ev, banner: p.banner, ehlo: p.ehlo }, subject));
      out.push(finding('mx-tls', 'error', `TLS 1.2+ handshake failed: ${p.message} (${p.code})`, { ...ev, code: p.code }, subject));
      return down('no TLS 1.2+ handshake');
    case 'tls':
      break;
    default: {
      const _never: never = p;
      return _never;
    }
  }
  out.push(pass('mx-starttls', 'STARTTLS offered and accepted', { ...ev, banner: p.banner, ehlo: p.ehlo }, subject));
  const tlsOk = TLS_OK.has(p.protocol);
  out.push(
    tlsOk
      ? pass('mx-tls', `${p.protocol}, ${p.cipher}`, { ...ev, protocol: p.protocol, cipher: p.cipher }, subject)
      : finding('mx-tls', 'error', `${p.protocol} is older than TLS 1.2`, { ...ev, protocol: p.protocol }, subject),
  );
  const patterns = policy !== undefined && policy.mode !== 'none' ? policy.mx : undefined;
  const matching = patterns === undefined ? undefined : namesMatchingPatterns(p.cert, patterns);
  const extra =
    matching !== undefined && matching.length === 0 ? [`no certificate name matches a policy mx pattern (${patterns!.join(', ')})`] : [];
  const cert = judgeCert('mx-cert', host, p.cert, facts.nowMs, subject, extra, { address, namesMatchingPolicy: matching ?? null });
  out.push(cert);
  const verified = tlsOk && p.cert.chainError === null && namesHost(p.cert, host) && !isOutsideValidity(p.cert, facts.nowMs);
  const dane = judgeDane(h, address, p.chainDer, out);
  return { address, verified, ...(verified ? {} : { problem: 'the certificate does not verify' }), dane };
}

/**
 * `dane-tlsa` of one address that completed TLS; returns its DANE standing. `validated` is the
 * AD bit of the DNSSEC client's answer: RFC 7672 §2.2, DANE senders use only validated records.
 */
function judgeDane(h: MxHostFacts, address: string, chainDer: readonly Buffer[], out: CheckResult[]): AddressView['dane'] {
  const t = h.tlsa;
  if (t.kind !== 'records') return 'none';
  const subject = `${h.host} ${address}`;
  const name = tlsaName(h.host);
  const ev = { name, host: h.host, address, validated: t.secure, records: t.records.map(formatTlsa) };
  const m = matchTlsa(t.records, chainDer);
  if (!t.secure) {
    out.push(
      finding(
        'dane-tlsa',
        'warning',
        `TLSA records at ${name} are not DNSSEC-validated: DANE senders ignore them (sign the zone, or remove them)`,
        { ...ev, match: m },
        subject,
      ),
    );
    return 'none';
  }
  switch (m.kind) {
    case 'match':
      out.push(
        pass(
          'dane-tlsa',
          `TLSA ${m.record.slice(0, 20)}… matches the ${m.position === 0 ? 'certificate' : 'chain'} (DNSSEC-validated)`,
          { ...ev, match: m },
          subject,
        ),
      );
      return 'match';
    case 'no-match':
      out.push(
        finding(
          'dane-tlsa',
          'error',
          `no TLSA record at ${name} matches the certificate presented: DANE senders will not deliver here`,
          { ...ev, match: m },
          subject,
        ),
      );
      return 'no-match';
    case 'unusable':
      out.push(
        finding(
          'dane-tlsa',
          'warning',
          `TLSA records at ${name} exist but none is usable for SMTP (${[...new Set(m.reasons)].join(', ')}): DANE does not apply`,
          { ...ev, match: m },
          subject,
        ),
      );
      return 'none';
    default: {
      const _never: never = m;
      return _never;
    }
  }
}

/** `dane-tlsa` for a host without TLSA records, or whose lookup failed: one result per host. */
function judgeTlsaLookup(h: MxHostFacts, out: CheckResult[]): void {
  const t = h.tlsa;
  const name = tlsaName(h.host);
  switch (t.kind) {
    case 'records':
      return;
    case 'nxdomain':
    case 'nodata':
      out.push(pass('dane-tlsa', `no TLSA record at ${name}: DANE not published`, { name, dns: t.kind, validated: t.secure }, h.host));
      return;
    case 'error':
      // A DANE sender defers mail when the TLSA lookup fails (RFC 7672 §2.2): a SERVFAIL (bogus) is an error.
      out.push(
        finding(
          'dane-tlsa',
          t.code === 'EDANE_DNS_SERVFAIL' ? 'error' : 'warning',
          `TLSA lookup at ${name} failed: ${t.code}`,
          { name, code: t.code, detail: t.message },
          h.host,
        ),
      );
      return;
    default: {
      const _never: never = t;
      return _never;
    }
  }
}

/** Every MX result, and what a sender finds at each checked host. */
export function judgeMx(facts: DomainFacts, policy: StsPolicy | undefined): { results: CheckResult[]; hosts: HostView[] } {
  const out: CheckResult[] = [];
  const mx = facts.mx;
  let dnsHosts: string[] = [];
  switch (mx.kind) {
    case 'error':
      out.push(finding('mx-dns', 'error', `MX ${facts.domain}: DNS error ${mx.code}`, { code: mx.code, detail: mx.message }));
      break;
    case 'nxdomain':
      out.push(finding('mx-dns', 'error', `${facts.domain} does not exist (NXDOMAIN): no mail can be delivered`, { dns: mx.kind }));
      break;
    case 'nodata':
      out.push(
        finding('mx-dns', 'warning', `no MX record: senders use ${facts.domain}'s own address (implicit MX, RFC 5321 §5.1)`, {
          dns: mx.kind,
        }),
      );
      dnsHosts = [facts.domain];
      break;
    case 'records':
      if (isNullMx(mx.records)) {
        out.push(
          finding('mx-dns', 'warning', 'null MX (RFC 7505): the domain takes no mail, an MTA-STS policy is moot', { mx: mx.records }),
        );
      } else {
        const sorted = sortMx(mx.records);
        out.push(pass('mx-dns', sorted.map((r) => `${r.preference} ${r.exchange}`).join(', '), { mx: sorted }));
        dnsHosts = sorted.map((r) => r.exchange);
      }
      break;
    default: {
      const _never: never = mx;
      return _never;
    }
  }
  if (policy !== undefined && policy.mode !== 'none' && dnsHosts.length > 0) {
    const uncovered = dnsHosts.filter((h) => !policy.mx.some((p) => mxMatches(p, h)));
    const evidence = { hosts: dnsHosts, patterns: policy.mx, uncovered };
    out.push(
      uncovered.length === 0
        ? pass('mx-coverage', 'every MX host matches a policy mx pattern', evidence)
        : finding(
            'mx-coverage',
            policy.mode === 'enforce' ? 'error' : 'warning',
            `MX host(s) matching no policy mx pattern: ${uncovered.join(', ')}${policy.mode === 'enforce' ? ': senders refuse them' : ''}`,
            evidence,
          ),
    );
    const stale = policy.mx.filter((p) => !dnsHosts.some((h) => mxMatches(p, h)));
    out.push(
      stale.length === 0
        ? pass('mx-stale-pattern', 'every policy mx pattern matches an MX host', { patterns: policy.mx, stale })
        : finding('mx-stale-pattern', 'warning', `policy mx pattern(s) matching no MX host: ${stale.join(', ')}`, {
            patterns: policy.mx,
            stale,
          }),
    );
  }
  if (facts.mxNotChecked.length > 0) {
    out.push(
      pass(
        'mx-not-checked',
        `${facts.mxNotChecked.length} MX host(s) after the first ${facts.mxHosts.length} not checked: ${facts.mxNotChecked.map((r) => r.exchange).join(', ')}`,
        { hosts: facts.mxNotChecked },
      ),
    );
  }
  const hosts: HostView[] = [];
  for (const h of facts.mxHosts) {
    const matchesPolicy = policy !== undefined && policy.mx.some((p) => mxMatches(p, h.host));
    judgeTlsaLookup(h, out);
    const a = h.addresses;
    if (a.kind !== 'records') {
      const text = a.kind === 'error' ? `DNS error ${a.code}` : 'no A or AAAA record';
      out.push(
        finding(
          'mx-address',
          'error',
          `${h.host}: ${text}`,
          { host: h.host, ...(a.kind === 'error' ? { code: a.code } : { dns: a.kind }) },
          h.host,
        ),
      );
      hosts.push({ host: h.host, matchesPolicy, addresses: [] });
      continue;
    }
    out.push(
      pass(
        'mx-address',
        `${h.host}: ${h.probes.map((p) => p.address).join(', ')}`,
        { host: h.host, addresses: h.probes.map((p) => p.address) },
        h.host,
      ),
    );
    hosts.push({ host: h.host, matchesPolicy, addresses: h.probes.map((p) => judgeProbe(h, p.address, p.probe, facts, policy, out)) });
  }
  return { results: out, hosts };
}
