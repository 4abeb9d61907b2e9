/**
 * The byte-level pieces of the line protocols: `%XX` quoting (tcp_table(5) ENCODING) and the
 * LF line splitter shared by tcp_table and Exim.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { hexQuote, hexUnquote } from '../../../adapters/protocol/hex-quote.js';
import { createLineSplitter, type LineStep } from '../../../adapters/protocol/line-splitter.js';
import { chunks } from './fixtures.js';

const b = (s: string): Buffer => Buffer.from(s, 'utf8');

describe('hexQuote', () => {
  const cases: Array<[input: string, quoted: string]> = [
    ['example.com', 'example.com'],
    ['secure match=a.example:.b.example servername=hostname', 'secure%20match=a.example:.b.example%20servername=hostname'],
    ['100%', '100%25'],
    ['tab\there', 'tab%09here'],
    ['cr\rlf\n', 'cr%0Dlf%0A'],
    ['nul\u0000del\u007f', 'nul%00del%7F'],
    ['bücher', 'b%C3%BCcher'],
    ['{ policy_string = mode: enforce }', '{%20policy_string%20=%20mode:%20enforce%20}'],
    ['', ''],
    ['~!"#$&\'()*+,-./:;<=>?@[\\]^_`{|}', '~!"#$&\'()*+,-./:;<=>?@[\\]^_`{|}'],
  ];
  for (const [input, quoted] of cases) {
    it(`${JSON.stringify(input)} -> ${JSON.stringify(quoted)}`, () => {
      assert.equal(hexQuote(input), quoted);
      assert.deepEqual(hexUnquote(b(quoted)), b(input));
    });
  }
  it('quotes every byte outside 0x21..0x7e and %, and only those', () => {
    for (let byte = 0; byte < 256; byte += 1) {
      const q = hexQuote(Uint8Array.of(byte));
      const plain = byte >= 0x21 && byte <= 0x7e && byte !== 0x25;
      assert.equal(q, plain ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`, `byte ${byte}`);
    }
  });
});

describe('hexUnquote', () => {
  it('accepts hex digits in any case', () => {
    for (const text of ['%c3%bc', '%C3%BC', '%c3%BC', '%C3%bc']) assert.deepEqual(hexUnquote(b(text)), Buffer.from([0xc3, 0xbc]), text);
    assert.deepEqual(hexUnquote(b('%aB%Cd%eF')), Buffer.from([0xab, 0xcd, 0xef]));
  });
  it('takes unquoted bytes as they are (lenient on input)', () => {
    assert.deepEqual(hexUnquote(b('a b\tc')), b('a b\tc'));
  });
  for (const bad of ['%', '%4', '%4g', '%g4', 'abc%', 'abc%2', '%%41', '% 41', '%+1', '%-1', '%x1']) {
    it(`refuses the bad escape ${JSON.stringify(bad)}`, () => assert.equal(hexUnquote(b(bad)), undefined));
  }
  it('round-trips any bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const q = hexQuote(bytes);
        assert.match(q, /^[\x21-\x7e]*$/, 'the quoted form is printable without whitespace');
        assert.ok(!/%(?![0-9A-F]{2})/.test(q), 'every % starts an escape');
        assert.deepEqual(hexUnquote(b(q)), Buffer.from(bytes));
      }),
      { numRuns: 500 },
    );
  });
  it('round-trips any string, whatever the case of the hex digits (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 100 }), fc.boolean(), (s, lower) => {
        const q = hexQuote(s);
        const variant = lower ? q.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()) : q;
        assert.equal(hexUnquote(b(variant))?.toString('utf8'), Buffer.from(s, 'utf8').toString('utf8'));
      }),
      { numRuns: 300 },
    );
  });
});

function split(max: number, parts: readonly Uint8Array[]): { steps: LineStep[]; rest: string } {
  const s = createLineSplitter(max);
  const steps: LineStep[] = [];
  for (const p of parts) steps.push(...s.push(p));
  return { steps, rest: s.end().toString('utf8') };
}
const lines = (steps: readonly LineStep[]): string[] =>
  steps.map((s) => (s.kind === 'line' ? s.line.toString('utf8') : `TOO-LONG(${s.limit})`));

describe('line splitter', () => {
  const wire = b('get a\nget b\r\n\nget bücher\r\r\nlast');
  const want = ['get a', 'get b', '', 'get bücher\r'];

  it('whole', () => {
    const r = split(100, [wire]);
    assert.deepEqual(lines(r.steps), want);
    assert.equal(r.rest, 'last');
  });
  it('byte by byte, and split at every offset', () => {
    assert.deepEqual(lines(split(100, chunks(wire, 1)).steps), want);
    for (let i = 0; i <= wire.length; i += 1) {
      const r = split(100, [wire.subarray(0, i), wire.subarray(i)]);
      assert.deepEqual(lines(r.steps), want, `split at ${i}`);
      assert.equal(r.rest, 'last');
    }
  });
  it('a line of exactly the limit (LF counted) passes; one byte more is refused', () => {
    assert.deepEqual(lines(split(6, [b('12345\n')]).steps), ['12345']);
    assert.deepEqual(lines(split(6, [b('123456\n')]).steps), ['TOO-LONG(6)']);
    // CR counts too: it is a byte of the line on the wire.
    assert.deepEqual(lines(split(6, [b('1234\r\n')]).steps), ['1234']);
    assert.deepEqual(lines(split(6, [b('12345\r\n')]).steps), ['TOO-LONG(6)']);
  });
  it('refuses an overlong line before its newline arrives, then yields nothing more', () => {
    const s = createLineSplitter(8);
    assert.deepEqual(lines(s.push(b('1234567'))), []);
    assert.deepEqual(lines(s.push(b('8'))), ['TOO-LONG(8)']);
    assert.deepEqual(s.push(b('\nok\n')), []);
    assert.equal(s.end().length, 0);
  });
  it('lines before an overlong one are still delivered', () => {
    assert.deepEqual(lines(split(8, [b('ok\n'), b('also\n123456789')]).steps), ['ok', 'also', 'TOO-LONG(8)']);
  });
  it('does not keep references to the pushed chunk', () => {
    const s = createLineSplitter(100);
    const chunk = b('abc');
    s.push(chunk);
    chunk.fill(0x78);
    assert.deepEqual(lines(s.push(b('\n'))), ['abc']);
  });
  it('rejects a nonsense limit', () => {
    assert.throws(() => createLineSplitter(0), RangeError);
    assert.throws(() => createLineSplitter(1.5), RangeError);
  });
});
