/**
 * Listen addresses: `HOST:PORT`, `[IPV6]:PORT`, `unix:/path` (and Postfix's own `inet:HOST:PORT`,
 * so a map name can be pasted from main.cf), as the config (listeners, metrics) writes them and
 * messages show them. Pure functions.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { posix } from 'node:path';

/** Where a listener binds: a TCP host and port, or a unix socket file. */
export type ListenAddress =
  { readonly kind: 'tcp'; readonly host: string; readonly port: number } | { readonly kind: 'unix'; readonly path: string };

/** RFC 9293 §3.1: 16-bit ports; 0 would bind "any port", which no map client could find. */
export const PORT_MIN = 1;
export const PORT_MAX = 65535;
/** unix(7) on Linux: `sun_path` is 108 bytes with the NUL; a longer path fails confusingly at bind. */
export const UNIX_PATH_MAX_BYTES = 107;

/** A parsed address, or why the text is not one. */
export type AddressParse = { ok: true; address: ListenAddress } | { ok: false; reason: string };

// RFC 1123 §2.1 host names: labels of letters, digits and inner hyphens, up to 63 octets each.
const HOSTNAME = /^(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/** Parses a `listeners[].address` value. */
export function parseListenAddress(text: string): AddressParse {
  if (text.startsWith('unix:')) {
    const path = text.slice('unix:'.length);
    const problem = checkUnixPath(path, true);
    return problem === undefined ? { ok: true, address: { kind: 'unix', path } } : { ok: false, reason: problem };
  }
  const tcp = text.startsWith('inet:') ? text.slice('inet:'.length) : text;
  let host: string;
  let portText: string;
  if (tcp.startsWith('[')) {
    const close = tcp.indexOf(']');
    if (close < 0) return { ok: false, reason: 'missing "]" after the IPv6 address' };
    host = tcp.slice(1, close);
    if (!isIPv6(host)) return { ok: false, reason: `"${host}" in brackets is not an IPv6 address` };
    const rest = tcp.slice(close + 1);
    if (!rest.startsWith(':')) return { ok: false, reason: 'missing ":PORT" after "]"' };
    portText = rest.slice(1);
  } else {
    const colon = tcp.lastIndexOf(':');
    if (colon < 0) return { ok: false, reason: 'missing ":PORT" (write HOST:PORT, [IPV6]:PORT or unix:/path)' };
    host = tcp.slice(0, colon);
    portText = tcp.slice(colon + 1);
    if (host.includes(':')) return { ok: false, reason: `an IPv6 address needs brackets: "[${host}]:${portText}"` };
    const hostProblem = checkHost(host);
    if (hostProblem !== undefined) return { ok: false, reason: hostProblem };
  }
  const port = parsePort(portText);
  if (port === undefined) return { ok: false, reason: `"${portText}" is not a port number (${PORT_MIN}..${PORT_MAX})` };
  return { ok: true, address: { kind: 'tcp', host, port } };
}

/** Why `host` cannot be bound, or undefined when it is an IP address or a host name. */
export function checkHost(host: string): string | undefined {
  if (host === '' || host === '*') return 'missing host (use 0.0.0.0 or [::] for every interface)';
  if (host.startsWith('[') && host.endsWith(']')) return 'write the IPv6 address without brackets here';
  if (isIPv4(host) || isIPv6(host) || HOSTNAME.test(host)) return undefined;
  return `"${host}" is neither an IP address nor a host name`;
}

/** Why `path` cannot be a unix socket path, or undefined when it can. */
export function checkUnixPath(path: string, requireAbsolute: boolean): string | undefined {
  if (path === '') return 'missing socket path after "unix:"';
  if (path.includes('\0')) return 'the socket path contains a NUL byte';
  if (requireAbsolute && !path.startsWith('/')) {
    return `the socket path must be absolute ("unix:/run/…"), not relative to the daemon's working directory`;
  }
  const bytes = Buffer.byteLength(path, 'utf8');
  if (bytes > UNIX_PATH_MAX_BYTES) return `the socket path is ${bytes} bytes long; unix sockets allow at most ${UNIX_PATH_MAX_BYTES}`;
  return undefined;
}

function parsePort(text: string): number | undefined {
  if (!/^[0-9]{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= PORT_MIN && port <= PORT_MAX ? port : undefined;
}

/** `127.0.0.1:8461`, `[::1]:8461`, `unix:/run/x.sock` — the form `parseListenAddress` reads. */
export function formatListenAddress(a: ListenAddress): string {
  switch (a.kind) {
    case 'tcp':
      return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
    case 'unix':
      return `unix:${a.path}`;
    default: {
      const _never: never = a;
      return _never;
    }
  }
}

/** Identity of an address for duplicate detection: host case and path spelling do not matter. */
export function listenAddressKey(a: ListenAddress): string {
  switch (a.kind) {
    case 'tcp':
      return `tcp ${a.host.toLowerCase()} ${a.port}`;
    case 'unix':
      return `unix ${posix.normalize(a.path)}`;
    default: {
      const _never: never = a;
      return _never;
    }
  }
}
