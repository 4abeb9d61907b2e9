/**
 * One DNS exchange with the validating resolver: UDP first, TCP when the UDP answer is
 * truncated (RFC 7766 §5), all within one deadline. Never rejects: every failure is a value
 * with a stable code.
 *
 * Bounds: a UDP answer larger than the EDNS size we advertised is malformed (a resolver must
 * not send it); a TCP answer is read up to its 2-octet length (at most 65535 octets) and the
 * connection closed; one UDP retransmission at a third of the deadline covers a lost datagram.
 */
import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import type { DecodedPacket } from 'dns-packet';
import { EDNS_UDP_PAYLOAD, MAX_TCP_MESSAGE, encodeQuery, readMessage } from './dns-message.js';
import type { ResolverAddress } from './resolver-address.js';
import type { DaneDnsErrorCode, DaneQueryType } from './types.js';

/** UDP tries: the first send and one retransmission (c-ares and glibc retry too). */
export const UDP_TRIES = 2;
/** Divisor of the deadline giving the time before the UDP retransmission. */
export const UDP_RETRANSMIT_DIVISOR = 3;

export type Exchange =
  | { readonly kind: 'packet'; readonly packet: DecodedPacket; readonly transport: 'udp' | 'tcp' }
  | { readonly kind: 'error'; readonly code: DaneDnsErrorCode; readonly message: string };

function errorText(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') {
    return `${err.code}${err instanceof Error ? `: ${err.message}` : ''}`;
  }
  return err instanceof Error ? err.message : String(err);
}

function timeout(type: DaneQueryType, name: string, transport: string): Exchange {
  return { kind: 'error', code: 'EDANE_DNS_TIMEOUT', message: `no answer over ${transport} for ${type} ${name} before the deadline` };
}

/** Ask over UDP; settles with the matching answer, a failure, or the deadline. */
function overUdp(server: ResolverAddress, id: number, name: string, type: DaneQueryType, deadlineAt: number): Promise<Exchange> {
  return new Promise((resolve) => {
    const query = encodeQuery(id, name, type);
    const socket = dgram.createSocket({ type: server.family === 6 ? 'udp6' : 'udp4' });
    const timers: NodeJS.Timeout[] = [];
    let done = false;
    const finish = (result: Exchange): void => {
      if (done) return;
      done = true;
      for (const t of timers) clearTimeout(t);
      try {
        socket.close();
      } catch {
        // already closed
      }
      resolve(result);
    };
    let connected = false;
    const send = (): void => {
      // A retransmission due before connect() completed is dropped: the first send follows it.
      if (!connected || done) return;
      try {
        socket.send(query, (err) => {
          if (err) finish({ kind: 'error', code: 'EDANE_DNS_NETWORK', message: `UDP send to the resolver failed: ${errorText(err)}` });
        });
      } catch (err) {
        finish({ kind: 'error', code: 'EDANE_DNS_NETWORK', message: `UDP send to the resolver failed: ${errorText(err)}` });
      }
    };
    // connect(): only the resolver's datagrams reach us, and ICMP errors surface as ECONNREFUSED.
    socket.on('error', (err) =>
      finish({ kind: 'error', code: 'EDANE_DNS_NETWORK', message: `UDP to the resolver failed: ${errorText(err)}` }),
    );
    socket.on('message', (msg) => {
      if (msg.length > EDNS_UDP_PAYLOAD) {
        finish({
          kind: 'error',
          code: 'EDANE_DNS_MALFORMED',
          message: `UDP answer of ${msg.length} octets exceeds the ${EDNS_UDP_PAYLOAD} asked for`,
        });
        return;
      }
      const read = readMessage(msg, id, name, type);
      switch (read.kind) {
        case 'mismatch':
          return;
        case 'malformed':
          finish({ kind: 'error', code: 'EDANE_DNS_MALFORMED', message: read.message });
          return;
        case 'answer':
          finish({ kind: 'packet', packet: read.packet, transport: 'udp' });
          return;
        default: {
          const _never: never = read;
          return _never;
        }
      }
    });
    const budget = Math.max(1, deadlineAt - Date.now());
    timers.push(setTimeout(() => finish(timeout(type, name, 'UDP')), budget));
    for (let i = 1; i < UDP_TRIES; i++) {
      timers.push(setTimeout(() => send(), Math.floor((budget * i) / UDP_RETRANSMIT_DIVISOR)));
    }
    socket.connect(server.port, server.host, () => {
      connected = true;
      send();
    });
  });
}

/** Ask over TCP (RFC 1035 §4.2.2 framing, RFC 7766): one query, one answer, then close. */
function overTcp(server: ResolverAddress, id: number, name: string, type: DaneQueryType, deadlineAt: number): Promise<Exchange> {
  return new Promise((resolve) => {
    const query = encodeQuery(id, name, type);
    const prefix = Buffer.alloc(2);
    prefix.writeUInt16BE(query.length, 0);
    const socket = net.connect({ host: server.host, port: server.port });
    let done = false;
    const chunks: Buffer[] = [];
    let received = 0;
    const finish = (result: Exchange): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish(timeout(type, name, 'TCP')), Math.max(1, deadlineAt - Date.now()));
    socket.on('error', (err) =>
      finish({ kind: 'error', code: 'EDANE_DNS_NETWORK', message: `TCP to the resolver failed: ${errorText(err)}` }),
    );
    socket.on('connect', () => socket.write(Buffer.concat([prefix, query])));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      if (received < 2) return;
      const all = Buffer.concat(chunks);
      const length = all.readUInt16BE(0);
      if (received < 2 + length) {
        // Never more than one message's worth is kept (length ≤ MAX_TCP_MESSAGE by construction).
        chunks.length = 0;
        chunks.push(all);
        return;
      }
      const read = readMessage(all.subarray(2, 2 + length), id, name, type);
      switch (read.kind) {
        case 'mismatch':
          finish({ kind: 'error', code: 'EDANE_DNS_MALFORMED', message: 'TCP answer does not match the query' });
          return;
        case 'malformed':
          finish({ kind: 'error', code: 'EDANE_DNS_MALFORMED', message: read.message });
          return;
        case 'answer':
          finish(
            read.truncated
              ? { kind: 'error', code: 'EDANE_DNS_MALFORMED', message: 'truncated answer over TCP' }
              : { kind: 'packet', packet: read.packet, transport: 'tcp' },
          );
          return;
        default: {
          const _never: never = read;
          return _never;
        }
      }
    });
    socket.on('end', () =>
      finish({ kind: 'error', code: 'EDANE_DNS_NETWORK', message: `the resolver closed TCP after ${received} octets` }),
    );
  });
}

/** The 2-octet length prefix bounds a TCP message; exported for tests. */
export const TCP_MESSAGE_LIMIT = MAX_TCP_MESSAGE;

/** UDP, then TCP if truncated, within `timeoutMs`. A fresh random ID per transport. */
export async function exchange(server: ResolverAddress, name: string, type: DaneQueryType, timeoutMs: number): Promise<Exchange> {
  const deadlineAt = Date.now() + Math.max(1, Number.isFinite(timeoutMs) ? Math.floor(timeoutMs) : 1);
  const udp = await overUdp(server, randomInt(0, 0x10000), name, type, deadlineAt);
  if (udp.kind === 'packet' && udp.packet.flag_tc) {
    if (Date.now() >= deadlineAt) return timeout(type, name, 'TCP');
    return overTcp(server, randomInt(0, 0x10000), name, type, deadlineAt);
  }
  return udp;
}
