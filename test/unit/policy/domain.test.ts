import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MAX_DOMAIN_LENGTH,
  MAX_LABEL_LENGTH,
  isValidAsciiDomain,
  mxMatches,
  toPolicyDomain,
} from '../../../src/policy/domain.js';

const label63 = 'a'.repeat(MAX_LABEL_LENGTH);
const label64 = 'a'.repeat(MAX_LABEL_LENGTH + 1);
// 63+1+63+1+63+1+61 = 253
const name253 = `${label63}.${label63}.${label63}.${'b'.repeat(61)}`;
const name254 = `${label63}.${label63}.${label63}.${'b'.repeat(62)}`;

describe('domain limits', () => {
  it('uses the RFC 1035 numbers', () => {
    assert.equal(MAX_LABEL_LENGTH, 63);
    assert.equal(MAX_DOMAIN_LENGTH, 253);
    assert.equal(name253.length, 253);
    assert.equal(name254.length, 254);
  });
});

describe('isValidAsciiDomain', () => {
  const cases: ReadonlyArray<readonly [string, boolean]> = [
    ['example.com', true],
    ['a.b.c.example', true],
    ['localhost', true],
    ['xn--bcher-kva.example', true],
    ['0.example', true],
    ['123abc.com', true],
    ['a-b.example', true],
    [`${label63}.example`, true],
    [`${label64}.example`, false],
    [name253, true],
    [name254, false],
    ['', false],
    ['Example.com', false], // expects lower case
    ['-a.example', false],
    ['a-.example', false],
    ['a_b.example', false],
    ['a..example', false],
    ['.example', false],
    ['example.', false],
    ['192.0.2.1', false],
    ['example.123', false],
    ['*.example.com', false],
  ];
  for (const [name, expected] of cases) {
    it(`${JSON.stringify(name.length > 40 ? `${name.slice(0, 40)}…(${name.length})` : name)} -> ${expected}`, () => {
      assert.equal(isValidAsciiDomain(name), expected);
    });
  }
});

type DomainExpect = { readonly ok: true; readonly domain: string } | { readonly ok: false; readonly code: string };

