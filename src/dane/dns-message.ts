/**
 * DNS messages of the DANE side, built and read with `dns-packet` (no hand-written wire format):
 * a query with RD, AD and the EDNS DO bit, and the reading of an answer into a
 * {@link DnssecAnswer}. Pure functions: the transport is in dns-transport.ts.
 *
 * - The DO bit (RFC 3225) asks the resolver for DNSSEC; the AD bit in the query (RFC 6840 §5.7)
 *   asks it to say whether it validated. We never set CD: the resolver must validate, and answer
 *   SERVFAIL for bogus data (RFC 4035 §5.5).
 * - The answer must match the query: same ID, QR set, the same single question (name compared
 *   case-insensitively, type, class IN). A datagram that does not match is ignored by the
 *   transport (it may be a late answer or a spoofing attempt); one that matches but does not
 *   decode is malformed.
 */
import dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket } from 'dns-packet';
import type { DaneQueryType, DnssecAnswer, MxRecord, RecordsOf, TlsaRecord } from './types.js';

/** DNS Flag Day 2020: the EDNS UDP payload size we advertise, and the largest UDP answer accepted. */
export const EDNS_UDP_PAYLOAD = 1232;
/** RFC 1035 §4.2.2: a TCP message has a 2-octet length, so at most 65535 octets. */
export const MAX_TCP_MESSAGE = 65535;
/** Resolvers give up after a handful of CNAMEs too; more in one answer is not followed. */
export const MAX_CNAME_CHAIN = 8;
/** Negative TTL used when a negative answer carries no SOA (RFC 2308 §5 says not to cache it long). */
export const NEGATIVE_TTL_WITHOUT_SOA = 60;

/** RFC 1035 §4.1.1, RFC 6891 §6.1.3 RCODE values. */
const RCODE_NOERROR = 0;
const RCODE_SERVFAIL = 2;
const RCODE_NXDOMAIN = 3;
const RCODE_REFUSED = 5;

/** Lower-case, without the trailing dot. */
export function normalizeName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/** The query: RD and AD in the header, an OPT record with DO and our UDP size. */
export function encodeQuery(id: number, name: string, type: DaneQueryType): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.AUTHENTIC_DATA,
    questions: [{ type, class: 'IN', name }],
    additionals: [
      {
        type: 'OPT',
        name: '.',
        udpPayloadSize: EDNS_UDP_PAYLOAD,
        extendedRcode: 0,
        ednsVersion: 0,
        flags: dnsPacket.DNSSEC_OK,
        flag_do: true,
        options: [],
      },
    ],
  });
}

/** The answer of a message, for the transport. */
export type ReadMessage =
  | { readonly kind: 'answer'; readonly packet: DecodedPacket; readonly truncated: boolean }
  /** Not an answer to this query: ignore it and keep waiting. */
  | { readonly kind: 'mismatch' }
  | { readonly kind: 'malformed'; readonly message: string };

/** Decode and match a message against the query it should answer. */
export function readMessage(buf: Buffer, id: number, name: string, type: DaneQueryType): ReadMessage {
  // The header alone tells whether this can be our answer; garbage after a right ID is malformed.
  if (buf.length < 12 || buf.readUInt16BE(0) !== id || (buf[2]! & 0x80) === 0) return { kind: 'mismatch' };
  let packet: DecodedPacket;
  try {
    packet = dnsPacket.decode(buf);
  } catch (err) {
    return { kind: 'malformed', message: `undecodable answer: ${err instanceof Error ? err.message : String(err)}` };
  }
  const questions = packet.questions ?? [];
  const q = questions[0];
  if (questions.length !== 1 || q === undefined) return { kind: 'malformed', message: `answer with ${questions.length} questions` };
  if (normalizeName(q.name) !== normalizeName(name) || q.type !== type || (q.class ?? 'IN') !== 'IN') {
    return { kind: 'mismatch' };
  }
  return { kind: 'answer', packet, truncated: packet.flag_tc };
}

