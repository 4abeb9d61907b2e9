/**
 * Values of the DANE side (RFC 7672): what one DNSSEC-aware query answered, what a TLSA record
 * says, and what the DNS says about one destination domain. Outcomes are values handled with
 * exhaustive switches; nothing expected is thrown. The codes are stable and listed in
 * docs/dane.md ("Codes").
 */

/** Stable codes of a DNSSEC-aware query that gave no usable DNS answer. */
export type DaneDnsErrorCode =
  /** The deadline passed with no answer (UDP retransmitted, TCP included). */
  | 'EDANE_DNS_TIMEOUT'
  /** The resolver answered SERVFAIL: a bogus signature, or it could not reach the authority. */
  | 'EDANE_DNS_SERVFAIL'
  /** The resolver answered REFUSED: it does not serve this host (its access control). */
  | 'EDANE_DNS_REFUSED'
  /** Another RCODE (FORMERR, NOTIMP, BADVERS, ...): the resolver does not speak what we ask. */
  | 'EDANE_DNS_RCODE'
  /** An answer that does not decode, does not match the question, or exceeds the size asked for. */
  | 'EDANE_DNS_MALFORMED'
  /** A socket error talking to the resolver (refused, unreachable, out of descriptors). */
  | 'EDANE_DNS_NETWORK';

/**
 * Which side a failure is on. `local`: this host, its resolver or the path to it is at fault
 * (misconfigured, down, out of descriptors): never "no DANE", always a temporary failure.
 * `remote`: the DNS of the destination could not be validated or reached (SERVFAIL, timeout):
 * the zone's `dane_lookup_failure` decides.
 */
export type FaultSide = 'local' | 'remote';

/** The side of each code: the only place this is decided. */
export function faultSideOf(code: DaneDnsErrorCode): FaultSide {
  switch (code) {
    case 'EDANE_DNS_TIMEOUT':
    case 'EDANE_DNS_SERVFAIL':
      return 'remote';
    case 'EDANE_DNS_REFUSED':
    case 'EDANE_DNS_RCODE':
    case 'EDANE_DNS_MALFORMED':
    case 'EDANE_DNS_NETWORK':
      return 'local';
    default: {
      const _never: never = code;
      return _never;
    }
  }
}

/** Record types the DANE side asks for. */
export type DaneQueryType = 'MX' | 'A' | 'AAAA' | 'TLSA' | 'NS';

/** One MX record (RFC 1035 §3.3.9), exchange lower-cased without the trailing dot. */
export interface MxRecord {
  readonly preference: number;
  readonly exchange: string;
}

/** One TLSA record (RFC 6698 §2.1), as on the wire. */
export interface TlsaRecord {
  readonly usage: number;
  readonly selector: number;
  readonly matchingType: number;
  readonly data: Buffer;
}

/** Record data per query type. */
export interface RecordsOf {
  readonly MX: MxRecord;
  readonly A: string;
  readonly AAAA: string;
  readonly TLSA: TlsaRecord;
  /** Name server host names, lower-cased (used by the start-up probe only). */
  readonly NS: string;
}

/**
 * The answer of one query to the validating resolver. `secure` is the AD bit: the resolver
 * validated the answer (or the denial) with DNSSEC. An unsigned answer has `secure: false`.
 */
export type DnssecAnswer<T extends DaneQueryType> =
  | {
      readonly kind: 'records';
      readonly secure: boolean;
      /** The owner name of the records: the query name after any CNAMEs. */
      readonly owner: string;
      readonly records: ReadonlyArray<RecordsOf[T]>;
      /** The smallest TTL of the records and the CNAMEs leading to them, in seconds. */
      readonly ttl: number;
    }
  | {
      /** NXDOMAIN or NODATA (RFC 2308): the name, or the type at it, does not exist. */
      readonly kind: 'nxdomain' | 'nodata';
      readonly secure: boolean;
      readonly owner: string;
      /** Negative TTL: min(SOA TTL, SOA MINIMUM) from the authority section, in seconds. */
      readonly ttl: number;
    }
  | { readonly kind: 'error'; readonly code: DaneDnsErrorCode; readonly message: string };

/** The DNSSEC-aware DNS port of the DANE side. */
export interface DnssecDns {
  /** Ask `type` at `name` with the DO bit; resolves within `timeoutMs`; never rejects. */
  query<T extends DaneQueryType>(name: string, type: T, timeoutMs: number): Promise<DnssecAnswer<T>>;
}

