import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isStsRecordCandidate, parseStsRecord } from '../../../src/policy/sts-record.js';

const id32 = 'A1'.repeat(16);
const id33 = `${id32}z`;
const name32 = `x${'_-.a'.repeat(7)}abc`; // 1 + 28 + 3 = 32
const name33 = `${name32}d`;

describe('isStsRecordCandidate', () => {
  const cases: ReadonlyArray<readonly [string, boolean]> = [
    ['v=STSv1;', true],
    ['v=STSv1; id=1', true],
    ['v=STSv1 ; id=1', true],
    ['v=STSv1\t;id=1', true],
    ['v=STSv1 \t ;', true],
    ['v=STSv1', false], // the ABNF needs a delimiter and a field after the version
    ['v=STSv1 ', false],
    ['v=STSv10;', false],
    ['v=STSv1x;', false],
    ['v=STSv2; id=1', false],
    ['V=STSv1; id=1', false], // %s"v=STSv1": case-sensitive
    ['v=stsv1; id=1', false],
    [' v=STSv1; id=1', false],
    ['id=1; v=STSv1;', false],
    ['v=spf1 -all', false],
    ['', false],
  ];
  for (const [text, expected] of cases) {
    it(`${JSON.stringify(text)} -> ${expected}`, () => {
      assert.equal(isStsRecordCandidate(text), expected);
    });
  }
});

type Expect =
  | {
      readonly ok: true;
      readonly id: string;
      readonly ext?: ReadonlyArray<readonly [string, string]>;
      readonly warn?: readonly string[];
    }
  | { readonly ok: false; readonly codes: readonly string[] };

