import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import {
  SOCKETMAP_MAX_REPLY_BYTES,
  SOCKETMAP_MAX_REQUEST_BYTES,
  createNetstringDecoder,
  encodeNetstring,
} from '../../../adapters/protocol/netstring.js';
import type { NetstringStep } from '../../../adapters/protocol/netstring.js';
import { chunks } from './fixtures.js';

const MAX = SOCKETMAP_MAX_REQUEST_BYTES;

/** Feed `parts` then end(); return every step as plain data. */
function run(parts: readonly Uint8Array[], max = MAX): Array<{ kind: string; text?: string; code?: string }> {
  const d = createNetstringDecoder(max);
  const steps: NetstringStep[] = [];
  for (const p of parts) steps.push(...d.push(p));
  steps.push(...d.end());
  return steps.map((s) => (s.kind === 'payload' ? { kind: 'payload', text: s.payload.toString('utf8') } : { kind: 'error', code: s.code }));
}

const b = (s: string): Buffer => Buffer.from(s, 'utf8');
const payloads = (...texts: string[]) => texts.map((text) => ({ kind: 'payload', text }));

describe('netstring limits', () => {
  it('match socketmap_table(5)', () => {
    assert.equal(SOCKETMAP_MAX_REQUEST_BYTES, 10_000);
    assert.equal(SOCKETMAP_MAX_REPLY_BYTES, 100_000);
  });
});

describe('encodeNetstring', () => {
  const table: Array<[string | Uint8Array, string]> = [
    ['', '0:,'],
    ['hello world!', '12:hello world!,'],
    ['NOTFOUND ', '9:NOTFOUND ,'],
    ['é', '2:é,'], // length counts bytes, not characters
    ['bücher.de', '10:bücher.de,'],
    [Uint8Array.from([0, 255, 44]), '3:\u0000\u00ff,,'],
  ];
  for (const [input, want] of table) {
    it(`encodes ${JSON.stringify(typeof input === 'string' ? input : [...input])}`, () => {
      const got = encodeNetstring(input);
      assert.ok(Buffer.isBuffer(got));
      assert.deepEqual(got, typeof input === 'string' ? b(want) : Buffer.from(want, 'latin1'));
    });
  }
});

describe('netstring decoder: a multi-request stream', () => {
  const texts = ['postfix example.com', '', 'postfix Bücher.DE', 'x', 'tls [mail.example.org]:587', 'a,b:c'];
  const stream = Buffer.concat(texts.map((t) => encodeNetstring(t)));
  const want = payloads(...texts);

  it('whole', () => assert.deepEqual(run([stream]), want));
  for (const size of [4096, 128, 16, 3, 1]) {
    it(`in chunks of ${size} bytes`, () => assert.deepEqual(run(chunks(stream, size)), want));
  }
  it('split in two at every offset', () => {
    for (let i = 0; i <= stream.length; i += 1) {
      assert.deepEqual(run([stream.subarray(0, i), stream.subarray(i)]), want, `split at ${i}`);
    }
  });
  it('split in three at every pair of offsets', () => {
    for (let i = 0; i <= stream.length; i += 1) {
      for (let j = i; j <= stream.length; j += 1) {
        assert.deepEqual(run([stream.subarray(0, i), stream.subarray(i, j), stream.subarray(j)]), want, `split at ${i},${j}`);
      }
    }
  });
  it('yields payloads as soon as their comma arrives', () => {
    const d = createNetstringDecoder(MAX);
    assert.deepEqual(d.push(b('5:hello')), []);
    const steps = d.push(b(',3:a'));
    assert.equal(steps.length, 1);
    assert.equal(steps[0]?.kind === 'payload' && steps[0].payload.toString(), 'hello');
    assert.deepEqual(d.push(b('bc')), []);
    assert.equal(d.push(b(',')).length, 1);
    assert.deepEqual(d.end(), []);
  });
  it('copies payloads: later changes to the chunk do not alter them', () => {
    const chunk = b('3:abc,');
    const d = createNetstringDecoder(MAX);
    const [step] = d.push(chunk);
    chunk.fill(0x7a);
    assert.equal(step?.kind === 'payload' && step.payload.toString(), 'abc');
  });
  it('reads a Uint8Array that is not a Buffer, at any offset of its memory', () => {
    const backing = new Uint8Array(Buffer.from('xx4:abcd,2:ef,yy'));
    const d = createNetstringDecoder(MAX);
    const first = d.push(backing.subarray(2, 9)); // "4:abcd,"
    const second = d.push(new Uint8Array(backing.buffer, backing.byteOffset + 9, 5)); // "2:ef,"
    assert.deepEqual(
      [...first, ...second].map((s) => (s.kind === 'payload' ? s.payload.toString() : s.code)),
      ['abcd', 'ef'],
    );
    // A reader sees the bytes in place: start and end index the chunk it is given.
    const seen: string[] = [];
    const r = createNetstringDecoder(MAX, (bytes, start, end) => seen.push(`${start}-${end}:${bytes.toString('latin1', start, end)}`));
    r.push(backing.subarray(2, 14));
    assert.deepEqual(seen, ['2-6:abcd', '9-11:ef']);
  });
  it('round-trips arbitrary payloads at arbitrary splits', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 6 }), fc.array(fc.nat(), { maxLength: 8 }), (items, cuts) => {
        const wire = Buffer.concat(items.map((x) => encodeNetstring(x)));
        const offsets = [...new Set(cuts.map((c) => (wire.length === 0 ? 0 : c % (wire.length + 1))))].sort((x, y) => x - y);
        const parts: Uint8Array[] = [];
        let last = 0;
        for (const o of offsets) {
          parts.push(wire.subarray(last, o));
          last = o;
        }
        parts.push(wire.subarray(last));
        const d = createNetstringDecoder(64);
        const got: Buffer[] = [];
        for (const p of parts) {
          for (const s of d.push(p)) {
            assert.equal(s.kind, 'payload');
            if (s.kind === 'payload') got.push(s.payload);
          }
        }
        assert.deepEqual(d.end(), []);
        assert.deepEqual(
          got.map((g) => [...g]),
          items.map((x) => [...x]),
        );
      }),
    );
  });
});