/** What the TLSA records of one MX host are worth to an SMTP client (RFC 7672 §3.1). */
export type TlsaVerdict =
  /** At least one usable record: the host must be authenticated with DANE. */
  | { readonly kind: 'usable'; readonly usable: readonly TlsaRecord[]; readonly unusable: number }
  /** Records exist but none is usable: RFC 7672 §3.1 says plain opportunistic TLS. */
  | { readonly kind: 'unusable'; readonly unusable: number };

/** What the DNS says about DANE for one MX host. */
export type HostDane =
  /** The address and the TLSA RRset validated; at least one TLSA record is usable. */
  | { readonly kind: 'dane'; readonly tlsaName: string; readonly usable: readonly TlsaRecord[]; readonly unusable: number }
  /** DANE does not apply to this host, for the reason given. */
  | { readonly kind: 'no-dane'; readonly reason: HostNoDaneReason; readonly tlsaName?: string }
  /** A query failed: the host's DANE status is unknown. */
  | { readonly kind: 'failed'; readonly stage: 'address' | 'tlsa'; readonly code: DaneDnsErrorCode; readonly message: string };

export type HostNoDaneReason =
  | 'address-insecure' // the host's A/AAAA answer is not validated: no TLSA lookup (RFC 7672 §2.2.2)
  | 'address-absent' // the host has no address at all
  | 'tlsa-insecure' // the TLSA answer is not validated
  | 'tlsa-absent' // validated NXDOMAIN/NODATA at _25._tcp.<host>
  | 'tlsa-unusable' // validated TLSA records, none usable (usages 0/1, unknown selector/matching)
  | 'not-checked'; // beyond the number of MX hosts looked at

/** One MX host and its DANE status. */
export interface HostFinding {
  readonly host: string;
  readonly preference: number;
  readonly dane: HostDane;
}

/**
 * What the DNS says about DANE for one destination domain: the value the decision is made from
 * and the cache keeps. `ttl` is in seconds, from the answers it was made of.
 */
export type DaneFinding =
  /** The MX RRset validated and every MX host has a validated usable TLSA RRset. */
  | { readonly kind: 'dane'; readonly domain: string; readonly hosts: readonly HostFinding[]; readonly ttl: number }
  /** The MX RRset validated; some MX hosts have usable TLSA records, others none. */
  | { readonly kind: 'mixed'; readonly domain: string; readonly hosts: readonly HostFinding[]; readonly ttl: number }
  /** DANE does not apply: MTA-STS decides alone. */
  | {
      readonly kind: 'no-dane';
      readonly domain: string;
      readonly reason: NoDaneReason;
      readonly hosts: readonly HostFinding[];
      readonly ttl: number;
    }
  /**
   * The DANE status could not be established: a bogus answer (SERVFAIL from a validating
   * resolver), a timeout, or a local fault. Never read as "no DANE" unless the zone says so,
   * and never at all when `side` is `local`.
   */
  | {
      readonly kind: 'failed';
      readonly domain: string;
      readonly code: DaneDnsErrorCode;
      readonly side: FaultSide;
      /** Where it failed: the MX lookup, or the host whose lookup failed. */
      readonly stage: 'mx' | 'host';
      readonly host?: string;
      readonly message: string;
      readonly hosts: readonly HostFinding[];
    };

export type NoDaneReason =
  | 'mx-insecure' // the MX RRset (or its denial) is not validated: the zone is unsigned
  | 'domain-nxdomain' // validated: the domain does not exist
  | 'null-mx' // validated RFC 7505 null MX: the domain takes no mail
  | 'no-tlsa'; // validated MX, no host has a usable validated TLSA RRset

/** Every {@link DaneDnsErrorCode}, for telling DANE failures from MTA-STS ones in answers. */
export const DANE_DNS_ERROR_CODES: ReadonlySet<string> = new Set<DaneDnsErrorCode>([
  'EDANE_DNS_TIMEOUT',
  'EDANE_DNS_SERVFAIL',
  'EDANE_DNS_REFUSED',
  'EDANE_DNS_RCODE',
  'EDANE_DNS_MALFORMED',
  'EDANE_DNS_NETWORK',
]);

/** Which side's DNS a failure code belongs to, as answers word it. */
export function failedSideName(code: string): 'DANE' | 'MTA-STS' {
  return DANE_DNS_ERROR_CODES.has(code) ? 'DANE' : 'MTA-STS';
}