describe('toPolicyDomain', () => {
  const cases: ReadonlyArray<readonly [string, DomainExpect]> = [
    ['example.com', { ok: true, domain: 'example.com' }],
    ['EXAMPLE.Com', { ok: true, domain: 'example.com' }],
    ['example.com.', { ok: true, domain: 'example.com' }],
    ['example.com..', { ok: false, code: 'EDOMAIN_INVALID' }],
    ['.', { ok: false, code: 'EDOMAIN_INVALID' }],
    ['', { ok: false, code: 'EDOMAIN_INVALID' }],
    // U-labels to A-labels (UTS #46 mapping, lower-casing included)
    ['bücher.example', { ok: true, domain: 'xn--bcher-kva.example' }],
    ['BÜCHER.example', { ok: true, domain: 'xn--bcher-kva.example' }],
    ['bücher.example.', { ok: true, domain: 'xn--bcher-kva.example' }],
    ['xn--bcher-kva.example', { ok: true, domain: 'xn--bcher-kva.example' }],
    ['XN--BCHER-KVA.example', { ok: true, domain: 'xn--bcher-kva.example' }],
    ['例え.テスト', { ok: true, domain: 'xn--r8jz45g.xn--zckzah' }],
    ['example\u3002com', { ok: true, domain: 'example.com' }], // ideographic full stop
    ['xn--zz.example', { ok: false, code: 'EDOMAIN_INVALID' }], // malformed Punycode
    ['xn--a.example', { ok: false, code: 'EDOMAIN_INVALID' }],
    // IP literals
    ['192.0.2.1', { ok: false, code: 'EDOMAIN_IP_LITERAL' }],
    ['192.0.2.1.', { ok: false, code: 'EDOMAIN_IP_LITERAL' }],
    ['2001:db8::1', { ok: false, code: 'EDOMAIN_IP_LITERAL' }],
    ['::1', { ok: false, code: 'EDOMAIN_IP_LITERAL' }],
    ['::ffff:192.0.2.1', { ok: false, code: 'EDOMAIN_IP_LITERAL' }],
    ['[192.0.2.1]', { ok: false, code: 'EDOMAIN_INVALID' }], // bracketed: not a name either
    ['[2001:db8::1]', { ok: false, code: 'EDOMAIN_INVALID' }],
    ['256.0.0.1', { ok: false, code: 'EDOMAIN_INVALID' }],
    ['1.2.3', { ok: false, code: 'EDOMAIN_INVALID' }], // WHATWG would read an IPv4 address
    ['0x7f.1', { ok: false, code: 'EDOMAIN_INVALID' }],
    // label and name lengths
    [`${label63}.example`, { ok: true, domain: `${label63}.example` }],
    [`${label64}.example`, { ok: false, code: 'EDOMAIN_INVALID' }],
    [name253, { ok: true, domain: name253 }],
    [`${name253}.`, { ok: true, domain: name253 }],
    [name254, { ok: false, code: 'EDOMAIN_INVALID' }],
    // invalid characters
    ['exa mple.com', { ok: false, code: 'EDOMAIN_INVALID' }],
    ['example.com\n', { ok: false, code: 'EDOMAIN_INVALID' }],
    ['example.com\x00', { ok: false, code: 'EDOMAIN_INVALID' }],
    ['user@example.com', { ok: false, code: 'EDOMAIN_INVALID' }],
    ['example.com:25', { ok: false, code: 'EDOMAIN_INVALID' }],
    ['example.com/x', { ok: false, code: 'EDOMAIN_INVALID' }],
    ['ex%41mple.com', { ok: false, code: 'EDOMAIN_INVALID' }],
    ['a_b.example', { ok: false, code: 'EDOMAIN_INVALID' }],
    ['*.example.com', { ok: false, code: 'EDOMAIN_INVALID' }],
    ['-a.example', { ok: false, code: 'EDOMAIN_INVALID' }],
    ['a..example', { ok: false, code: 'EDOMAIN_INVALID' }],
    ['.example.com', { ok: false, code: 'EDOMAIN_INVALID' }],
    ['example.123', { ok: false, code: 'EDOMAIN_INVALID' }],
    ['<example>.com', { ok: false, code: 'EDOMAIN_INVALID' }],
  ];
  for (const [input, expected] of cases) {
    const shown = input.length > 40 ? `${input.slice(0, 40)}…(${input.length})` : input;
    it(`${JSON.stringify(shown)} -> ${expected.ok ? expected.domain.slice(0, 40) : expected.code}`, () => {
      const result = toPolicyDomain(input);
      if (expected.ok) {
        assert.deepEqual(result, { ok: true, domain: expected.domain });
      } else {
        assert.ok(!result.ok, `expected ${expected.code}, got ${JSON.stringify(result)}`);
        assert.equal(result.code, expected.code);
        assert.ok(result.message.length > 0);
      }
    });
  }

  it('is idempotent on its own output', () => {
    for (const [input] of cases) {
      const first = toPolicyDomain(input);
      if (first.ok) assert.deepEqual(toPolicyDomain(first.domain), first);
    }
  });
});

describe('mxMatches', () => {
  const cases: ReadonlyArray<readonly [pattern: string, host: string, expected: boolean]> = [
    ['mail.example.com', 'mail.example.com', true],
    ['mail.example.com', 'MAIL.Example.COM', true],
    ['mail.example.com', 'mail.example.com.', true],
    ['MAIL.example.com', 'mail.example.com', true],
    ['mail.example.com', 'mail2.example.com', false],
    ['mail.example.com', 'example.com', false],
    ['mail.example.com', 'x.mail.example.com', false],
    ['*.example.com', 'mail.example.com', true],
    ['*.example.com', 'MAIL.EXAMPLE.COM.', true],
    ['*.EXAMPLE.com', 'mail.example.com', true],
    ['*.example.com', 'example.com', false], // needs exactly one extra label
    ['*.example.com', 'a.b.example.com', false], // not two
    ['*.example.com', '.example.com', false],
    ['*.example.com', 'mail.example.net', false],
    ['*.example.com', 'mailexample.com', false],
    ['*.example.com', 'mail.notexample.com', false],
    ['*.xn--bcher-kva.example', 'mx.xn--bcher-kva.example', true],
    ['example.com', '*.example.com', false],
  ];
  for (const [pattern, host, expected] of cases) {
    it(`${pattern} vs ${host} -> ${expected}`, () => {
      assert.equal(mxMatches(pattern, host), expected);
    });
  }
});
