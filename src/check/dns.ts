/**
 * The DNS questions `check` asks, as one port ({@link CheckDns}), built on the two clients the
 * daemon has, not on copies of them:
 *
 * - TXT (`_mta-sts`, `_smtp._tls`) through the MTA-STS resolver's own seam (`createSystemDns`,
 *   src/resolver/dns.ts), so `check` sees exactly what the daemon sees;
 * - MX, A/AAAA and TLSA through the DANE side's DNSSEC client (src/dane/dnssec-client.ts): DO
 *   set, the AD bit read, TCP when truncated. A TLSA answer's `secure` is the validating
 *   resolver's AD bit, which is what `dane-tlsa` reports as `validated`.
 *
 * Both ask one resolver: `--resolver` (the syntax of the config's `dns.resolver`), by default
 * the first nameserver of /etc/resolv.conf. Answers are values: nothing expected is thrown.
 */
import { isIP } from 'node:net';
import { createDnssecDns } from '../dane/dnssec-client.js';
import { formatResolverAddress, systemResolverAddress, type ResolverAddress } from '../dane/resolver-address.js';
import type { DnssecDns, MxRecord } from '../dane/types.js';
import { createSystemDns } from '../resolver/dns.js';
import type { DnsPort } from '../resolver/types.js';
import type { TlsaAnswer } from './tlsa.js';

export type { MxRecord } from '../dane/types.js';

/** One answer: records, a negative answer, or a DNS error with its stable code. */
export type DnsAnswer<T> =
  | { readonly kind: 'records'; readonly records: readonly T[] }
  | { readonly kind: 'nxdomain' | 'nodata' }
  | { readonly kind: 'error'; readonly code: string; readonly message: string };

export interface Address {
  readonly address: string;
  readonly family: 4 | 6;
}

export interface CheckDns {
  /** TXT records, each the list of its strings. */
  txt(name: string, timeoutMs: number): Promise<DnsAnswer<readonly string[]>>;
  mx(name: string, timeoutMs: number): Promise<DnsAnswer<MxRecord>>;
  /** A and AAAA records; `records` when either family has some. */
  addresses(name: string, timeoutMs: number): Promise<DnsAnswer<Address>>;
  /** The TLSA RRset at `name`, with the AD bit as `secure`. */
  tlsa(name: string, timeoutMs: number): Promise<TlsaAnswer>;
}

/** The records of an answer of either client, without what `check` does not judge. */
function plain<T, R>(
  a: { kind: 'records'; records: readonly T[] } | { kind: 'nxdomain' | 'nodata' } | { kind: 'error'; code: string; message: string },
  map: (r: T) => R,
): DnsAnswer<R> {
  switch (a.kind) {
    case 'records':
      return { kind: 'records', records: a.records.map(map) };
    case 'nxdomain':
    case 'nodata':
      return { kind: a.kind };
    case 'error':
      return { kind: 'error', code: a.code, message: a.message };
    default: {
      const _never: never = a;
      return _never;
    }
  }
}

/** A and AAAA together: records if either has some, else the first error, else NXDOMAIN if either says so. */
function both(v4: DnsAnswer<Address>, v6: DnsAnswer<Address>): DnsAnswer<Address> {
  const records = [...(v4.kind === 'records' ? v4.records : []), ...(v6.kind === 'records' ? v6.records : [])];
  if (records.length > 0) return { kind: 'records', records };
  const error = [v4, v6].find((a) => a.kind === 'error');
  if (error !== undefined) return error;
  return v4.kind === 'nxdomain' || v6.kind === 'nxdomain' ? { kind: 'nxdomain' } : { kind: 'nodata' };
}

/** `check`'s port on the resolver's TXT seam and the DANE side's DNSSEC client. */
export function createCheckDns(txtPort: DnsPort, dnssec: DnssecDns): CheckDns {
  return {
    async txt(name, timeoutMs) {
      return plain(await txtPort.resolveTxt(name, timeoutMs), (r: readonly string[]) => r);
    },
    async mx(name, timeoutMs) {
      return plain(await dnssec.query(name, 'MX', timeoutMs), (r: MxRecord) => r);
    },
    async addresses(name, timeoutMs) {
      const literal = isIP(name);
      if (literal === 4 || literal === 6) return { kind: 'records', records: [{ address: name, family: literal }] };
      const [v4, v6] = await Promise.all([dnssec.query(name, 'A', timeoutMs), dnssec.query(name, 'AAAA', timeoutMs)]);
      return both(
        plain(v4, (address: string) => ({ address, family: 4 as const })),
        plain(v6, (address: string) => ({ address, family: 6 as const })),
      );
    },
    tlsa: (name, timeoutMs) => dnssec.query(name, 'TLSA', timeoutMs),
  };
}

/**
 * The production {@link CheckDns}: every question to `resolver` (`--resolver`), by default the
 * first nameserver of /etc/resolv.conf (c-ares's TXT lookups then keep the system's list).
 */
export function createSystemCheckDns(resolver?: ResolverAddress): CheckDns {
  const txtPort = createSystemDns(resolver === undefined ? {} : { servers: [formatResolverAddress(resolver)] });
  return createCheckDns(txtPort, createDnssecDns(resolver ?? systemResolverAddress()));
}
