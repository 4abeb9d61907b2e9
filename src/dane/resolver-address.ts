/**
 * The validating resolver's address: `dns.resolver` in the config (`"IP"`, `"IP:PORT"`,
 * `"[IPV6]:PORT"`), or by default the first `nameserver` of /etc/resolv.conf, the resolver
 * Postfix's smtp(8) uses too (a chrooted smtp(8) reads `$queue_directory/etc/resolv.conf`).
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';

/** RFC 1035 §4.2: DNS over UDP and TCP on port 53. */
export const DNS_PORT = 53;
/** resolv.conf(5): with no `nameserver` line the resolver asks the local host. */
export const RESOLV_CONF_DEFAULT_SERVER = '127.0.0.1';
/** Where the system's resolver configuration lives. */
export const RESOLV_CONF_PATH = '/etc/resolv.conf';
/** resolv.conf is a few lines; anything bigger is not one (bounded read). */
export const RESOLV_CONF_MAX_BYTES = 64 * 1024;

/** A resolver to send queries to. */
export interface ResolverAddress {
  readonly host: string;
  readonly port: number;
  readonly family: 4 | 6;
}

export type ParsedResolverAddress =
  { readonly ok: true; readonly address: ResolverAddress } | { readonly ok: false; readonly message: string };

function parsePort(text: string): number | undefined {
  if (!/^[0-9]{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : undefined;
}

function literal(host: string, port: number): ParsedResolverAddress {
  const family = isIP(host);
  if (family === 4 || family === 6) return { ok: true, address: { host, port, family } };
  return { ok: false, message: `${JSON.stringify(host)} is not an IP address` };
}

/**
 * Parse `"IP"`, `"IP:PORT"` (IPv4) or `"[IPV6]:PORT"` (also `"[IPV6]"` and a bare IPv6
 * address). Names are refused: the resolver must be reachable without DNS.
 */
export function parseResolverAddress(text: string): ParsedResolverAddress {
  const value = text.trim();
  if (value === '') return { ok: false, message: 'empty resolver address' };
  if (value.startsWith('[')) {
    const m = /^\[([^\]]+)\](?::([^:]*))?$/.exec(value);
    if (m === null) return { ok: false, message: `${JSON.stringify(text)} is not "[IPV6]:PORT"` };
    const host = m[1] ?? '';
    if (isIP(host) !== 6) return { ok: false, message: `${JSON.stringify(host)} is not an IPv6 address` };
    if (m[2] === undefined) return literal(host, DNS_PORT);
    const port = parsePort(m[2]);
    return port === undefined ? { ok: false, message: `bad port in ${JSON.stringify(text)} (1 to 65535)` } : literal(host, port);
  }
  if (isIP(value) !== 0) return literal(value, DNS_PORT);
  const colon = value.lastIndexOf(':');
  if (colon > 0 && value.indexOf(':') === colon) {
    const host = value.slice(0, colon);
    const port = parsePort(value.slice(colon + 1));
    if (port === undefined) return { ok: false, message: `bad port in ${JSON.stringify(text)} (1 to 65535)` };
    if (isIP(host) !== 4) return { ok: false, message: `${JSON.stringify(host)} is not an IPv4 address (write IPv6 as "[IPV6]:PORT")` };
    return literal(host, port);
  }
  return { ok: false, message: `${JSON.stringify(text)} is not "IP", "IP:PORT" or "[IPV6]:PORT"` };
}

/**
 * The first usable `nameserver` of a resolv.conf text (resolv.conf(5): `#` and `;` start
 * comments; lines that are not an IP address are skipped as glibc does), else the default.
 */
export function firstNameserver(resolvConf: string): ResolverAddress {
  for (const rawLine of resolvConf.split('\n')) {
    const line = rawLine.replace(/[#;].*$/, '').trim();
    const m = /^nameserver\s+(\S+)/.exec(line);
    if (m === null) continue;
    // A scope id (fe80::1%eth0) is kept: node:dgram accepts it.
    const host = m[1] ?? '';
    const family = isIP(host.replace(/%.*$/, ''));
    if (family === 4 || family === 6) return { host, port: DNS_PORT, family };
  }
  return { host: RESOLV_CONF_DEFAULT_SERVER, port: DNS_PORT, family: 4 };
}

/** The system default: the first nameserver of /etc/resolv.conf (or 127.0.0.1 without one). */
export function systemResolverAddress(path: string = RESOLV_CONF_PATH): ResolverAddress {
  let text = '';
  try {
    const buf = readFileSync(path);
    text = buf.subarray(0, RESOLV_CONF_MAX_BYTES).toString('utf8');
  } catch {
    // No resolv.conf: the libc default applies (resolv.conf(5)).
  }
  return firstNameserver(text);
}

/** `IP:PORT` or `[IPV6]:PORT`, for logs and `query`. */
export function formatResolverAddress(address: ResolverAddress): string {
  return address.family === 6 ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** True for 127.0.0.0/8 and ::1: the only place where the AD bit can be trusted without TSIG. */
export function isLoopback(address: ResolverAddress): boolean {
  return address.family === 4 ? address.host.startsWith('127.') : address.host === '::1';
}
