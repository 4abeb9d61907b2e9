/**
 * guessProtocol and sniff, byte by byte: every prefix of a valid first request of a protocol
 * is `undecided` or `fits` on its own listener (never `foreign`), and a start that is another
 * protocol's is `foreign` on the listeners whose grammar it breaks, as soon as the bytes prove it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { SNIFF_MAX_BYTES, guessProtocol, sniff, type SniffVerdict } from '../../../src/protocol/sniff.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

const valid: Record<string, readonly string[]> = {
  socketmap: ['24:postfix okay.example.com,', '0:,', '9:a b.c.d.e,'],
  tcp_table: ['get example.com\n', 'get %5Bx%5D\n'],
  policy: ['request=smtpd_access_policy\nprotocol_state=RCPT\n\n', '\n', '\r\n', 'protocol_state=RCPT\n'],
  exim: [
    'example.com\n',
    'zone example.com\n',
    'localhost',
    '[192.0.2.1]\n',
    'get example.com\n',
    '123.example\n',
    'b\u00fccher.example\n',
  ],
};

describe('sniff: valid first bytes are never foreign, at any length', () => {
  for (const [protocol, samples] of Object.entries(valid)) {
    for (const sample of samples) {
      it(`${protocol}: ${JSON.stringify(sample)}`, () => {
        const bytes = Buffer.from(sample, 'utf8');
        let last: SniffVerdict = { kind: 'undecided' };
        for (let n = 1; n <= bytes.length; n += 1) {
          last = sniff(protocol, bytes.subarray(0, n));
          assert.notEqual(last.kind, 'foreign', `prefix ${JSON.stringify(bytes.subarray(0, n).toString('latin1'))}`);
        }
        if (bytes.includes(0x0a) || bytes.includes(0x3a)) assert.equal(last.kind, 'fits', 'decided once a line or a length ends');
      });
    }
  }
});

/**
 * [listener, bytes, the length at which it is foreign and the guess settled, probable protocol,
 * the length from which it is foreign at all].
 */
const foreign: Array<[string, string, number, string, number]> = [
  ['tcp_table', '27:postfix example.com,', 3, 'socketmap', 1],
  ['tcp_table', 'request=smtpd_access_policy\n', 8, 'policy', 1],
  ['tcp_table', 'GET / HTTP/1.1\r\n', 5, 'http', 1],
  ['tcp_table', 'gex\n', 4, 'exim', 3],
  ['tcp_table', 'ge\x00\n', 4, 'unknown', 3],
  ['tcp_table', '1234567890123456789', 16, 'unknown', 1],
  ['socketmap', 'get example.com\n', 4, 'tcp_table', 1],
  ['socketmap', 'request=x\n', 8, 'policy', 1],
  ['socketmap', 'example.com\n', 12, 'exim', 1],
  ['socketmap', '\x16\x03\x01', 2, 'tls', 1],
  ['socketmap', '01:\n', 4, 'unknown', 2],
  ['policy', '27:postfix example.com,', 3, 'socketmap', 1],
  ['policy', 'get example.com\n', 4, 'tcp_table', 4],
  ['policy', 'EHLO me\r\n', 5, 'smtp', 5],
  ['exim', '27:postfix example.com,', 3, 'socketmap', 3],
  ['exim', 'request=smtpd_access_policy\n', 8, 'policy', 8],
  ['exim', 'GET / HTTP/1.0\r\n', 5, 'http', 5],
  ['exim', '\x16\x03\x01\x02', 2, 'tls', 2],
];

describe('sniff: another protocol is foreign as soon as the bytes prove it', () => {
  for (const [protocol, sample, at, probably, from] of foreign) {
    it(`${JSON.stringify(sample)} on ${protocol}: foreign from byte ${from}, named ${probably} at byte ${at}`, () => {
      const bytes = b(sample);
      for (let n = 1; n < at; n += 1) {
        const v = sniff(protocol, bytes.subarray(0, n));
        assert.equal(v.kind === 'foreign', n >= from, `foreign at ${n}?`);
        assert.ok(v.kind !== 'foreign' || !v.settled, `not settled at ${n}`);
      }
      const v = sniff(protocol, bytes.subarray(0, at));
      assert.equal(v.kind, 'foreign');
      if (v.kind === 'foreign') {
        assert.equal(v.settled, true);
        assert.equal(v.probably, probably);
      }
    });
  }
});

describe('guessProtocol', () => {
  const guesses: Array<[string, string]> = [
    ['10:postfix a,', 'socketmap'],
    ['0:,', 'socketmap'],
    ['get a.example\n', 'tcp_table'],
    ['request=smtpd_access_policy\n', 'policy'],
    ['a.example\n', 'exim'],
    ['zone a.example', 'exim'],
    ['GET / HTTP/1.1', 'http'],
    ['POST /x HTTP/1.1', 'http'],
    ['EHLO client.example', 'smtp'],
    ['\x16\x03\x01', 'tls'],
    ['\x00\x00\x00', 'unknown'],
    ['', 'unknown'],
    ['12345', 'unknown'],
  ];
  for (const [bytes, want] of guesses) {
    it(`${JSON.stringify(bytes)} -> ${want}`, () => assert.equal(guessProtocol(b(bytes)), want));
  }
});

describe('sniff: bounds', () => {
  it('nothing yet is undecided; an unknown protocol (test adapters) always fits', () => {
    assert.equal(sniff('socketmap', b('')).kind, 'undecided');
    assert.equal(sniff('fake', b('anything')).kind, 'fits');
  });
  it(`a prefix still open after ${SNIFF_MAX_BYTES} bytes fits (exim, policy)`, () => {
    assert.equal(sniff('exim', b('a'.repeat(40))).kind, 'undecided');
    assert.equal(sniff('exim', b('1'.repeat(5))).kind, 'undecided');
    assert.equal(sniff('exim', b('a'.repeat(SNIFF_MAX_BYTES))).kind, 'fits');
  });
  it('a long policy attribute name is foreign (Postfix names are short)', () => {
    assert.equal(sniff('policy', b('a'.repeat(SNIFF_MAX_BYTES))).kind, 'foreign');
  });
});
