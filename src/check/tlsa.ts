/**
 * DANE for `check`: the TLSA port and the matching of TLSA records (RFC 6698 §2.1, as RFC 7672
 * §3.1 applies them to SMTP) against the certificate chain an MX host presented. Pure except
 * for hashing.
 *
 * The port says where the records came from and whether DNSSEC validated them. On this branch
 * the only source is a plain DNS query (./tlsa-dns.ts), which cannot know: it reports
 * `validated: 'unknown'`. The DNSSEC client of the DANE work (src/dane/) plugs in here as
 * another {@link TlsaSource} that reports `yes` or `no` from the validating resolver's AD bit.
 */
import { createHash, X509Certificate } from 'node:crypto';

/** One TLSA record (RFC 6698 §2.1), as on the wire. Same shape as src/dane's. */
export interface TlsaRecord {
  readonly usage: number;
  readonly selector: number;
  readonly matchingType: number;
  readonly data: Buffer;
}

/** Whether DNSSEC validated an answer: `unknown` when the source cannot tell. */
export type Validation = 'yes' | 'no' | 'unknown';

export type TlsaAnswer =
  | { readonly kind: 'records'; readonly records: readonly TlsaRecord[]; readonly validated: Validation }
  | { readonly kind: 'nxdomain' | 'nodata'; readonly validated: Validation }
  | { readonly kind: 'error'; readonly code: string; readonly message: string };

/** The DANE port of `check`: the TLSA RRset at a name, and whether it validated. */
export interface TlsaSource {
  lookupTlsa(name: string, timeoutMs: number): Promise<TlsaAnswer>;
}

/**
 * The DANE work's DNSSEC client (src/dane/types.ts `DnssecDns`), as far as TLSA goes: its
 * `query(name, 'TLSA', timeoutMs)` fits this shape, so it can be passed here as it is.
 */
export interface DnssecTlsaClient {
  query(
    name: string,
    type: 'TLSA',
    timeoutMs: number,
  ): Promise<
    | { readonly kind: 'records'; readonly secure: boolean; readonly records: readonly TlsaRecord[] }
    | { readonly kind: 'nxdomain' | 'nodata'; readonly secure: boolean }
    | { readonly kind: 'error'; readonly code: string; readonly message: string }
  >;
}

/** A {@link TlsaSource} on a validating resolver: `validated` is its AD bit, `yes` or `no`. */
export function tlsaSourceFromDnssec(client: DnssecTlsaClient): TlsaSource {
  return {
    async lookupTlsa(name, timeoutMs) {
      const a = await client.query(name, 'TLSA', timeoutMs);
      switch (a.kind) {
        case 'records':
          return { kind: 'records', records: a.records, validated: a.secure ? 'yes' : 'no' };
        case 'nxdomain':
        case 'nodata':
          return { kind: a.kind, validated: a.secure ? 'yes' : 'no' };
        case 'error':
          return { kind: 'error', code: a.code, message: a.message };
        default: {
          const _never: never = a;
          return _never;
        }
      }
    },
  };
}

/** RFC 7672 §3.1: the TLSA base name of an MX host on port 25. */
export function tlsaName(host: string, port = 25): string {
  return `_${port}._tcp.${host}`;
}

/** RFC 6698 §7.2 / RFC 7218 acronyms. */
export const TLSA_USAGE = { PKIX_TA: 0, PKIX_EE: 1, DANE_TA: 2, DANE_EE: 3 } as const;
export const TLSA_SELECTOR = { CERT: 0, SPKI: 1 } as const;
export const TLSA_MATCHING = { FULL: 0, SHA256: 1, SHA512: 2 } as const;

/**
 * Why a record cannot be used by an SMTP client (RFC 7672 §3.1.3: PKIX usages are not). The
 * same rules and names as the DANE work's `whyUnusable` (src/dane/tlsa.ts): once both are on
 * one branch, this should call that one.
 */
