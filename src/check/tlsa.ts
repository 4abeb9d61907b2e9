/**
 * DANE for `check`: the matching of TLSA records (RFC 6698 §2.1, as RFC 7672 §3.1 applies them
 * to SMTP) against the certificate chain an MX host presented. Pure except for hashing.
 *
 * Which records an SMTP client can use at all is decided in one place, src/dane/tlsa.ts
 * (`whyUnusable`, the same rules the daemon's DANE side applies); the records themselves come
 * from the DANE side's DNSSEC client (src/dane/dnssec-client.ts), whose AD bit says whether
 * they validated. Matching is here because only `check` matches: the daemon leaves it to the
 * MTA (Postfix's smtp(8) with `dane`).
 */
import { createHash, X509Certificate } from 'node:crypto';
import { TLSA_MATCHING, TLSA_SELECTOR, TLSA_USAGE, formatTlsa, whyUnusable, type TlsaUnusableReason } from '../dane/tlsa.js';
import type { DnssecAnswer, TlsaRecord } from '../dane/types.js';

/** The TLSA RRset at `_25._tcp.<mx>` as the DNSSEC client answered it (`secure`: the AD bit). */
export type TlsaAnswer = DnssecAnswer<'TLSA'>;

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
    case TLSA_MATCHING.SHA2_256:
      return createHash('sha256').update(selected).digest();
    case TLSA_MATCHING.SHA2_512:
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
  | { readonly kind: 'unusable'; readonly reasons: readonly TlsaUnusableReason[] };

/**
 * Match `records` against `chain` (DER, leaf first, as presented). DANE-EE (3) matches the leaf
 * only; DANE-TA (2) matches a certificate of the chain above the leaf, which the server must send
 * (RFC 7671 §5.2.2). Only the match is judged here: whether the leaf chains to that anchor and
 * names the host is left to the TLS handshake and the `mx-cert` check.
 */
export function matchTlsa(records: readonly TlsaRecord[], chain: readonly Buffer[]): TlsaMatch {
  const reasons = records.map((r) => whyUnusable(r));
  const usable = records.filter((_, i) => reasons[i] === undefined);
  if (usable.length === 0) return { kind: 'unusable', reasons: reasons.filter((r): r is TlsaUnusableReason => r !== undefined) };
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
