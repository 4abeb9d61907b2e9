/**
 * Text forms of bound and peer addresses, for logs and messages. Pure functions.
 * (Configured listen addresses are parsed and formatted by listen-address.ts.)
 */

/**
 * `host:port`, with an IPv6 literal in brackets so the port stays unambiguous. An IPv6 literal
 * is the only host with a colon (an IPv4 literal or a name has none), so the colon decides:
 * `net.isIPv6` would compile its large regular expression at the first listener (~12 ms of the
 * start on a slow machine) and run it for every accepted connection.
 */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * The client of an accepted socket: `127.0.0.1:53422`, or `unix` for a unix socket peer
 * (which has no address; the listener identifies it).
 */
export function formatPeer(socket: { remoteAddress?: string | undefined; remotePort?: number | undefined }): string {
  if (socket.remoteAddress === undefined) return 'unix';
  return formatHostPort(socket.remoteAddress, socket.remotePort ?? 0);
}
