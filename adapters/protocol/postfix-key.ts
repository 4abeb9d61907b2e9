/**
 * Postfix smtp_tls_policy_maps lookup keys -> the MTA-STS policy domain, or a reason to skip.
 * Pure; knows Postfix key shapes (postconf(5) smtp_tls_policy_maps, TLS_README) and nothing else.
 */
import { isIP } from 'node:net';
import { toPolicyDomain } from '../../src/policy/domain.js';

/** What a Postfix lookup key asks for. */
export type PostfixKey =
  | { readonly kind: 'domain'; readonly domain: string }
  | {
      readonly kind: 'skip';
      /**
       * - `parent-domain`: a `.example.com` parent-suffix probe. Answering it would hand a
       *   subdomain its parent's policy, which MTA-STS never does (RFC 8461; PROTOCOLS.md §3).
       * - `ip-literal`: `[192.0.2.1]`, `[ipv6:...]`, or a bare address: no policy domain exists.
       * - `invalid`: not a host name we can look up.
       */
      readonly reason: 'parent-domain' | 'ip-literal' | 'invalid';
      readonly detail: string;
    };

/** Port in `[host]:port` / `host:port`: a number or a service name (transport(5) next-hop syntax). */
const PORT = /^(?:[0-9]{1,5}|[a-z][a-z0-9-]{0,63})$/;
/** TCP port numbers are 16 bits (RFC 793). */
const MAX_PORT = 65_535;

/** Postfix's address-literal prefix for IPv6 next hops: `[ipv6:2001:db8::1]`. */
const IPV6_TAG = 'ipv6:';

function skip(reason: 'parent-domain' | 'ip-literal' | 'invalid', detail: string): PostfixKey {
  return { kind: 'skip', reason, detail };
}

function validPort(port: string): boolean {
  if (!PORT.test(port)) return false;
  if (/^[0-9]/.test(port)) {
    const n = Number(port);
    return n >= 1 && n <= MAX_PORT;
  }
  return true;
}

/** Resolve a host part (brackets and port already removed) to a policy domain. */
function hostToDomain(host: string, key: string): PostfixKey {
  const bare = host.endsWith('.') ? host.slice(0, -1) : host;
  if (bare.startsWith(IPV6_TAG) || isIP(bare) !== 0) return skip('ip-literal', `${JSON.stringify(key)} is an IP address`);
  const checked = toPolicyDomain(host);
  if (checked.ok) return { kind: 'domain', domain: checked.domain };
  switch (checked.code) {
    case 'EDOMAIN_IP_LITERAL':
      return skip('ip-literal', checked.message);
    case 'EDOMAIN_INVALID':
      return skip('invalid', checked.message);
    default: {
      const _never: never = checked.code;
      return _never;
    }
  }
}

/**
 * Classify one smtp_tls_policy_maps key.
 *
 * - Case is folded (ASCII here; toPolicyDomain applies the UTS #46 mapping to the rest);
 *   one trailing dot is dropped.
 * - `.example.com` (Postfix's parent-suffix probe after a miss) -> skip `parent-domain`.
 * - `[host]:port`, `[host]`, `host:port` -> `host` is the policy domain (RFC 8461 §3.4:
 *   a smart host's domain is the policy domain).
 * - `[192.0.2.1]`, `[ipv6:2001:db8::1]`, bare IPv4/IPv6 addresses -> skip `ip-literal`.
 * - UTF-8 U-labels become A-labels. A key holding U+FFFD (what invalid UTF-8 decodes to)
 *   is `invalid`.
 */
export function parsePostfixKey(key: string): PostfixKey {
  if (key.length === 0) return skip('invalid', 'empty key');
  if (key.includes('\uFFFD')) return skip('invalid', 'key is not valid UTF-8');
  const k = key.replace(/[A-Z]+/g, (s) => s.toLowerCase());

  if (k.startsWith('[')) {
    const close = k.indexOf(']');
    if (close < 0) return skip('invalid', `unbalanced '[' in ${JSON.stringify(key)}`);
    const host = k.slice(1, close);
    const rest = k.slice(close + 1);
    if (rest !== '' && !(rest.startsWith(':') && validPort(rest.slice(1)))) {
      return skip('invalid', `bad port or trailing text in ${JSON.stringify(key)}`);
    }
    if (host === '') return skip('invalid', `empty host in ${JSON.stringify(key)}`);
    return hostToDomain(host, key);
  }

  if (k.startsWith('.')) {
    return k.length > 1 ? skip('parent-domain', `parent-suffix probe ${JSON.stringify(key)}`) : skip('invalid', 'key is "."');
  }

  // A bare IPv6 address is full of colons: recognize it before reading `host:port`.
  const bare = k.endsWith('.') ? k.slice(0, -1) : k;
  if (isIP(bare) !== 0) return skip('ip-literal', `${JSON.stringify(key)} is an IP address`);

  const colon = k.lastIndexOf(':');
  if (colon >= 0) {
    const host = k.slice(0, colon);
    if (host === '' || !validPort(k.slice(colon + 1))) {
      return skip('invalid', `bad host:port in ${JSON.stringify(key)}`);
    }
    return hostToDomain(host, key);
  }
  return hostToDomain(k, key);
}