/** The full RCODE: the header's 4 bits and the OPT record's upper 8 (RFC 6891 §6.1.3). */
function rcodeOf(packet: DecodedPacket): number {
  const opt = (packet.additionals ?? []).find((a) => a.type === 'OPT');
  const upper = opt !== undefined && 'extendedRcode' in opt ? opt.extendedRcode : 0;
  return ((packet.flags ?? 0) & 0xf) | (upper << 4);
}

function ttlOf(a: Answer): number {
  return 'ttl' in a && typeof a.ttl === 'number' ? a.ttl : 0;
}

function recordOf<T extends DaneQueryType>(type: T, a: Answer): RecordsOf[T] | undefined {
  // Each branch checks the record's own type, so the casts only restate what was checked.
  switch (type) {
    case 'MX': {
      if (a.type !== 'MX') return undefined;
      const mx: MxRecord = { preference: a.data.preference ?? 0, exchange: normalizeName(a.data.exchange) };
      return mx as RecordsOf[T];
    }
    case 'A':
      return a.type === 'A' ? (a.data as RecordsOf[T]) : undefined;
    case 'AAAA':
      return a.type === 'AAAA' ? (a.data as RecordsOf[T]) : undefined;
    case 'NS':
      return a.type === 'NS' ? (normalizeName(a.data) as RecordsOf[T]) : undefined;
    case 'TLSA': {
      if (a.type !== 'TLSA') return undefined;
      const t: TlsaRecord = {
        usage: a.data.usage,
        selector: a.data.selector,
        matchingType: a.data.matchingType,
        data: Buffer.from(a.data.certificate),
      };
      return t as RecordsOf[T];
    }
    default: {
      const _never: never = type;
      return _never;
    }
  }
}

/** RFC 2308 §5: the negative TTL is min(SOA TTL, SOA MINIMUM). */
function negativeTtl(packet: DecodedPacket): number {
  for (const a of packet.authorities ?? []) {
    if (a.type === 'SOA') return Math.min(ttlOf(a), a.data.minimum ?? 0);
  }
  return NEGATIVE_TTL_WITHOUT_SOA;
}

/** Turn a matched answer into a {@link DnssecAnswer}: RCODE, AD bit, CNAME chain, records. */
export function interpretAnswer<T extends DaneQueryType>(packet: DecodedPacket, name: string, type: T): DnssecAnswer<T> {
  const secure = packet.flag_ad;
  const rcode = rcodeOf(packet);
  // The chain from the query name through the answer's CNAMEs (RFC 1034 §3.6.2).
  const answers = (packet.answers ?? []).filter((a) => a.type !== 'OPT');
  let owner = normalizeName(name);
  let ttl = Number.POSITIVE_INFINITY;
  for (let hop = 0; hop < MAX_CNAME_CHAIN; hop++) {
    const alias = answers.find((a) => a.type === 'CNAME' && normalizeName(a.name) === owner);
    if (alias === undefined || alias.type !== 'CNAME') break;
    ttl = Math.min(ttl, ttlOf(alias));
    owner = normalizeName(alias.data);
  }
  switch (rcode) {
    case RCODE_NOERROR: {
      const records: Array<RecordsOf[T]> = [];
      for (const a of answers) {
        if (normalizeName(a.name) !== owner) continue;
        const r = recordOf(type, a);
        if (r === undefined) continue;
        records.push(r);
        ttl = Math.min(ttl, ttlOf(a));
      }
      if (records.length === 0) return { kind: 'nodata', secure, owner, ttl: Math.min(ttl, negativeTtl(packet)) };
      return { kind: 'records', secure, owner, records, ttl };
    }
    case RCODE_NXDOMAIN:
      return { kind: 'nxdomain', secure, owner, ttl: Math.min(ttl, negativeTtl(packet)) };
    case RCODE_SERVFAIL:
      return { kind: 'error', code: 'EDANE_DNS_SERVFAIL', message: `SERVFAIL for ${type} ${name} (bogus or unreachable)` };
    case RCODE_REFUSED:
      return { kind: 'error', code: 'EDANE_DNS_REFUSED', message: `the resolver REFUSED ${type} ${name}` };
    default:
      return { kind: 'error', code: 'EDANE_DNS_RCODE', message: `RCODE ${rcode} for ${type} ${name}` };
  }
}