export type Unusable = 'pkix-usage' | 'unknown-usage' | 'unknown-selector' | 'unknown-matching-type' | 'malformed-data';

export function unusableReason(r: TlsaRecord): Unusable | undefined {
  if (r.usage === TLSA_USAGE.PKIX_TA || r.usage === TLSA_USAGE.PKIX_EE) return 'pkix-usage';
  if (r.usage !== TLSA_USAGE.DANE_TA && r.usage !== TLSA_USAGE.DANE_EE) return 'unknown-usage';
  if (r.selector !== TLSA_SELECTOR.CERT && r.selector !== TLSA_SELECTOR.SPKI) return 'unknown-selector';
  switch (r.matchingType) {
    case TLSA_MATCHING.FULL:
      return r.data.length === 0 ? 'malformed-data' : undefined;
    case TLSA_MATCHING.SHA256:
      return r.data.length === 32 ? undefined : 'malformed-data';
    case TLSA_MATCHING.SHA512:
      return r.data.length === 64 ? undefined : 'malformed-data';
    default:
      return 'unknown-matching-type';
  }
}

/** `3 1 1 abcd…`: the presentation form. */
export function formatTlsa(r: TlsaRecord): string {
  return `${r.usage} ${r.selector} ${r.matchingType} ${r.data.toString('hex')}`;
}

/** The association data a record of `selector`/`matchingType` would hold for `certDer`. */
export function associationData(certDer: Buffer, selector: number, matchingType: number): Buffer | undefined {
  let selected: Buffer;
  switch (selector) {
    case TLSA_SELECTOR.CERT:
      selected = certDer;
      break;
    case TLSA_SELECTOR.SPKI:
      selected = new X509Certificate(certDer).publicKey.export({ type: 'spki', format: 'der' });
      break;
    default:
      return undefined;
  }
  switch (matchingType) {
    case TLSA_MATCHING.FULL:
      return selected;
    case TLSA_MATCHING.SHA256:
      return createHash('sha256').update(selected).digest();
    case TLSA_MATCHING.SHA512:
      return createHash('sha512').update(selected).digest();
    default:
      return undefined;
  }
}

export type TlsaMatch =
  /** A usable record matches: `record` is its presentation form, `position` 0 for the leaf. */
  | { readonly kind: 'match'; readonly record: string; readonly position: number }
  /** Usable records exist; none matches the chain presented. */
  | { readonly kind: 'no-match'; readonly usable: number; readonly unusable: number }
  /** Every record is unusable (RFC 7672 §3.1: then DANE does not apply, plain opportunistic TLS). */
  | { readonly kind: 'unusable'; readonly reasons: readonly Unusable[] };

/**
 * Match `records` against `chain` (DER, leaf first, as presented). DANE-EE (3) matches the leaf
 * only; DANE-TA (2) matches a certificate of the chain above the leaf, which the server must send
 * (RFC 7671 §5.2.2). Only the match is judged here: whether the leaf chains to that anchor and
 * names the host is left to the TLS handshake and the `mx-cert` check.
 */
export function matchTlsa(records: readonly TlsaRecord[], chain: readonly Buffer[]): TlsaMatch {
  const usable = records.filter((r) => unusableReason(r) === undefined);
  if (usable.length === 0) return { kind: 'unusable', reasons: records.map((r) => unusableReason(r) ?? 'unknown-usage') };
  for (const r of usable) {
    const positions = r.usage === TLSA_USAGE.DANE_EE ? [0] : chain.map((_, i) => i).slice(1);
    for (const i of positions) {
      const cert = chain[i];
      if (cert === undefined) continue;
      let data: Buffer | undefined;
      try {
        data = associationData(cert, r.selector, r.matchingType);
      } catch {
        data = undefined; // a certificate Node cannot parse matches nothing
      }
      if (data !== undefined && data.equals(r.data)) return { kind: 'match', record: formatTlsa(r), position: i };
    }
  }
  return { kind: 'no-match', usable: usable.length, unusable: records.length - usable.length };
}
