/**
 * The DANE lookup for one destination domain (RFC 7672 §2.2), producing a {@link DaneFinding}:
 *
 * 1. MX at the domain. An answer that is not validated (AD clear) means DANE does not apply to
 *    the domain at all (§2.2.1: MX host names from an insecure RRset cannot be trusted). A
 *    validated NXDOMAIN or null MX (RFC 7505) means no mail and no DANE. A validated NODATA
 *    means the domain itself is the only host (RFC 5321 §5.1 implicit MX).
 * 2. Per MX host, in parallel: its address (A, else AAAA) must validate before a TLSA lookup is
 *    made (§2.2.2). TLSA at `_25._tcp.` of the CNAME-expanded host name, then of the original
 *    name when the expanded one has no validated records (§2.2.2).
 * 3. Any failed query (SERVFAIL, timeout, local fault) makes the whole finding `failed`: an
 *    attacker who can break one lookup must not be able to turn DANE off (§2.2). The zone's
 *    `dane_lookup_failure` decides what a remote failure answers.
 *
 * At most {@link DANE_MAX_MX_HOSTS} hosts are looked at, by preference; more make the finding
 * at best `mixed`, never `dane` (the hosts beyond are `not-checked`).
 */
import { normalizeName } from './dns-message.js';
import { tlsaName, tlsaVerdict } from './tlsa.js';
import type { DaneFinding, DnssecDns, HostDane, HostFinding, MxRecord } from './types.js';
import { faultSideOf } from './types.js';

/** Postfix looks at `smtp_mx_address_limit` (5) addresses; a domain with more MX hosts is rare. */
export const DANE_MAX_MX_HOSTS = 10;

/** Remaining time of a deadline, at least 1 ms so that a query still reports a timeout. */
function remaining(deadlineAt: number): number {
  return Math.max(1, deadlineAt - Date.now());
}

interface HostResult {
  readonly dane: HostDane;
  readonly ttl: number;
}

async function hostDane(dns: DnssecDns, host: string, deadlineAt: number): Promise<HostResult> {
  let ttl = Number.POSITIVE_INFINITY;
  // The address: A first, AAAA only when A has no records.
  let address = await dns.query(host, 'A', remaining(deadlineAt));
  if (address.kind === 'error') return { dane: { kind: 'failed', stage: 'address', code: address.code, message: address.message }, ttl: 0 };
  ttl = Math.min(ttl, address.ttl);
  if (address.kind !== 'records') {
    const v6 = await dns.query(host, 'AAAA', remaining(deadlineAt));
    if (v6.kind === 'error') return { dane: { kind: 'failed', stage: 'address', code: v6.code, message: v6.message }, ttl: 0 };
    ttl = Math.min(ttl, v6.ttl);
    if (v6.kind !== 'records') return { dane: { kind: 'no-dane', reason: 'address-absent' }, ttl };
    // Same shape for what follows: owner and secure are all that is read.
    address = { kind: 'records', secure: v6.secure, owner: v6.owner, records: [], ttl: v6.ttl };
  }
  if (!address.secure) return { dane: { kind: 'no-dane', reason: 'address-insecure' }, ttl };

  const candidates = [...new Set([address.owner, normalizeName(host)])];
  let last: HostDane = { kind: 'no-dane', reason: 'tlsa-absent' };
  for (const base of candidates) {
    const name = tlsaName(base);
    const tlsa = await dns.query(name, 'TLSA', remaining(deadlineAt));
    switch (tlsa.kind) {
      case 'error':
        return { dane: { kind: 'failed', stage: 'tlsa', code: tlsa.code, message: tlsa.message }, ttl: 0 };
      case 'records': {
        ttl = Math.min(ttl, tlsa.ttl);
        if (!tlsa.secure) {
          last = { kind: 'no-dane', reason: 'tlsa-insecure', tlsaName: name };
          break;
        }
        const verdict = tlsaVerdict(tlsa.records);
        switch (verdict.kind) {
          case 'usable':
            return { dane: { kind: 'dane', tlsaName: name, usable: verdict.usable, unusable: verdict.unusable }, ttl };
          case 'unusable':
            // Validated records, none usable: RFC 7672 §3.1, no DANE for this host; not retried.
            return { dane: { kind: 'no-dane', reason: 'tlsa-unusable', tlsaName: name }, ttl };
          default: {
            const _never: never = verdict;
            return _never;
          }
        }
      }
      case 'nxdomain':
      case 'nodata':
        ttl = Math.min(ttl, tlsa.ttl);
        last = { kind: 'no-dane', reason: tlsa.secure ? 'tlsa-absent' : 'tlsa-insecure', tlsaName: name };
        break;
      default: {
        const _never: never = tlsa;
        return _never;
      }
    }
  }
  return { dane: last, ttl };
}

