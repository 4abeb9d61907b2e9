/**
 * Certificate facts as `check` reports them, and the judgements on them shared by the policy
 * host and the MX hosts: chain (OpenSSL's verdict against the trusted roots), names (SAN DNS-IDs
 * only, a wildcard only as the whole left-most label: RFC 8461 §3.3 and §4.2 via RFC 6125,
 * the resolver's own `dnsIdMatches`), and days until expiry.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext, rootCertificates, type DetailedPeerCertificate, type SecureContext, type TLSSocket } from 'node:tls';
import { mxMatches } from '../policy/domain.js';
import { certificateInfo, dnsIdMatches, dnsSubjectAltNames, MIN_TLS_VERSION } from '../resolver/https-fetcher.js';
import { finding, type CheckId, type CheckResult } from './types.js';

/** Days before expiry under which a certificate is a warning (the choice: two weeks). */
export const CERT_WARN_DAYS = 14;
/** Days before expiry under which a certificate is an error: renewal has failed. */
export const CERT_ERROR_DAYS = 3;
const DAY_MS = 86_400_000;

/** JSON-able facts of a presented certificate (evidence). */
export interface CertFacts {
  readonly subject: string;
  readonly issuer: string;
  readonly dnsNames: readonly string[];
  /** ISO 8601. */
  readonly notBefore: string;
  readonly notAfter: string;
  readonly sha256: string;
  /** OpenSSL's verification code for the chain (`CERT_HAS_EXPIRED`, …), null when it chains to a trusted root. */
  readonly chainError: string | null;
}

function iso(text: string | undefined): string {
  const ms = Date.parse(text ?? '');
  return Number.isFinite(ms) ? new Date(ms).toISOString() : '';
}

/** Facts of the peer certificate of a finished handshake made with `checkServerIdentity` off. */
export function certFactsOf(socket: TLSSocket): { cert: CertFacts; chainDer: Buffer[] } | undefined {
  const peer = socket.getPeerCertificate(true);
  if (peer === null || typeof peer !== 'object' || peer.raw === undefined) return undefined;
  const info = certificateInfo(peer);
  const error = socket.authorizationError;
  const cert: CertFacts = {
    subject: info.subject,
    issuer: info.issuer,
    dnsNames: dnsSubjectAltNames(info.subjectAltName),
    notBefore: iso(info.validFrom),
    notAfter: iso(info.validTo),
    sha256: info.fingerprint256,
    chainError: socket.authorized
      ? null
      : error instanceof Error
        ? ((error as { code?: string }).code ?? error.message)
        : String(error ?? 'UNKNOWN'),
  };
  return { cert, chainDer: chainOf(peer) };
}

/** DER of the leaf and each issuer Node knows of, leaf first (stops at a self-signed root). */
function chainOf(leaf: DetailedPeerCertificate): Buffer[] {
  const out: Buffer[] = [];
  const seen = new Set<string>();
  let c: DetailedPeerCertificate | undefined = leaf;
  while (c !== undefined && c.raw !== undefined && !seen.has(c.fingerprint256)) {
    seen.add(c.fingerprint256);
    out.push(c.raw);
    c = c.issuerCertificate;
  }
  return out;
}

/** Whole days until `notAfter`; once expired, minus the whole days since (0 on the first day). */
export function daysLeft(cert: CertFacts, nowMs: number): number {
  const ms = Date.parse(cert.notAfter) - nowMs;
  return ms >= 0 ? Math.floor(ms / DAY_MS) : -Math.floor(-ms / DAY_MS);
}

/** Past `notAfter` (or not yet `notBefore`). */
export function isOutsideValidity(cert: CertFacts, nowMs: number): boolean {
  return Date.parse(cert.notAfter) < nowMs || Date.parse(cert.notBefore) > nowMs;
}

/** Does the certificate name `host` by a SAN DNS-ID (never the CN)? */
export function namesHost(cert: CertFacts, host: string): boolean {
  return cert.dnsNames.some((n) => dnsIdMatches(host, n));
}

/** The certificate names that could be the name of an MX host matching some policy pattern. */
export function namesMatchingPatterns(cert: CertFacts, patterns: readonly string[]): string[] {
  return cert.dnsNames.filter((n) =>
    patterns.some((p) => {
      const name = n.toLowerCase();
      if (!name.startsWith('*.')) return mxMatches(p, name);
      // A wildcard name covers one label: it overlaps `*.x` and any `a.x`.
      return p === name || (!p.startsWith('*.') && dnsIdMatches(p, name));
    }),
  );
}

/**
 * The certificate result of one TLS endpoint: chain, name, expiry. `extra` adds problems (the
 * MX pattern rule). Errors first, then the expiry warning, else a pass.
 */
export function judgeCert(
  id: CheckId,
  host: string,
  cert: CertFacts,
  nowMs: number,
  subject: string,
  extra: readonly string[] = [],
  evidence: Record<string, unknown> = {},
): CheckResult {
  const days = daysLeft(cert, nowMs);
  const ev = { host, ...cert, daysLeft: days, ...evidence };
  const problems: string[] = [];
  if (cert.chainError !== null) problems.push(`the chain does not verify (${cert.chainError})`);
  if (cert.dnsNames.length === 0) problems.push(`no DNS subjectAltName: the subject CN does not count for ${host}`);
  else if (!namesHost(cert, host)) problems.push(`not valid for ${host} (names: ${cert.dnsNames.join(', ')})`);
  problems.push(...extra);
  if (Date.parse(cert.notAfter) < nowMs) problems.push(`expired ${-days} day(s) ago, on ${cert.notAfter.slice(0, 10)}`);
  else if (Date.parse(cert.notBefore) > nowMs) problems.push(`not valid before ${cert.notBefore}`);
  else if (days < CERT_ERROR_DAYS) problems.push(`expires in ${days} day(s)`);
  if (problems.length > 0) return finding(id, 'error', `certificate: ${problems.join('; ')}`, ev, subject);
  if (days < CERT_WARN_DAYS)
    return finding(id, 'warning', `certificate expires in ${days} day(s), on ${cert.notAfter.slice(0, 10)}`, ev, subject);
  return finding(id, 'info', `certificate valid for ${host}, ${days} days left (until ${cert.notAfter.slice(0, 10)})`, ev, subject);
}

/**
 * The TLS client context of a run: TLS 1.2 or newer (RFC 8461 §3.3, RFC 8996), and the trusted
 * roots: Node's (NODE_EXTRA_CA_CERTS included) unless `extraCa` is given, which Node's `ca`
 * option would REPLACE them with, so they are rebuilt as bundled + NODE_EXTRA_CA_CERTS + extra.
 */
export function clientContext(extraCa?: string): SecureContext {
  if (extraCa === undefined) return createSecureContext({ minVersion: MIN_TLS_VERSION });
  const extraFile = process.env['NODE_EXTRA_CA_CERTS'];
  let fromEnv: string[] = [];
  if (extraFile !== undefined && extraFile !== '') {
    try {
      fromEnv = [readFileSync(extraFile, 'utf8')];
    } catch {
      fromEnv = []; // Node itself only warns about an unreadable file
    }
  }
  return createSecureContext({ minVersion: MIN_TLS_VERSION, ca: [...rootCertificates, ...fromEnv, extraCa] });
}
