/**
 * A recipient address (as a policy delegation request carries it) -> the MTA-STS policy domain
 * of its destination, or why there is none. Pure.
 */
import { toPolicyDomain } from '../../src/policy/domain.js';

/** What a recipient address gives the cache warmer. */
export type RecipientDomain =
  | { readonly kind: 'domain'; readonly domain: string }
  | {
      readonly kind: 'skip';
      /**
       * - `empty`: no recipient, or the null path `<>`.
       * - `no-domain`: a bare local part (`postmaster`), delivered locally by Postfix.
       * - `address-literal`: `user@[192.0.2.1]`: no policy domain exists (RFC 8461 §4).
       * - `invalid`: the domain part is not a host name.
       */
      readonly reason: 'empty' | 'no-domain' | 'address-literal' | 'invalid';
      readonly detail: string;
    };

function skip(reason: 'empty' | 'no-domain' | 'address-literal' | 'invalid', detail: string): RecipientDomain {
  return { kind: 'skip', reason, detail };
}

/**
 * Index of the `@` that separates local part and domain: the last one outside a quoted local
 * part (RFC 5321 §4.1.2 Quoted-string, where `\` escapes the next character). -1 when none.
 */
export function domainSeparator(address: string): number {
  let quoted = false;
  let at = -1;
  for (let i = 0; i < address.length; i += 1) {
    const c = address[i];
    if (c === '\\' && quoted) {
      i += 1;
    } else if (c === '"') {
      quoted = !quoted;
    } else if (c === '@' && !quoted) {
      at = i;
    }
  }
  return at;
}

/** The policy domain (lower-case A-label) of `recipient`. */
export function recipientDomain(recipient: string): RecipientDomain {
  let address = recipient.trim();
  // Postfix strips the angle brackets; a hand-written request may still carry them.
  if (address.startsWith('<') && address.endsWith('>')) address = address.slice(1, -1).trim();
  if (address === '') return skip('empty', 'no recipient address');
  const at = domainSeparator(address);
  if (at < 0) return skip('no-domain', `${JSON.stringify(recipient)} has no domain part`);
  const domain = address.slice(at + 1);
  if (domain === '') return skip('invalid', `${JSON.stringify(recipient)} has an empty domain part`);
  if (domain.startsWith('[')) return skip('address-literal', `${JSON.stringify(recipient)} is addressed to an IP literal`);
  const checked = toPolicyDomain(domain);
  if (checked.ok) return { kind: 'domain', domain: checked.domain };
  switch (checked.code) {
    case 'EDOMAIN_IP_LITERAL':
      return skip('address-literal', checked.message);
    case 'EDOMAIN_INVALID':
      return skip('invalid', checked.message);
    default: {
      const _never: never = checked.code;
      return _never;
    }
  }
}
