/**
 * Which TLSA records an SMTP client can use (RFC 7672 §3.1, as Postfix's tls_dane.c applies it).
 *
 * - Usages: DANE-TA(2) and DANE-EE(3) are usable. PKIX-TA(0) and PKIX-EE(1) are unusable for
 *   SMTP (RFC 7672 §3.1.3: an MTA has no agreed set of trust anchors to check PKIX against).
 * - Selectors: Cert(0) and SPKI(1); anything else is unusable (RFC 6698 §2.1.2).
 * - Matching types: Full(0), SHA2-256(1), SHA2-512(2); anything else is unusable
 *   (RFC 6698 §2.1.3). A digest of the wrong length, or empty full data, is malformed and
 *   unusable, as Postfix ignores it.
 * - RFC 7672 §3.1: a TLSA RRset with no usable record gives plain opportunistic TLS for that
 *   host, like no TLSA at all.
 */
import type { TlsaRecord, TlsaVerdict } from './types.js';

/** RFC 6698 §7.2 / RFC 7218 usage numbers. */
export const TLSA_USAGE = { PKIX_TA: 0, PKIX_EE: 1, DANE_TA: 2, DANE_EE: 3 } as const;
/** RFC 6698 §7.3 selectors. */
export const TLSA_SELECTOR = { CERT: 0, SPKI: 1 } as const;
/** RFC 6698 §7.4 matching types. */
export const TLSA_MATCHING = { FULL: 0, SHA2_256: 1, SHA2_512: 2 } as const;

/** Digest sizes of the matching types (FIPS 180-4). */
const DIGEST_OCTETS: ReadonlyMap<number, number> = new Map([
  [TLSA_MATCHING.SHA2_256, 32],
  [TLSA_MATCHING.SHA2_512, 64],
]);

/** Why one record is not usable; `undefined` when it is. */
export type TlsaUnusableReason = 'pkix-usage' | 'unknown-usage' | 'unknown-selector' | 'unknown-matching-type' | 'malformed-data';

export function whyUnusable(record: TlsaRecord): TlsaUnusableReason | undefined {
  if (record.usage === TLSA_USAGE.PKIX_TA || record.usage === TLSA_USAGE.PKIX_EE) return 'pkix-usage';
  if (record.usage !== TLSA_USAGE.DANE_TA && record.usage !== TLSA_USAGE.DANE_EE) return 'unknown-usage';
  if (record.selector !== TLSA_SELECTOR.CERT && record.selector !== TLSA_SELECTOR.SPKI) return 'unknown-selector';
  if (record.matchingType === TLSA_MATCHING.FULL) return record.data.length === 0 ? 'malformed-data' : undefined;
  const size = DIGEST_OCTETS.get(record.matchingType);
  if (size === undefined) return 'unknown-matching-type';
  return record.data.length === size ? undefined : 'malformed-data';
}

/** True when an SMTP client can authenticate with this record. */
export function isUsable(record: TlsaRecord): boolean {
  return whyUnusable(record) === undefined;
}

/** Sort a validated TLSA RRset into usable and unusable records. */
export function tlsaVerdict(records: readonly TlsaRecord[]): TlsaVerdict {
  const usable = records.filter(isUsable);
  const unusable = records.length - usable.length;
  return usable.length > 0 ? { kind: 'usable', usable, unusable } : { kind: 'unusable', unusable };
}

/** `3 1 1 <hex>`: the presentation form (RFC 6698 §2.2), for logs and `query`. */
export function formatTlsa(record: TlsaRecord): string {
  return `${record.usage} ${record.selector} ${record.matchingType} ${record.data.toString('hex')}`;
}

/** The TLSA owner name of an SMTP server (RFC 7672 §2.2.3, RFC 6698 §3): `_25._tcp.<host>`. */
export function tlsaName(host: string): string {
  return `_25._tcp.${host}`;
}