const table: ReadonlyArray<readonly [name: string, text: string, expect: Expect]> = [
  // --- valid records
  ['RFC example', 'v=STSv1; id=20160831085700Z;', { ok: true, id: '20160831085700Z' }],
  ['no trailing delimiter', 'v=STSv1; id=20160831085700Z', { ok: true, id: '20160831085700Z' }],
  ['no spaces at all', 'v=STSv1;id=abc', { ok: true, id: 'abc' }],
  ['spaces and tabs around ;', 'v=STSv1 \t; \tid=abc \t;\t ', { ok: true, id: 'abc' }],
  ['trailing delimiter with spaces', 'v=STSv1; id=abc ; ', { ok: true, id: 'abc' }],
  ['id of 1 char', 'v=STSv1; id=1', { ok: true, id: '1' }],
  ['id of 32 chars', `v=STSv1; id=${id32}`, { ok: true, id: id32 }],
  ['id mixed case kept', 'v=STSv1; id=AbC123', { ok: true, id: 'AbC123' }],
  ['id not first field', 'v=STSv1; foo=bar; id=x', { ok: true, id: 'x', ext: [['foo', 'bar']] }],
  [
    'extension with all allowed value characters',
    'v=STSv1; id=1; ext=!"#$%&\'()*+,-./0123456789:<>?@AZ[\\]^_`az{|}~',
    { ok: true, id: '1', ext: [['ext', '!"#$%&\'()*+,-./0123456789:<>?@AZ[\\]^_`az{|}~']] },
  ],
  ['extension name with _ - .', 'v=STSv1; id=1; a_b-c.d=1', { ok: true, id: '1', ext: [['a_b-c.d', '1']] }],
  ['extension name starting with a digit', 'v=STSv1; id=1; 9x=1', { ok: true, id: '1', ext: [['9x', '1']] }],
  ['extension name of 32 chars', `v=STSv1; id=1; ${name32}=v`, { ok: true, id: '1', ext: [[name32, 'v']] }],
  ['ID= is an extension, not the id', 'v=STSv1; ID=up; id=low', { ok: true, id: 'low', ext: [['ID', 'up']] }],
  ['second id ignored with a warning', 'v=STSv1; id=first; id=second', { ok: true, id: 'first', warn: ['ESTS_DUPLICATE_FIELD'] }],
  [
    'second id ignored even when not a valid id',
    'v=STSv1; id=first; id=not$an$id',
    { ok: true, id: 'first', warn: ['ESTS_DUPLICATE_FIELD'] },
  ],
  ['duplicate extension: first wins', 'v=STSv1; id=1; x=a; x=b', { ok: true, id: '1', ext: [['x', 'a']], warn: ['ESTS_DUPLICATE_FIELD'] }],
  ['second v= is a duplicate', 'v=STSv1; v=STSv2; id=1', { ok: true, id: '1', warn: ['ESTS_DUPLICATE_FIELD'] }],
  [
    'extension names case-sensitive',
    'v=STSv1; id=1; x=a; X=b',
    {
      ok: true,
      id: '1',
      ext: [
        ['x', 'a'],
        ['X', 'b'],
      ],
    },
  ],

  // --- not a record
  ['empty', '', { ok: false, codes: ['ESTS_NOT_STS'] }],
  ['version alone', 'v=STSv1', { ok: false, codes: ['ESTS_NOT_STS'] }],
  ['v=STSv10', 'v=STSv10; id=1', { ok: false, codes: ['ESTS_NOT_STS'] }],
  ['upper-case V', 'V=STSv1; id=1', { ok: false, codes: ['ESTS_NOT_STS'] }],
  ['leading space', ' v=STSv1; id=1', { ok: false, codes: ['ESTS_NOT_STS'] }],
  ['version not first', 'id=1; v=STSv1', { ok: false, codes: ['ESTS_NOT_STS'] }],

  // --- id
  ['no fields', 'v=STSv1;', { ok: false, codes: ['ESTS_ID_MISSING'] }],
  ['no id', 'v=STSv1; foo=bar', { ok: false, codes: ['ESTS_ID_MISSING'] }],
  ['only ID=', 'v=STSv1; ID=abc', { ok: false, codes: ['ESTS_ID_MISSING'] }],
  ['id of 33 chars', `v=STSv1; id=${id33}`, { ok: false, codes: ['ESTS_ID_INVALID'] }],
  ['empty id', 'v=STSv1; id=', { ok: false, codes: ['ESTS_ID_INVALID'] }],
  ['id with a dash', 'v=STSv1; id=2024-01-01', { ok: false, codes: ['ESTS_ID_INVALID'] }],
  ['id with an underscore', 'v=STSv1; id=a_b', { ok: false, codes: ['ESTS_ID_INVALID'] }],
  ['id with a non-ASCII letter', 'v=STSv1; id=caf\u00e9', { ok: false, codes: ['ESTS_ID_INVALID'] }],
  ['id with an inner space', 'v=STSv1; id=a b', { ok: false, codes: ['ESTS_ID_INVALID'] }],
  ['first id malformed, second valid', 'v=STSv1; id=a$; id=b', { ok: false, codes: ['ESTS_ID_INVALID'] }],
  ['space before =', 'v=STSv1; id =1', { ok: false, codes: ['ESTS_EXT_NAME_INVALID', 'ESTS_ID_MISSING'] }],
  ['space after =', 'v=STSv1; id= 1', { ok: false, codes: ['ESTS_ID_INVALID'] }],

  // --- delimiters and whitespace
  ['two ; in a row', 'v=STSv1;; id=1', { ok: false, codes: ['ESTS_EMPTY_FIELD'] }],
  ['two trailing ;', 'v=STSv1; id=1;;', { ok: false, codes: ['ESTS_EMPTY_FIELD'] }],
  ['space-only field', 'v=STSv1; id=1; ;', { ok: false, codes: ['ESTS_EMPTY_FIELD'] }],
  ['trailing space without ;', 'v=STSv1; id=1 ', { ok: false, codes: ['ESTS_TRAILING_WHITESPACE'] }],
  ['trailing tab without ;', 'v=STSv1; id=1\t', { ok: false, codes: ['ESTS_TRAILING_WHITESPACE'] }],
  ['CR/LF are not WSP', 'v=STSv1;\r\nid=1', { ok: false, codes: ['ESTS_EXT_NAME_INVALID', 'ESTS_ID_MISSING'] }],
  ['NBSP is not WSP', 'v=STSv1;\u00a0id=1', { ok: false, codes: ['ESTS_EXT_NAME_INVALID', 'ESTS_ID_MISSING'] }],
  ['comma as delimiter', 'v=STSv1, id=1', { ok: false, codes: ['ESTS_NOT_STS'] }],

  // --- extensions
  ['field without =', 'v=STSv1; id=1; flag', { ok: false, codes: ['ESTS_FIELD_SYNTAX'] }],
  ['extension name of 33 chars', `v=STSv1; id=1; ${name33}=v`, { ok: false, codes: ['ESTS_EXT_NAME_INVALID'] }],
  ['extension name starting with _', 'v=STSv1; id=1; _x=1', { ok: false, codes: ['ESTS_EXT_NAME_INVALID'] }],
  ['extension name starting with -', 'v=STSv1; id=1; -x=1', { ok: false, codes: ['ESTS_EXT_NAME_INVALID'] }],
  ['empty extension name', 'v=STSv1; id=1; =x', { ok: false, codes: ['ESTS_EXT_NAME_INVALID'] }],
  ['extension name with +', 'v=STSv1; id=1; a+b=1', { ok: false, codes: ['ESTS_EXT_NAME_INVALID'] }],
  ['empty extension value', 'v=STSv1; id=1; x=', { ok: false, codes: ['ESTS_EXT_VALUE_INVALID'] }],
  ['= inside extension value', 'v=STSv1; id=1; x=a=b', { ok: false, codes: ['ESTS_EXT_VALUE_INVALID'] }],
  ['space inside extension value', 'v=STSv1; id=1; x=a b', { ok: false, codes: ['ESTS_EXT_VALUE_INVALID'] }],
  ['non-ASCII extension value', 'v=STSv1; id=1; x=\u00e9', { ok: false, codes: ['ESTS_EXT_VALUE_INVALID'] }],
  ['DEL in extension value', 'v=STSv1; id=1; x=a\x7f', { ok: false, codes: ['ESTS_EXT_VALUE_INVALID'] }],
  ['NUL in extension value', 'v=STSv1; id=1; x=a\x00', { ok: false, codes: ['ESTS_EXT_VALUE_INVALID'] }],
  [
    'several problems all reported',
    'v=STSv1;; x=; _y=1',
    { ok: false, codes: ['ESTS_EMPTY_FIELD', 'ESTS_EXT_VALUE_INVALID', 'ESTS_EXT_NAME_INVALID', 'ESTS_ID_MISSING'] },
  ],
];

