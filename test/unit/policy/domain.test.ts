import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MAX_DOMAIN_LENGTH,
  MAX_LABEL_LENGTH,
  isPlainPolicyDomain,
  isValidAsciiDomain,
  mxMatches,
  toPolicyDomain,
} from '../../../src/policy/domain.js';
import fc from 'fast-check';
import { parsePostfixKey } from '../../../adapters/protocol/postfix-key.js';
import { runFuzz } from '../../fuzz/budget.js';

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

describe('isPlainPolicyDomain', () => {
  const cases: ReadonlyArray<readonly [string, boolean]> = [
    ['example.com', true],
    ['a', true],
    ['localhost', true],
    ['mx1.a-b.example', true],
    ['0.example', true],
    ['123abc.com', true],
    ['1.2.3.a', true], // only the top-level label must not be all digits
    ['a--b.example', true], // `--` not at positions 3-4 after `xn`
    ['xna--b.example', true],
    ['x.xn', true],
    [`${label63}.example`, true],
    [name253, true],
    ['Example.com', false],
    ['EXAMPLE.COM', false],
    ['xn--bcher-kva.example', false],
    ['mail.xn--bcher-kva.example', false],
    ['example.xn--zckzah', false],
    ['XN--BCHER-KVA.example', false],
    ['example.com.', false],
    ['.example.com', false],
    ['a..example', false],
    ['.', false],
    ['', false],
    ['example.123', false],
    ['192.0.2.1', false],
    ['-a.example', false],
    ['a-.example', false],
    ['example.-com', false],
    ['example.com-', false],
    [`${label64}.example`, false],
    [name254, false],
    [`${name253}.`, false],
    ['[192.0.2.1]', false],
    ['[example.com]', false],
    ['example.com:25', false],
    ['[example.com]:25', false],
    ['exa mple.com', false],
    [' example.com', false],
    ['example.com ', false],
    ['example.com\n', false],
    ['exam\uFFFDple.com', false],
    ['bücher.example', false],
    ['例え.テスト', false],
    ['a_b.example', false],
    ['*.example.com', false],
    ['user@example.com', false],
    ['example.com/x', false],
    ['ex%41mple.com', false],
    // WHATWG reads a top-level label `0x…` as a number: domainToASCII refuses the name.
    ['a.0x7f', false],
    ['example.0x', false],
    ['example.0xff', false],
  ];
  for (const [key, expected] of cases) {
    const shown = key.length > 40 ? `${key.slice(0, 40)}…(${key.length})` : key;
    it(`${JSON.stringify(shown)} -> ${expected}`, () => {
      assert.equal(isPlainPolicyDomain(key), expected);
      if (expected) {
        // What the warm path skips would have given back the key itself.
        assert.deepEqual(toPolicyDomain(key), { ok: true, domain: key });
        assert.deepEqual(parsePostfixKey(key), { kind: 'domain', domain: key });
      }
    });
  }

  it('agrees with toPolicyDomain and parsePostfixKey on every key it accepts (property)', (t) => {
    const interesting = fc.oneof(
      fc.string({ maxLength: 80 }),
      fc.string({ unit: fc.constantFrom(...'abcxn019-.AZ_:[] \u00fc\uFFFD'.split('')), maxLength: 40 }),
      fc.array(fc.stringMatching(/^[a-z0-9x-]{0,8}$/), { minLength: 1, maxLength: 5 }).map((labels) => labels.join('.')),
    );
    runFuzz(
      t,
      fc.property(interesting, (key) => {
        if (!isPlainPolicyDomain(key)) return true;
        assert.deepEqual(toPolicyDomain(key), { ok: true, domain: key }, JSON.stringify(key));
        assert.deepEqual(parsePostfixKey(key), { kind: 'domain', domain: key }, JSON.stringify(key));
        return true;
      }),
      0.5,
    );
  });

  it('accepts every generated LDH host name without an xn-- label or a hex/numeric top-level label (property)', (t) => {
    const label = fc
      .stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/)
      .filter((l) => l.length <= MAX_LABEL_LENGTH && !l.startsWith('xn--'));
    const tld = fc.stringMatching(/^[a-z](?:[a-z0-9-]{0,20}[a-z0-9])?$/).filter((l) => !l.startsWith('xn--'));
    const name = fc
      .tuple(fc.array(label, { maxLength: 6 }), tld)
      .map(([labels, top]) => [...labels, top].join('.'))
      .filter((n) => n.length <= MAX_DOMAIN_LENGTH);
    runFuzz(
      t,
      fc.property(name, (n) => {
        assert.equal(isPlainPolicyDomain(n), true, n);
        assert.equal(isPlainPolicyDomain(n.toUpperCase()), false, 'upper case is never plain');
        assert.equal(isPlainPolicyDomain(`${n}.`), false, 'a final dot is never plain');
        return true;
      }),
      0.5,
    );
  });
});
