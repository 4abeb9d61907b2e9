/**
 * Text forms of bound and peer addresses, for logs and messages. Pure functions.
 * (Configured listen addresses are parsed and formatted by listen-address.ts.)
 */
import { isIPv6 } from 'node:net';

/** `host:port`, with an IPv6 literal in brackets so the port stays unambiguous. */
export function formatHostPort(host: string, port: number): string {
  return isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * The client of an accepted socket: `127.0.0.1:53422`, or `unix` for a unix socket peer
 * (which has no address; the listener identifies it).
 */
export function formatPeer(socket: { remoteAddress?: string | undefined; remotePort?: number | undefined }): string {
  if (socket.remoteAddress === undefined) return 'unix';
  return formatHostPort(socket.remoteAddress, socket.remotePort ?? 0);
}
