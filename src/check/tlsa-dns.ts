/**
 * A plain {@link TlsaSource}: one TLSA query (dns-packet, UDP with a TCP retry when truncated)
 * to the system's first resolver, as c-ares cannot ask for TLSA. The query sets DO and AD so a
 * validating resolver says what it knows, and the AD bit is kept as evidence; but nothing here
 * authenticates the path to the resolver or validates signatures, so every answer says
 * `validated: 'unknown'`. The DNSSEC client of the DANE work replaces this source.
 */
import dgram from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import net from 'node:net';
import { randomInt } from 'node:crypto';
import dnsPacket from 'dns-packet';
import type { DecodedPacket } from 'dns-packet';
import { DNS_TIMEOUT_CODE } from '../resolver/dns.js';
import type { TlsaAnswer, TlsaRecord, TlsaSource } from './tlsa.js';

/** DNS Flag Day 2020: the EDNS UDP payload size asked for. */
export const EDNS_UDP_SIZE = 1232;
/** RFC 1035 §4.1.1 RCODEs read here. */
const RCODE = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;
/** Code of an answer that does not decode or match the question (docs/check.md). */
export const TLSA_ANSWER_CODE = 'ECHECK_DNS_ANSWER';

/** TLSA answers with the AD bit as the resolver set it (evidence only). */
export type TlsaAnswerWithAd = TlsaAnswer & { readonly ad?: boolean };

export interface DnsPacketTlsaOptions {
  /** Resolver addresses (`127.0.0.1`, `127.0.0.1:5353`, `[::1]:53`); default: /etc/resolv.conf. */
  readonly servers?: readonly string[];
}

/** `host[:port]` / `[v6]:port` / bare v6, as `Resolver.getServers()` writes them. */
export function parseServer(text: string): { host: string; port: number } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed !== null) return { host: bracketed[1] ?? '', port: Number(bracketed[2] ?? 53) };
  if (net.isIPv6(text)) return { host: text, port: 53 };
  const [host = '', port = '53'] = text.split(':');
  return { host, port: Number(port) };
}

export function createDnsPacketTlsaSource(options: DnsPacketTlsaOptions = {}): TlsaSource {
  return {
    async lookupTlsa(name, timeoutMs) {
      const first = (options.servers ?? new Resolver().getServers())[0];
      if (first === undefined) return { kind: 'error', code: 'ECONNREFUSED', message: 'no DNS server configured' };
      const server = parseServer(first);
      const deadline = Date.now() + Math.max(1, timeoutMs);
      const id = randomInt(0, 0x10000);
      const query = dnsPacket.encode({
        type: 'query',
        id,
        flags: dnsPacket.RECURSION_DESIRED | dnsPacket.AUTHENTIC_DATA,
        questions: [{ type: 'TLSA', name, class: 'IN' }],
        additionals: [{ type: 'OPT', name: '.', udpPayloadSize: EDNS_UDP_SIZE, extendedRcode: 0, ednsVersion: 0, flags: dnsPacket.DNSSEC_OK, flag_do: true, options: [] }],
      });
      try {
        let response = await exchangeUdp(server, query, id, deadline);
        if (response.flag_tc) response = await exchangeTcp(server, query, id, deadline);
        return readAnswer(response, name);
      } catch (err) {
        const code = typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : TLSA_ANSWER_CODE;
        return { kind: 'error', code, message: `TLSA lookup of ${name}: ${err instanceof Error ? err.message : String(err)}` };
      }
    },
  };
}

/** The answer for `name` in a decoded response (CNAMEs followed by the resolver). */
export function readAnswer(response: DecodedPacket, name: string): TlsaAnswerWithAd {
  const rcode = (response.flags ?? 0) & 0xf;
  const ad = response.flag_ad;
  switch (rcode) {
    case RCODE.NOERROR: {
      const records: TlsaRecord[] = [];
      for (const a of response.answers ?? []) {
        if (a.type === 'TLSA') records.push({ usage: a.data.usage, selector: a.data.selector, matchingType: a.data.matchingType, data: a.data.certificate });
      }
      return records.length > 0 ? { kind: 'records', records, validated: 'unknown', ad } : { kind: 'nodata', validated: 'unknown', ad };
    }
    case RCODE.NXDOMAIN:
      return { kind: 'nxdomain', validated: 'unknown', ad };
    case RCODE.SERVFAIL:
      return { kind: 'error', code: 'ESERVFAIL', message: `TLSA lookup of ${name}: SERVFAIL` };
    case RCODE.REFUSED:
      return { kind: 'error', code: 'EREFUSED', message: `TLSA lookup of ${name}: REFUSED` };
    default:
      return { kind: 'error', code: TLSA_ANSWER_CODE, message: `TLSA lookup of ${name}: RCODE ${rcode}` };
  }
}

function timeoutError(): Error {
  return Object.assign(new Error('no answer in time'), { code: DNS_TIMEOUT_CODE });
}

function matches(packet: DecodedPacket, id: number): boolean {
  return packet.type === 'response' && packet.id === id;
}

function exchangeUdp(server: { host: string; port: number }, query: Buffer, id: number, deadline: number): Promise<DecodedPacket> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(net.isIPv6(server.host) ? 'udp6' : 'udp4');
    const timer = setTimeout(() => finish(timeoutError()), Math.max(1, deadline - Date.now()));
    let done = false;
    const finish = (err: Error | undefined, packet?: DecodedPacket): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.close();
      if (packet !== undefined) resolve(packet);
      else reject(err ?? new Error('no answer'));
    };
    socket.on('error', (err) => finish(err));
    socket.on('message', (msg) => {
      let packet: DecodedPacket;
      try {
        packet = dnsPacket.decode(msg);
      } catch {
        return; // not for us, or garbage: keep waiting until the deadline
      }
      if (matches(packet, id)) finish(undefined, packet);
    });
    socket.send(query, server.port, server.host, (err) => {
      if (err) finish(err);
    });
  });
}

function exchangeTcp(server: { host: string; port: number }, query: Buffer, id: number, deadline: number): Promise<DecodedPacket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: server.host, port: server.port });
    const timer = setTimeout(() => finish(timeoutError()), Math.max(1, deadline - Date.now()));
    let pending = Buffer.alloc(0);
    let done = false;
    const finish = (err: Error | undefined, packet?: DecodedPacket): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (packet !== undefined) resolve(packet);
      else reject(err ?? new Error('no answer'));
    };
    socket.on('error', (err) => finish(err));
    socket.on('connect', () => {
      const prefix = Buffer.alloc(2);
      prefix.writeUInt16BE(query.length, 0);
      socket.write(Buffer.concat([prefix, query]));
    });
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      if (pending.length < 2) return;
      const length = pending.readUInt16BE(0);
      if (pending.length < 2 + length) return;
      try {
        const packet = dnsPacket.decode(pending.subarray(2, 2 + length));
        if (matches(packet, id)) finish(undefined, packet);
        else finish(Object.assign(new Error('answer does not match the query'), { code: TLSA_ANSWER_CODE }));
      } catch (err) {
        finish(Object.assign(new Error(`answer does not decode: ${String(err)}`), { code: TLSA_ANSWER_CODE }));
      }
    });
    socket.on('end', () => finish(Object.assign(new Error('connection closed before the answer'), { code: TLSA_ANSWER_CODE })));
  });
}