describe('netstring decoder: edge cases', () => {
  it("'0:,' is an empty payload", () => assert.deepEqual(run([b('0:,')]), payloads('')));
  it('accepts a payload of exactly the limit', () => {
    const text = 'a'.repeat(MAX);
    assert.deepEqual(run([encodeNetstring(text)]), payloads(text));
  });
  it('an empty stream ends cleanly', () => assert.deepEqual(run([]), []));
  it('a stream ending between netstrings ends cleanly', () => assert.deepEqual(run([b('1:a,')]), payloads('a')));
  it('zero-length chunks are harmless', () => {
    assert.deepEqual(run([b(''), b('1:'), b(''), b('a'), b(''), b(','), b('')]), payloads('a'));
  });
});

describe('netstring decoder: errors', () => {
  const table: Array<[name: string, input: string, code: string, before?: string[]]> = [
    ['a letter', 'abc', 'ENETSTRING_BAD_LENGTH'],
    ['an empty length', ':,', 'ENETSTRING_BAD_LENGTH'],
    ['a sign', '+5:hello,', 'ENETSTRING_BAD_LENGTH'],
    ['a negative length', '-1:x,', 'ENETSTRING_BAD_LENGTH'],
    ['a leading space', ' 5:hello,', 'ENETSTRING_BAD_LENGTH'],
    ['a space before the colon', '5 :hello,', 'ENETSTRING_BAD_LENGTH'],
    ['a CRLF line instead of a netstring', 'GET / HTTP/1.0\r\n\r\n', 'ENETSTRING_BAD_LENGTH'],
    ['a leading zero', '05:hello,', 'ENETSTRING_LEADING_ZERO'],
    ["'00:,'", '00:,', 'ENETSTRING_LEADING_ZERO'],
    ['a missing comma', '5:hello;', 'ENETSTRING_MISSING_COMMA'],
    ['a payload longer than declared', '4:hello,', 'ENETSTRING_MISSING_COMMA'],
    ["'0:' then no comma", '0:x', 'ENETSTRING_MISSING_COMMA'],
    ['one past the limit', `${MAX + 1}:`, 'ENETSTRING_TOO_LARGE'],
    ['a huge digit string', '9'.repeat(400), 'ENETSTRING_TOO_LARGE'],
    ['garbage after a good netstring', '1:a,xyz', 'ENETSTRING_BAD_LENGTH', ['a']],
    ['a truncated length', '12', 'ENETSTRING_TRUNCATED'],
    ['a truncated payload', '5:hel', 'ENETSTRING_TRUNCATED'],
    ['a missing final comma at end', '5:hello', 'ENETSTRING_TRUNCATED'],
    ["'0:' at end", '0:', 'ENETSTRING_TRUNCATED'],
    ['a good netstring then a truncated one', '1:a,3:ab', 'ENETSTRING_TRUNCATED', ['a']],
  ];
  for (const [name, input, code, before = []] of table) {
    it(`${name} -> ${code}`, () => {
      const want = [...payloads(...before), { kind: 'error', code }];
      assert.deepEqual(run([b(input)]), want, 'whole');
      assert.deepEqual(run(chunks(b(input), 1)), want, 'byte by byte');
    });
  }

  it('rejects an oversized length from its digits alone, before any payload arrives', () => {
    const d = createNetstringDecoder(MAX);
    assert.deepEqual(d.push(b('1000')), []);
    const steps = d.push(b('1'));
    assert.equal(steps.length, 1);
    assert.equal(steps[0]?.kind === 'error' && steps[0].code, 'ENETSTRING_TOO_LARGE');
  });
  it('a 1 GB length is refused at its sixth digit', () => {
    const d = createNetstringDecoder(MAX);
    assert.deepEqual(d.push(b('10000')), []); // 10000 itself is allowed
    const [step] = d.push(b('0'));
    assert.equal(step?.kind === 'error' && step.code, 'ENETSTRING_TOO_LARGE');
  });
  it('stops after the first error', () => {
    const d = createNetstringDecoder(MAX);
    const first = d.push(b('x1:a,'));
    assert.equal(first.length, 1);
    assert.equal(first[0]?.kind, 'error');
    assert.deepEqual(d.push(b('1:a,')), []);
    assert.deepEqual(d.end(), []);
  });
  it('yields nothing after end()', () => {
    const d = createNetstringDecoder(MAX);
    assert.equal(d.end().length, 0);
    assert.deepEqual(d.push(b('1:a,')), []);
  });
  it('error messages are non-empty text', () => {
    for (const input of ['x', '05', '1:ab', `${MAX + 1}`]) {
      const d = createNetstringDecoder(MAX);
      const [s] = d.push(b(input));
      assert.ok(s?.kind === 'error' && s.message.length > 0, input);
    }
  });
  it('rejects a bad limit', () => {
    assert.throws(() => createNetstringDecoder(-1), RangeError);
    assert.throws(() => createNetstringDecoder(1.5), RangeError);
  });
});