describe('parseStsRecord', () => {
  for (const [name, text, expect] of table) {
    it(`${name}: ${JSON.stringify(text)}`, () => {
      const result = parseStsRecord(text);
      if (expect.ok) {
        assert.ok(result.ok, `expected ok, got ${JSON.stringify(result)}`);
        assert.equal(result.value.id, expect.id);
        assert.deepEqual(result.value.extensions, expect.ext ?? []);
        assert.equal(result.value.text, text);
        assert.deepEqual(
          result.warnings.map((w) => w.code),
          expect.warn ?? [],
        );
      } else {
        assert.ok(!result.ok, `expected a failure, got ${JSON.stringify(result)}`);
        assert.deepEqual(
          result.problems.map((p) => p.code),
          expect.codes,
        );
        for (const p of result.problems) assert.ok(p.message.length > 0);
      }
    });
  }

  it('a valid record is always a candidate', () => {
    for (const [, text, expect] of table) {
      if (expect.ok) assert.ok(isStsRecordCandidate(text), text);
    }
  });
});

describe('parseStsRecord properties', () => {
  const alnum = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'.split(''));
  const idArb = fc.string({ unit: alnum, minLength: 1, maxLength: 32 });
  const extNameArb = fc
    .tuple(alnum, fc.string({ unit: fc.constantFrom(...'abcXYZ09_-.'.split('')), maxLength: 31 }))
    .map(([a, b]) => a + b)
    .filter((n) => n !== 'id' && n !== 'v');
  const extValueArb = fc.string({
    unit: fc
      .integer({ min: 0x21, max: 0x7e })
      .filter((c) => c !== 0x3b && c !== 0x3d)
      .map((c) => String.fromCharCode(c)),
    minLength: 1,
    maxLength: 20,
  });
  const wspArb = fc.string({ unit: fc.constantFrom(' ', '\t'), maxLength: 3 });

  it('parses every generated valid record to its id and first extensions', () => {
    fc.assert(
      fc.property(
        idArb,
        fc.array(fc.tuple(extNameArb, extValueArb), { maxLength: 5 }),
        fc.nat(5),
        fc.array(fc.tuple(wspArb, wspArb), { minLength: 8, maxLength: 8 }),
        fc.boolean(),
        (id, exts, idPos, spaces, trailing) => {
          const fields = exts.map(([n, v]) => `${n}=${v}`);
          fields.splice(Math.min(idPos, fields.length), 0, `id=${id}`);
          let text = 'v=STSv1';
          fields.forEach((f, i) => {
            const [before, after] = spaces[i] ?? ['', ''];
            text += `${before};${after}${f}`;
          });
          if (trailing) text += `${spaces[7]?.[0] ?? ''};${spaces[7]?.[1] ?? ''}`;
          const result = parseStsRecord(text);
          assert.ok(result.ok, `${JSON.stringify(text)} -> ${JSON.stringify(result)}`);
          assert.equal(result.value.id, id);
          const firstOf = new Map<string, string>();
          for (const [n, v] of exts) if (!firstOf.has(n)) firstOf.set(n, v);
          assert.deepEqual(result.value.extensions, [...firstOf.entries()]);
          assert.equal(result.warnings.length, exts.length - firstOf.size);
        },
      ),
    );
  });

  it('never throws and always returns a well-formed result', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string({ unit: 'binary' }),
          fc.string().map((s) => `v=STSv1;${s}`),
        ),
        (text) => {
          const result = parseStsRecord(text);
          if (result.ok) {
            assert.match(result.value.id, /^[A-Za-z0-9]{1,32}$/);
            assert.ok(isStsRecordCandidate(text));
          } else {
            assert.ok(result.problems.length > 0);
          }
        },
      ),
    );
  });
});
