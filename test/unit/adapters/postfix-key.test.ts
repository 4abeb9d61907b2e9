import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parsePostfixKey } from '../../../adapters/protocol/postfix-key.js';
import type { PostfixKey } from '../../../adapters/protocol/postfix-key.js';

/** A policy domain, or a skip reason: 'parent-domain', 'ip-literal', 'invalid' (SKIPS). */
type Want = string;
const SKIPS = new Set(['parent-domain', 'ip-literal', 'invalid']);

/** key -> policy domain, or the skip reason. */
const table: Array<[key: string, want: Want, why: string]> = [
  // plain domains and case
  ['example.com', 'example.com', 'plain domain'],
  ['EXAMPLE.COM', 'example.com', 'upper case'],
  ['Mail.Example.Org', 'mail.example.org', 'mixed case'],
  ['example.com.', 'example.com', 'one trailing dot dropped'],
  ['example.com..', 'invalid', 'two trailing dots'],
  ['localhost', 'localhost', 'single label'],
  ['a-b.example', 'a-b.example', 'hyphen'],
  ['xn--bcher-kva.de', 'xn--bcher-kva.de', 'A-label kept'],
  // U-labels
  ['bücher.de', 'xn--bcher-kva.de', 'U-label -> A-label'],
  ['BÜCHER.DE', 'xn--bcher-kva.de', 'upper-case U-label'],
  ['münchen.example.', 'xn--mnchen-3ya.example', 'U-label with trailing dot'],
  ['例え.テスト', 'xn--r8jz45g.xn--zckzah', 'Japanese U-labels'],
  // parent-suffix probes
  ['.example.com', 'parent-domain', 'Postfix parent-suffix probe'],
  ['.com', 'parent-domain', 'TLD probe'],
  ['.EXAMPLE.COM', 'parent-domain', 'upper-case probe'],
  ['.', 'invalid', 'root only'],
  // smart hosts (RFC 8461 §3.4)
  ['[mail.example.org]:587', 'mail.example.org', 'bracketed host with port'],
  ['[Mail.Example.Org]', 'mail.example.org', 'bracketed host'],
  ['[mail.example.org.]:25', 'mail.example.org', 'bracketed host with trailing dot'],
  ['example.net:2525', 'example.net', 'host:port'],
  ['example.net:smtp', 'example.net', 'host:service'],
  ['[relay.example]:submission', 'relay.example', 'bracketed host:service'],
  ['[bücher.de]:25', 'xn--bcher-kva.de', 'bracketed U-label'],
  ['example.net:65535', 'example.net', 'highest port'],
  ['example.net:0', 'invalid', 'port 0'],
  ['example.net:65536', 'invalid', 'port too large'],
  ['example.net:', 'invalid', 'empty port'],
  ['[mail.example.org]:', 'invalid', 'empty port after bracket'],
  ['[mail.example.org]x', 'invalid', 'text after bracket'],
  ['[mail.example.org', 'invalid', 'unclosed bracket'],
  ['[]', 'invalid', 'empty brackets'],
  ['[]:25', 'invalid', 'empty brackets with port'],
  [':25', 'invalid', 'port only'],
  ['a:b:25', 'invalid', 'two colons, not an address'],
  // IP literals
  ['[192.0.2.1]', 'ip-literal', 'IPv4 literal'],
  ['[192.0.2.1]:25', 'ip-literal', 'IPv4 literal with port'],
  ['[ipv6:2001:db8::1]', 'ip-literal', 'Postfix IPv6 literal'],
  ['[IPv6:2001:DB8::1]:25', 'ip-literal', 'IPv6 literal, any case, with port'],
  ['[2001:db8::1]', 'ip-literal', 'bracketed bare IPv6'],
  ['192.0.2.1', 'ip-literal', 'bare IPv4'],
  ['192.0.2.1.', 'ip-literal', 'bare IPv4 with trailing dot'],
  ['192.0.2.1:25', 'ip-literal', 'IPv4 with port'],
  ['2001:db8::1', 'ip-literal', 'bare IPv6'],
  ['::1', 'ip-literal', 'IPv6 loopback'],
  ['::ffff:192.0.2.1', 'ip-literal', 'IPv4-mapped IPv6'],
  // invalid names
  ['', 'invalid', 'empty'],
  ['exa mple.com', 'invalid', 'space'],
  [' example.com', 'invalid', 'leading space'],
  ['example.com\n', 'invalid', 'newline'],
  ['user@example.com', 'invalid', 'address, not a domain'],
  ['exa_mple.com', 'invalid', 'underscore'],
  ['-example.com', 'invalid', 'leading hyphen'],
  ['example..com', 'invalid', 'empty label'],
  [`${'a'.repeat(64)}.com`, 'invalid', 'label of 64 octets'],
  [`${'a'.repeat(63)}.com`, `${'a'.repeat(63)}.com`, 'label of 63 octets'],
  [`${'abcdefghi.'.repeat(25)}com`, `${'abcdefghi.'.repeat(25)}com`, 'name of exactly 253 octets'],
  [`${'abcdefghi.'.repeat(25)}comx`, 'invalid', 'name of 254 octets'],
  ['1.2.3', 'invalid', 'all-numeric TLD, not an address'],
  ['xn--zz.com', 'invalid', 'malformed A-label'],
  ['exa\uFFFDmple.com', 'invalid', 'replacement character (invalid UTF-8)'],
  ['example.com/x', 'invalid', 'slash'],
  ['example.com]', 'invalid', 'stray bracket'],
  ['%2e.example', 'invalid', 'percent'],
];

describe('parsePostfixKey', () => {
  for (const [key, want, why] of table) {
    it(`${JSON.stringify(key)} -> ${want} (${why})`, () => {
      const got: PostfixKey = parsePostfixKey(key);
      if (SKIPS.has(want)) {
        assert.equal(got.kind, 'skip');
        if (got.kind === 'skip') {
          assert.equal(got.reason, want);
          assert.ok(got.detail.length > 0);
        }
      } else {
        assert.deepEqual(got, { kind: 'domain', domain: want });
      }
    });
  }

  it('every domain result is a lower-case A-label without a trailing dot', () => {
    for (const [key] of table) {
      const got = parsePostfixKey(key);
      if (got.kind === 'domain') {
        assert.match(got.domain, /^[a-z0-9.-]+$/, key);
        assert.ok(!got.domain.endsWith('.'), key);
      }
    }
  });
});