/** MX hosts in preference order, then by name (deterministic output), without duplicates. */
function orderHosts(records: readonly MxRecord[]): MxRecord[] {
  const seen = new Set<string>();
  const out: MxRecord[] = [];
  for (const r of [...records].sort((a, b) => a.preference - b.preference || a.exchange.localeCompare(b.exchange))) {
    if (seen.has(r.exchange)) continue;
    seen.add(r.exchange);
    out.push(r);
  }
  return out;
}

/** Find what the DNS says about DANE for `domain` within `timeoutMs`. Never rejects. */
export async function findDane(dns: DnssecDns, domainName: string, timeoutMs: number): Promise<DaneFinding> {
  const domain = normalizeName(domainName);
  const deadlineAt = Date.now() + Math.max(1, timeoutMs);
  const mx = await dns.query(domain, 'MX', remaining(deadlineAt));
  let mxHosts: MxRecord[];
  let ttl: number;
  switch (mx.kind) {
    case 'error':
      return { kind: 'failed', domain, code: mx.code, side: faultSideOf(mx.code), stage: 'mx', message: mx.message, hosts: [] };
    case 'nxdomain':
      return { kind: 'no-dane', domain, reason: mx.secure ? 'domain-nxdomain' : 'mx-insecure', hosts: [], ttl: mx.ttl };
    case 'nodata':
      if (!mx.secure) return { kind: 'no-dane', domain, reason: 'mx-insecure', hosts: [], ttl: mx.ttl };
      mxHosts = [{ preference: 0, exchange: mx.owner }];
      ttl = mx.ttl;
      break;
    case 'records':
      if (!mx.secure) return { kind: 'no-dane', domain, reason: 'mx-insecure', hosts: [], ttl: mx.ttl };
      // RFC 7505 §3: a single MX with the root as exchange: the domain takes no mail.
      if (mx.records.length === 1 && mx.records[0]?.exchange === '') {
        return { kind: 'no-dane', domain, reason: 'null-mx', hosts: [], ttl: mx.ttl };
      }
      mxHosts = orderHosts(mx.records.filter((r) => r.exchange !== ''));
      if (mxHosts.length === 0) return { kind: 'no-dane', domain, reason: 'null-mx', hosts: [], ttl: mx.ttl };
      ttl = mx.ttl;
      break;
    default: {
      const _never: never = mx;
      return _never;
    }
  }

  const checked = mxHosts.slice(0, DANE_MAX_MX_HOSTS);
  const results = await Promise.all(checked.map((r) => hostDane(dns, r.exchange, deadlineAt)));
  const hosts: HostFinding[] = checked.map((r, i) => ({ host: r.exchange, preference: r.preference, dane: results[i]!.dane }));
  for (const r of mxHosts.slice(DANE_MAX_MX_HOSTS)) {
    hosts.push({ host: r.exchange, preference: r.preference, dane: { kind: 'no-dane', reason: 'not-checked' } });
  }
  for (const r of results) ttl = Math.min(ttl, r.ttl);

  const failed = hosts.find((h) => h.dane.kind === 'failed');
  if (failed !== undefined && failed.dane.kind === 'failed') {
    const { code, message } = failed.dane;
    return { kind: 'failed', domain, code, side: faultSideOf(code), stage: 'host', host: failed.host, message, hosts };
  }
  const withDane = hosts.filter((h) => h.dane.kind === 'dane').length;
  if (withDane === hosts.length) return { kind: 'dane', domain, hosts, ttl };
  if (withDane > 0) return { kind: 'mixed', domain, hosts, ttl };
  return { kind: 'no-dane', domain, reason: 'no-tlsa', hosts, ttl };
}
