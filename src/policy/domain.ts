/**
 * Domain names as MTA-STS compares them: lower-case A-labels (RFC 8461 §4.1, RFC 5890).
 * Pure functions.
 */
import { isIP } from 'node:net';
import { domainToASCII, domainToUnicode } from 'node:url';

/** RFC 1035 §2.3.4: 63 octets per label, 253 characters for a name without its final dot. */
export const MAX_LABEL_LENGTH = 63;
export const MAX_DOMAIN_LENGTH = 253;

export type DomainCheck =
  | { readonly ok: true; readonly domain: string }
  | { readonly ok: false; readonly code: 'EDOMAIN_IP_LITERAL' | 'EDOMAIN_INVALID'; readonly message: string };

const LDH_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** True when `name` (lower-case, ASCII, no final dot) is a syntactically valid host name. */
export function isValidAsciiDomain(name: string): boolean {
  if (name.length === 0 || name.length > MAX_DOMAIN_LENGTH) return false;
  const labels = name.split('.');
  for (const label of labels) {
    if (label.length > MAX_LABEL_LENGTH || !LDH_LABEL.test(label)) return false;
  }
  // An all-numeric top-level label is an address, not a name (RFC 3696 §2).
  const tld = labels[labels.length - 1] ?? '';
  return !/^[0-9]+$/.test(tld);
}

const DOT = 0x2e;
const HYPHEN = 0x2d;

/**
 * True when `key` is already its own policy domain: lower-case ASCII letters, digits, hyphens
 * and dots forming a valid host name (isValidAsciiDomain), with no `xn--` label. For such a key
 * toPolicyDomain would return it unchanged (UTS #46 maps nothing in it), so the warm path may
 * skip that conversion; every other key (upper case, U-labels, A-labels, ports, brackets, a
 * final dot) takes the full path. One pass over the characters, no allocation.
 */
export function isPlainPolicyDomain(key: string): boolean {
  const n = key.length;
  if (n === 0 || n > MAX_DOMAIN_LENGTH) return false;
  let labelStart = 0;
  let labelDigitsOnly = true;
  for (let i = 0; i <= n; i += 1) {
    const c = i < n ? key.charCodeAt(i) : DOT;
    if (c === DOT) {
      const length = i - labelStart;
      if (length === 0 || length > MAX_LABEL_LENGTH) return false;
      if (key.charCodeAt(i - 1) === HYPHEN) return false;
      // `xn--`: an A-label, which only domainToASCII may vouch for.
      if (
        length >= 4 &&
        key.charCodeAt(labelStart + 2) === HYPHEN &&
        key.charCodeAt(labelStart + 3) === HYPHEN &&
        key.startsWith('xn', labelStart)
      ) {
        return false;
      }
      // An all-numeric top-level label is an address (RFC 3696 §2); so is `0x` and hex digits for
      // domainToASCII (WHATWG URL's "ends in a number"), which refuses such a name.
      if (i === n) return !labelDigitsOnly && !isHexNumberLabel(key, labelStart, n);
      labelStart = i + 1;
      labelDigitsOnly = true;
    } else if (c >= 0x61 && c <= 0x7a) {
      labelDigitsOnly = false;
    } else if (c >= 0x30 && c <= 0x39) {
      // a digit
    } else if (c === HYPHEN) {
      if (i === labelStart) return false;
      labelDigitsOnly = false;
    } else {
      return false;
    }
  }
  return false;
}

const ZERO = 0x30;
const LOWER_X = 0x78;

/** True when `key[from, to)` is `0x` followed by hex digits only (lower case). */
function isHexNumberLabel(key: string, from: number, to: number): boolean {
  if (to - from < 2 || key.charCodeAt(from) !== ZERO || key.charCodeAt(from + 1) !== LOWER_X) return false;
  for (let i = from + 2; i < to; i += 1) {
    const c = key.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

/**
 * Turn a next-hop domain (maybe UTF-8 U-labels, any case, maybe one trailing dot) into the
 * lower-case A-label form used as the policy domain and cache key.
 */
export function toPolicyDomain(input: string): DomainCheck {
  let name = input.endsWith('.') ? input.slice(0, -1) : input;
  if (name.length === 0) return { ok: false, code: 'EDOMAIN_INVALID', message: 'empty domain name' };
  if (isIP(name) !== 0) return { ok: false, code: 'EDOMAIN_IP_LITERAL', message: `${name} is an IP address` };
  // domainToASCII applies UTS #46 mapping (lower-casing included); '' means invalid.
  if (/[\u0000-\u0020\u007f%/\\?#@:[\]]/.test(name)) {
    return { ok: false, code: 'EDOMAIN_INVALID', message: `invalid characters in ${JSON.stringify(input)}` };
  }
  // Always through domainToASCII, so that malformed `xn--` labels are rejected too.
  name = domainToASCII(name);
  if (name.length === 0 || !isValidAsciiDomain(name) || !aLabelsDecode(name)) {
    return { ok: false, code: 'EDOMAIN_INVALID', message: `not a valid domain name: ${JSON.stringify(input)}` };
  }
  return { ok: true, domain: name };
}

/**
 * Every `xn--` label of `name` (already through domainToASCII) is a real A-label: it decodes to a
 * U-label that encodes back to it. Node 20's domainToASCII refuses a malformed one (`xn--zz`), but
 * Node 24's (ada 3) passes it through unchanged, and so does its domainToUnicode: the round trip
 * decides on every Node line.
 */
export function aLabelsDecode(name: string): boolean {
  for (const label of name.split('.')) {
    if (!label.startsWith('xn--')) continue;
    const unicode = domainToUnicode(label);
    if (unicode === '' || unicode.startsWith('xn--') || domainToASCII(unicode) !== label) return false;
  }
  return true;
}

/**
 * RFC 8461 §4.1: does MX host `host` match policy pattern `pattern`? Both lower-case A-labels.
 * `*.example.com` matches exactly one extra left-most label.
 */
export function mxMatches(pattern: string, host: string): boolean {
  const h = host.endsWith('.') ? host.slice(0, -1).toLowerCase() : host.toLowerCase();
  const p = pattern.toLowerCase();
  if (p.startsWith('*.')) {
    const dot = h.indexOf('.');
    return dot > 0 && h.slice(dot + 1) === p.slice(2);
  }
  return h === p;
}
