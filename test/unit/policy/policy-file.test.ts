import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MAX_MAX_AGE, MAX_POLICY_BYTES, parsePolicyFile } from '../../../src/policy/policy-file.js';
import type { PolicyMode } from '../../../src/policy/types.js';

const HEAD = 'version: STSv1\nmode: enforce\nmax_age: 86400\n';
const label63 = 'a'.repeat(63);
const label64 = 'a'.repeat(64);
// 63+1+63+1+63+1+61 = 253 characters
const name253 = `${label63}.${label63}.${label63}.${'b'.repeat(61)}`;
const name254 = `${label63}.${label63}.${label63}.${'b'.repeat(62)}`;
const key32 = `k${'_-.9'.repeat(7)}xyz`;
const key33 = `${key32}w`;

type Expect =
  | {
      readonly ok: true;
      readonly mode?: PolicyMode;
      readonly maxAge?: number;
      readonly mx?: readonly string[];
      readonly lines?: ReadonlyArray<readonly [string, string]>;
      readonly warn?: readonly string[];
    }
  | { readonly ok: false; readonly codes: readonly string[]; readonly lineNos?: ReadonlyArray<number | undefined> };

const table: ReadonlyArray<readonly [name: string, text: string, expect: Expect]> = [
  // --- the RFC example and line endings
  [
    'RFC 8461 §3.2 example, LF',
    'version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\nmx: backupmx.example.com\nmax_age: 604800\n',
    {
      ok: true,
      mode: 'enforce',
      maxAge: 604800,
      mx: ['mail.example.com', '*.example.net', 'backupmx.example.com'],
      lines: [
        ['version', 'STSv1'],
        ['mode', 'enforce'],
        ['mx', 'mail.example.com'],
        ['mx', '*.example.net'],
        ['mx', 'backupmx.example.com'],
        ['max_age', '604800'],
      ],
    },
  ],
  ['CRLF', 'version: STSv1\r\nmode: enforce\r\nmx: a.example\r\nmax_age: 1\r\n', { ok: true, mx: ['a.example'] }],
  ['mixed CRLF and LF', 'version: STSv1\r\nmode: enforce\nmx: a.example\r\nmax_age: 1\n', { ok: true, mx: ['a.example'] }],
  ['no final terminator (LF file)', 'version: STSv1\nmode: none\nmax_age: 1', { ok: true, mode: 'none', maxAge: 1 }],
  ['no final terminator (CRLF file)', 'version: STSv1\r\nmode: none\r\nmax_age: 1', { ok: true, maxAge: 1 }],
  ['fields in any order', 'max_age: 5\nmx: a.example\nmode: testing\nversion: STSv1', { ok: true, mode: 'testing' }],

  // --- whitespace
  [
    'no space after colon',
    'version:STSv1\nmode:none\nmax_age:1\n',
    {
      ok: true,
      lines: [
        ['version', 'STSv1'],
        ['mode', 'none'],
        ['max_age', '1'],
      ],
    },
  ],
  ['tabs and spaces after colon', 'version:\t STSv1\nmode: \tnone\nmax_age:  1\n', { ok: true, maxAge: 1 }],
  [
    'trailing whitespace trimmed (also before CRLF)',
    'version: STSv1 \t\r\nmode: none\t\nmax_age: 1  ',
    {
      ok: true,
      lines: [
        ['version', 'STSv1'],
        ['mode', 'none'],
        ['max_age', '1'],
      ],
    },
  ],
  [
    'leading space on a line',
    `${HEAD} mx: a.example\n`,
    { ok: false, codes: ['EPOLICY_LEADING_WHITESPACE', 'EPOLICY_MX_MISSING'], lineNos: [4, undefined] },
  ],
  [
    'leading tab on a line',
    `\tversion: STSv1\nmode: none\nmax_age: 1`,
    { ok: false, codes: ['EPOLICY_LEADING_WHITESPACE', 'EPOLICY_VERSION_MISSING'] },
  ],
  [
    'space before colon',
    'version : STSv1\nmode: none\nmax_age: 1',
    { ok: false, codes: ['EPOLICY_SPACE_BEFORE_COLON', 'EPOLICY_VERSION_MISSING'] },
  ],
  [
    'tab before colon',
    'version: STSv1\nmode\t: none\nmax_age: 1',
    { ok: false, codes: ['EPOLICY_SPACE_BEFORE_COLON', 'EPOLICY_MODE_MISSING'] },
  ],
  ['space inside a keyword value', `${HEAD}mx: a.example b.example\n`, { ok: false, codes: ['EPOLICY_MX_INVALID'] }],

  // --- blank lines, BOM, control characters
  [
    'blank line in the middle',
    'version: STSv1\n\nmode: none\nmax_age: 1\n',
    {
      ok: true,
      warn: ['EPOLICY_BLANK_LINE'],
      lines: [
        ['version', 'STSv1'],
        ['mode', 'none'],
        ['max_age', '1'],
      ],
    },
  ],
  ['whitespace-only line', 'version: STSv1\n \t\nmode: none\nmax_age: 1\n', { ok: true, warn: ['EPOLICY_BLANK_LINE'] }],
  ['extra newline at the end', 'version: STSv1\nmode: none\nmax_age: 1\n\n', { ok: true, warn: ['EPOLICY_BLANK_LINE'] }],
  ['extra CRLF at the end', 'version: STSv1\r\nmode: none\r\nmax_age: 1\r\n\r\n', { ok: true, warn: ['EPOLICY_BLANK_LINE'] }],
  ['leading blank line', '\nversion: STSv1\nmode: none\nmax_age: 1', { ok: true, warn: ['EPOLICY_BLANK_LINE'] }],
  [
    'UTF-8 BOM at the start',
    '\uFEFFversion: STSv1\nmode: none\nmax_age: 1\n',
    {
      ok: true,
      warn: ['EPOLICY_BOM'],
      lines: [
        ['version', 'STSv1'],
        ['mode', 'none'],
        ['max_age', '1'],
      ],
    },
  ],
  [
    'BOM not at the start',
    'mode: none\n\uFEFFversion: STSv1\nmax_age: 1\n',
    { ok: false, codes: ['EPOLICY_KEY_INVALID', 'EPOLICY_VERSION_MISSING'] },
  ],
  [
    'NUL byte in a value',
    'version: STSv1\nmode: none\x00\nmax_age: 1',
    { ok: false, codes: ['EPOLICY_CONTROL_CHAR', 'EPOLICY_MODE_MISSING'], lineNos: [2, undefined] },
  ],
  ['NUL byte in an extension line', 'version: STSv1\nmode: none\nmax_age: 1\nx: a\x00b', { ok: false, codes: ['EPOLICY_CONTROL_CHAR'] }],
  [
    'ESC in a line',
    'version: STSv1\nmode: none\nmax_age: 1\x1b',
    { ok: false, codes: ['EPOLICY_CONTROL_CHAR', 'EPOLICY_MAX_AGE_MISSING'] },
  ],
  ['DEL in a line', 'version: STSv1\nmode: none\nmax_age: 1\nx: \x7f', { ok: false, codes: ['EPOLICY_CONTROL_CHAR'] }],
  [
    'CR alone as line separator',
    'version: STSv1\rmode: none\rmax_age: 1\r',
    { ok: false, codes: ['EPOLICY_BARE_CR', 'EPOLICY_VERSION_MISSING', 'EPOLICY_MODE_MISSING', 'EPOLICY_MAX_AGE_MISSING'] },
  ],
  [
    'CR inside a line',
    'version: STSv1\nmode: no\rne\nmax_age: 1',
    { ok: false, codes: ['EPOLICY_BARE_CR', 'EPOLICY_MODE_MISSING'], lineNos: [2, undefined] },
  ],
  [
    'CR at the very end without LF',
    'version: STSv1\nmode: none\nmax_age: 1\r',
    { ok: false, codes: ['EPOLICY_BARE_CR', 'EPOLICY_MAX_AGE_MISSING'] },
  ],
  ['CR CR LF', 'version: STSv1\r\r\nmode: none\nmax_age: 1', { ok: false, codes: ['EPOLICY_BARE_CR', 'EPOLICY_VERSION_MISSING'] }],

  // --- line and key syntax
  [
    'line without colon',
    `${HEAD}mx a.example\n`,
    { ok: false, codes: ['EPOLICY_LINE_SYNTAX', 'EPOLICY_MX_MISSING'], lineNos: [4, undefined] },
  ],
  ['comment-looking line', `# policy\n${HEAD}mx: a.example`, { ok: false, codes: ['EPOLICY_LINE_SYNTAX'], lineNos: [1] }],
  ['empty key', `${HEAD}mx: a.example\n: x\n`, { ok: false, codes: ['EPOLICY_KEY_INVALID'] }],
  [
    'key of 32 characters is an extension',
    `${HEAD}mx: a.example\n${key32}: x\n`,
    {
      ok: true,
      lines: [
        ['version', 'STSv1'],
        ['mode', 'enforce'],
        ['max_age', '86400'],
        ['mx', 'a.example'],
        [key32, 'x'],
      ],
    },
  ],
  ['key of 33 characters', `${HEAD}mx: a.example\n${key33}: x\n`, { ok: false, codes: ['EPOLICY_KEY_INVALID'], lineNos: [5] }],
  ['key starting with _', `${HEAD}mx: a.example\n_x: 1\n`, { ok: false, codes: ['EPOLICY_KEY_INVALID'] }],
  ['key with a space', `${HEAD}mx: a.example\nmy key: 1\n`, { ok: false, codes: ['EPOLICY_KEY_INVALID'] }],
  ['key with non-ASCII', `${HEAD}mx: a.example\nclé: 1\n`, { ok: false, codes: ['EPOLICY_KEY_INVALID'] }],
  [
    'extension with spaces and UTF-8 inside',
    `${HEAD}mx: a.example\nnote: h\u00e9llo  w\u00f6rld :)\n`,
    {
      ok: true,
      lines: [
        ['version', 'STSv1'],
        ['mode', 'enforce'],
        ['max_age', '86400'],
        ['mx', 'a.example'],
        ['note', 'h\u00e9llo  w\u00f6rld :)'],
      ],
    },
  ],
  ['extension with empty value', `${HEAD}mx: a.example\nnote:\n`, { ok: false, codes: ['EPOLICY_EXT_VALUE_INVALID'] }],
  ['extension with a tab inside', `${HEAD}mx: a.example\nnote: a\tb\n`, { ok: false, codes: ['EPOLICY_EXT_VALUE_INVALID'] }],
  [
    'value containing a colon',
    `${HEAD}mx: a.example\nurl: https://x.example/a\n`,
    {
      ok: true,
      lines: [
        ['version', 'STSv1'],
        ['mode', 'enforce'],
        ['max_age', '86400'],
        ['mx', 'a.example'],
        ['url', 'https://x.example/a'],
      ],
    },
  ],

  // --- version
  ['version missing', 'mode: none\nmax_age: 1', { ok: false, codes: ['EPOLICY_VERSION_MISSING'] }],
  ['version lower-case', 'version: stsv1\nmode: none\nmax_age: 1', { ok: false, codes: ['EPOLICY_VERSION_INVALID'], lineNos: [1] }],
  ['version STSv2', 'version: STSv2\nmode: none\nmax_age: 1', { ok: false, codes: ['EPOLICY_VERSION_INVALID'] }],
  ['Version key is an extension', 'Version: STSv1\nmode: none\nmax_age: 1', { ok: false, codes: ['EPOLICY_VERSION_MISSING'] }],
  ['version not first', 'mode: none\nmax_age: 1\nversion: STSv1', { ok: true, mode: 'none' }],
  [
    'duplicate version: first wins',
    'version: STSv1\nversion: STSv2\nmode: none\nmax_age: 1',
    { ok: true, warn: ['EPOLICY_DUPLICATE_FIELD'] },
  ],
  [
    'first version invalid, second valid',
    'version: STSv2\nversion: STSv1\nmode: none\nmax_age: 1',
    { ok: false, codes: ['EPOLICY_VERSION_INVALID'] },
  ],

  // --- mode
  ['mode testing', 'version: STSv1\nmode: testing\nmx: a.example\nmax_age: 1', { ok: true, mode: 'testing' }],
  ['mode none without mx', 'version: STSv1\nmode: none\nmax_age: 1', { ok: true, mode: 'none', mx: [] }],
  ['mode none with mx', 'version: STSv1\nmode: none\nmx: a.example\nmax_age: 1', { ok: true, mode: 'none', mx: ['a.example'] }],
  ['mode Enforce', 'version: STSv1\nmode: Enforce\nmx: a.example\nmax_age: 1', { ok: false, codes: ['EPOLICY_MODE_INVALID'] }],
  ['mode report', 'version: STSv1\nmode: report\nmx: a.example\nmax_age: 1', { ok: false, codes: ['EPOLICY_MODE_INVALID'] }],
  ['mode empty', 'version: STSv1\nmode:\nmx: a.example\nmax_age: 1', { ok: false, codes: ['EPOLICY_MODE_INVALID'] }],
  ['mode missing', 'version: STSv1\nmx: a.example\nmax_age: 1', { ok: false, codes: ['EPOLICY_MODE_MISSING'] }],
  ['MODE key is an extension', 'version: STSv1\nMODE: enforce\nmx: a.example\nmax_age: 1', { ok: false, codes: ['EPOLICY_MODE_MISSING'] }],
  [
    'duplicate mode: first wins',
    'version: STSv1\nmode: testing\nmode: enforce\nmx: a.example\nmax_age: 1',
    { ok: true, mode: 'testing', warn: ['EPOLICY_DUPLICATE_FIELD'] },
  ],
  [
    'duplicate mode with bogus value ignored',
    'version: STSv1\nmode: none\nmode: bogus\nmax_age: 1',
    { ok: true, mode: 'none', warn: ['EPOLICY_DUPLICATE_FIELD'] },
  ],
  ['duplicate mode with empty value', 'version: STSv1\nmode: none\nmode:\nmax_age: 1', { ok: false, codes: ['EPOLICY_EXT_VALUE_INVALID'] }],
  ['enforce without mx', 'version: STSv1\nmode: enforce\nmax_age: 1', { ok: false, codes: ['EPOLICY_MX_MISSING'] }],
  ['testing without mx', 'version: STSv1\nmode: testing\nmax_age: 1', { ok: false, codes: ['EPOLICY_MX_MISSING'] }],
  ['enforce with only MX: lines', 'version: STSv1\nmode: enforce\nMX: a.example\nmax_age: 1', { ok: false, codes: ['EPOLICY_MX_MISSING'] }],

  // --- max_age
  ['max_age 0', 'version: STSv1\nmode: none\nmax_age: 0', { ok: true, maxAge: 0 }],
  ['max_age at the maximum', 'version: STSv1\nmode: none\nmax_age: 31557600', { ok: true, maxAge: 31557600 }],
  [
    'max_age one above the maximum is clamped',
    'version: STSv1\nmode: none\nmax_age: 31557601',
    {
      ok: true,
      maxAge: MAX_MAX_AGE,
      warn: ['EPOLICY_MAX_AGE_CLAMPED'],
      lines: [
        ['version', 'STSv1'],
        ['mode', 'none'],
        ['max_age', '31557601'],
      ],
    },
  ],
  [
    'max_age of 10 nines is clamped',
    'version: STSv1\nmode: none\nmax_age: 9999999999',
    { ok: true, maxAge: MAX_MAX_AGE, warn: ['EPOLICY_MAX_AGE_CLAMPED'] },
  ],
  ['max_age of 11 digits', 'version: STSv1\nmode: none\nmax_age: 10000000000', { ok: false, codes: ['EPOLICY_MAX_AGE_INVALID'] }],
  ['max_age with leading zeros, 10 digits', 'version: STSv1\nmode: none\nmax_age: 0000086400', { ok: true, maxAge: 86400 }],
  [
    'max_age with leading zeros, 11 digits',
    'version: STSv1\nmode: none\nmax_age: 00000086400',
    { ok: false, codes: ['EPOLICY_MAX_AGE_INVALID'] },
  ],
  ['max_age negative', 'version: STSv1\nmode: none\nmax_age: -1', { ok: false, codes: ['EPOLICY_MAX_AGE_INVALID'] }],
  ['max_age with a plus sign', 'version: STSv1\nmode: none\nmax_age: +1', { ok: false, codes: ['EPOLICY_MAX_AGE_INVALID'] }],
  ['max_age decimal', 'version: STSv1\nmode: none\nmax_age: 1.5', { ok: false, codes: ['EPOLICY_MAX_AGE_INVALID'] }],
  ['max_age exponent', 'version: STSv1\nmode: none\nmax_age: 1e5', { ok: false, codes: ['EPOLICY_MAX_AGE_INVALID'] }],
  ['max_age hex', 'version: STSv1\nmode: none\nmax_age: 0x10', { ok: false, codes: ['EPOLICY_MAX_AGE_INVALID'] }],
  ['max_age with a unit', 'version: STSv1\nmode: none\nmax_age: 1d', { ok: false, codes: ['EPOLICY_MAX_AGE_INVALID'] }],
  ['max_age non-ASCII digits', 'version: STSv1\nmode: none\nmax_age: \u0661\u0662', { ok: false, codes: ['EPOLICY_MAX_AGE_INVALID'] }],
  ['max_age empty', 'version: STSv1\nmode: none\nmax_age:', { ok: false, codes: ['EPOLICY_MAX_AGE_INVALID'] }],
  ['max_age missing', 'version: STSv1\nmode: none', { ok: false, codes: ['EPOLICY_MAX_AGE_MISSING'] }],
  [
    'duplicate max_age: first wins',
    'version: STSv1\nmode: none\nmax_age: 5\nmax_age: 7',
    { ok: true, maxAge: 5, warn: ['EPOLICY_DUPLICATE_FIELD'] },
  ],

  // --- mx
  [
    'mx lower-cased in mx, as written in lines',
    `${HEAD}mx: MAIL.Example.COM\n`,
    {
      ok: true,
      mx: ['mail.example.com'],
      lines: [
        ['version', 'STSv1'],
        ['mode', 'enforce'],
        ['max_age', '86400'],
        ['mx', 'MAIL.Example.COM'],
      ],
    },
  ],
  ['mx wildcard', `${HEAD}mx: *.example.net\n`, { ok: true, mx: ['*.example.net'] }],
  ['mx wildcard upper-case', `${HEAD}mx: *.EXAMPLE.net\n`, { ok: true, mx: ['*.example.net'] }],
  [
    'mx duplicates kept in order',
    `${HEAD}mx: b.example\nmx: a.example\nmx: b.example\n`,
    { ok: true, mx: ['b.example', 'a.example', 'b.example'] },
  ],
  ['mx A-label', `${HEAD}mx: xn--bcher-kva.example\n`, { ok: true, mx: ['xn--bcher-kva.example'] }],
  ['mx single label', `${HEAD}mx: localhost\n`, { ok: true, mx: ['localhost'] }],
  ['mx label of 63', `${HEAD}mx: ${label63}.example\n`, { ok: true, mx: [`${label63}.example`] }],
  ['mx label of 64', `${HEAD}mx: ${label64}.example\n`, { ok: false, codes: ['EPOLICY_MX_INVALID'] }],
  ['mx name of 253', `${HEAD}mx: ${name253}\n`, { ok: true, mx: [name253] }],
  ['mx name of 254', `${HEAD}mx: ${name254}\n`, { ok: false, codes: ['EPOLICY_MX_INVALID'] }],
  ['mx wildcard on a 253 name', `${HEAD}mx: *.${name253}\n`, { ok: true, mx: [`*.${name253}`] }],
  ['mx U-label', `${HEAD}mx: b\u00fccher.example\n`, { ok: false, codes: ['EPOLICY_MX_INVALID'] }],
  ['mx malformed A-label', `${HEAD}mx: xn--zz.example\n`, { ok: false, codes: ['EPOLICY_MX_INVALID'] }],
  ['mx *a.example.com', `${HEAD}mx: *a.example.com\n`, { ok: false, codes: ['EPOLICY_MX_INVALID'] }],
  ['mx a.*.example.com', `${HEAD}mx: a.*.example.com\n`, { ok: false, codes: ['EPOLICY_MX_INVALID'] }],
  ['mx *.*.example.com', `${HEAD}mx: *.*.example.com\n`, { ok: false, codes: ['EPOLICY_MX_INVALID'] }],
  ['mx * alone', `${HEAD}mx: *\n`, { ok: false, codes: ['EPOLICY_MX_INVALID'] }],
  ['mx *. alone', `${HEAD}mx: *.\n`, { ok: false, codes: ['EPOLICY_MX_INVALID'] }],
  ['mx .example.com (Postfix style)', `${HEAD}mx: .example.com\n`, { ok: false, codes: ['EPOLICY_MX_INVALID'] }],
  ['mx trailing dot', `${HEAD}mx: mail.example.com.\n`, { ok: false, codes: ['EPOLICY_MX_INVALID'] }],
  ['mx IPv4 address', `${HEAD}mx: 192.0.2.1\n`, { ok: false, codes: ['EPOLICY_MX_INVALID'] }],
  ['mx IPv6 address', `${HEAD}mx: [2001:db8::1]\n`, { ok: false, codes: ['EPOLICY_MX_INVALID'] }],
  ['mx underscore', `${HEAD}mx: mail_1.example.com\n`, { ok: false, codes: ['EPOLICY_MX_INVALID'] }],
  ['mx hyphen at label edge', `${HEAD}mx: -mail.example.com\n`, { ok: false, codes: ['EPOLICY_MX_INVALID'] }],
  ['mx empty label', `${HEAD}mx: mail..example.com\n`, { ok: false, codes: ['EPOLICY_MX_INVALID'] }],
  ['mx empty', `${HEAD}mx:\n`, { ok: false, codes: ['EPOLICY_MX_INVALID'] }],
  ['one bad mx among good ones', `${HEAD}mx: a.example\nmx: b..example\n`, { ok: false, codes: ['EPOLICY_MX_INVALID'], lineNos: [5] }],

  // --- whole file
  ['empty input', '', { ok: false, codes: ['EPOLICY_EMPTY'] }],
  ['only newlines', '\n\r\n', { ok: false, codes: ['EPOLICY_EMPTY'] }],
  [
    'HTML error page',
    '<html><body>Not found</body></html>\n',
    { ok: false, codes: ['EPOLICY_LINE_SYNTAX', 'EPOLICY_VERSION_MISSING', 'EPOLICY_MODE_MISSING', 'EPOLICY_MAX_AGE_MISSING'] },
  ],
  [
    'several problems all reported with lines',
    'version: STSv2\nmode: strict\nmax_age: soon\nmx: *\n',
    {
      ok: false,
      codes: ['EPOLICY_VERSION_INVALID', 'EPOLICY_MODE_INVALID', 'EPOLICY_MAX_AGE_INVALID', 'EPOLICY_MX_INVALID'],
      lineNos: [1, 2, 3, 4],
    },
  ],
];

describe('parsePolicyFile', () => {
  for (const [name, text, expect] of table) {
    it(`${name}: ${JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text)}`, () => {
      const result = parsePolicyFile(text);
      if (expect.ok) {
        assert.ok(result.ok, `expected ok, got ${JSON.stringify(result)}`);
        const p = result.value;
        assert.equal(p.version, 'STSv1');
        if (expect.mode !== undefined) assert.equal(p.mode, expect.mode);
        if (expect.maxAge !== undefined) assert.equal(p.maxAge, expect.maxAge);
        if (expect.mx !== undefined) assert.deepEqual(p.mx, expect.mx);
        if (expect.lines !== undefined) assert.deepEqual(p.lines, expect.lines);
        assert.deepEqual(
          result.warnings.map((w) => w.code),
          expect.warn ?? [],
        );
        for (const w of result.warnings) assert.equal(typeof w.line, 'number');
      } else {
        assert.ok(!result.ok, `expected a failure, got ${JSON.stringify(result)}`);
        assert.deepEqual(
          result.problems.map((x) => x.code),
          expect.codes,
        );
        if (expect.lineNos !== undefined) {
          assert.deepEqual(
            result.problems.map((x) => x.line),
            expect.lineNos,
          );
        }
      }
    });
  }

  it('accepts a policy of exactly MAX_POLICY_BYTES and rejects one longer', () => {
    const base = 'version: STSv1\nmode: none\nmax_age: 1\nnote: ';
    const fill = (n: number): string => base + 'x'.repeat(n - base.length);
    const atLimit = parsePolicyFile(fill(MAX_POLICY_BYTES));
    assert.ok(atLimit.ok, JSON.stringify(atLimit.ok ? '' : atLimit.problems));
    const over = parsePolicyFile(fill(MAX_POLICY_BYTES + 1));
    assert.ok(!over.ok);
    assert.deepEqual(
      over.problems.map((x) => x.code),
      ['EPOLICY_TOO_LARGE'],
    );
  });

  it('keeps every line, extensions and duplicates included, in file order', () => {
    const result = parsePolicyFile('version: STSv1\nfoo: bar baz \nmode: enforce\nmx: A.example\nmode: none\nmx: a.example\nmax_age: 60\n');
    assert.ok(result.ok);
    assert.deepEqual(result.value, {
      version: 'STSv1',
      mode: 'enforce',
      maxAge: 60,
      mx: ['a.example', 'a.example'],
      lines: [
        ['version', 'STSv1'],
        ['foo', 'bar baz'],
        ['mode', 'enforce'],
        ['mx', 'A.example'],
        ['mode', 'none'],
        ['mx', 'a.example'],
        ['max_age', '60'],
      ],
    });
    assert.deepEqual(
      result.warnings.map((w) => [w.code, w.line]),
      [['EPOLICY_DUPLICATE_FIELD', 5]],
    );
  });

  it('returns JSON-able data', () => {
    const result = parsePolicyFile(`${HEAD}mx: a.example\n`);
    assert.ok(result.ok);
    assert.deepEqual(JSON.parse(JSON.stringify(result.value)), result.value);
  });
});

describe('parsePolicyFile properties', () => {
  const ldh = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const labelArb = fc
    .tuple(
      fc.constantFrom(...ldh.split('')),
      fc.string({ unit: fc.constantFrom(...`${ldh}-`.split('')), maxLength: 10 }),
      fc.constantFrom(...ldh.split('')),
    )
    .map(([a, mid, z]) => a + mid + z);
  const domainArb = fc
    .tuple(fc.array(labelArb, { minLength: 1, maxLength: 3 }), fc.constantFrom('com', 'example', 'net', 'org'))
    .map(([labels, tld]) => [...labels, tld].join('.'))
    .filter((d) => !/(^|\.)xn--/.test(d));
  const mxArb = fc.tuple(fc.boolean(), domainArb, fc.boolean()).map(([wild, d, upper]) => {
    const v = wild ? `*.${d}` : d;
    return upper ? v.toUpperCase() : v;
  });
  const wspArb = fc.string({ unit: fc.constantFrom(' ', '\t'), maxLength: 2 });
  const extArb = fc
    .tuple(
      fc.constantFrom('note', 'x-vendor', 'a.b', 'Z9'),
      fc.string({ unit: fc.constantFrom(...'abc XYZ:/=;é'.split('')), minLength: 1, maxLength: 12 }).map((s) => s.trim()),
    )
    .filter(([, v]) => v.length > 0);

  const policyArb = fc
    .record({
      mode: fc.constantFrom<PolicyMode>('enforce', 'testing', 'none'),
      maxAge: fc.integer({ min: 0, max: 9_999_999_999 }),
      mx: fc.array(mxArb, { maxLength: 5 }),
      exts: fc.array(extArb, { maxLength: 3 }),
      eol: fc.constantFrom('\n', '\r\n'),
      finalEol: fc.boolean(),
      seed: fc.array(fc.nat(), { minLength: 12, maxLength: 12 }),
      spaces: fc.array(fc.tuple(wspArb, wspArb), { minLength: 12, maxLength: 12 }),
    })
    .filter((p) => p.mode === 'none' || p.mx.length > 0);

  it('parse of a generated valid policy gives back its fields', () => {
    fc.assert(
      fc.property(policyArb, (p) => {
        const entries: Array<[string, string]> = [
          ['version', 'STSv1'],
          ['mode', p.mode],
          ['max_age', String(p.maxAge)],
          ...p.mx.map((m): [string, string] => ['mx', m]),
          ...p.exts,
        ];
        // Shuffle deterministically from the generated seed: field order must not matter.
        for (let i = entries.length - 1; i > 0; i--) {
          const j = (p.seed[i % p.seed.length] ?? 0) % (i + 1);
          const a = entries[i];
          const b = entries[j];
          if (a !== undefined && b !== undefined) [entries[i], entries[j]] = [b, a];
        }
        const text =
          entries.map(([k, v], i) => `${k}:${p.spaces[i % 12]?.[0] ?? ''}${v}${p.spaces[i % 12]?.[1] ?? ''}`).join(p.eol) +
          (p.finalEol ? p.eol : '');
        const result = parsePolicyFile(text);
        assert.ok(result.ok, `${JSON.stringify(text)} -> ${JSON.stringify(result)}`);
        const v = result.value;
        assert.equal(v.version, 'STSv1');
        assert.equal(v.mode, p.mode);
        assert.equal(v.maxAge, Math.min(p.maxAge, MAX_MAX_AGE));
        assert.deepEqual(v.lines, entries);
        assert.deepEqual(
          v.mx,
          entries.filter(([k]) => k === 'mx').map(([, m]) => m.toLowerCase()),
        );
        assert.deepEqual(
          result.warnings.map((w) => w.code),
          p.maxAge > MAX_MAX_AGE ? ['EPOLICY_MAX_AGE_CLAMPED'] : [],
        );
      }),
    );
  });

  it('never throws and always returns a well-formed result', () => {
    const tokens = ['version', 'mode', 'max_age', 'mx', ':', ' ', '\t', 'STSv1', 'enforce', 'testing', 'none'];
    const lineish = fc.string({
      unit: fc.constantFrom(...tokens, '0', '31557601', '*.', 'a.example', '\r', '\n', '\r\n', '\x00', '\uFEFF', 'é'),
    });
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), lineish), (text) => {
        const result = parsePolicyFile(text);
        if (result.ok) {
          assert.equal(result.value.version, 'STSv1');
          assert.ok(['enforce', 'testing', 'none'].includes(result.value.mode));
          assert.ok(Number.isInteger(result.value.maxAge) && result.value.maxAge >= 0 && result.value.maxAge <= MAX_MAX_AGE);
          if (result.value.mode !== 'none') assert.ok(result.value.mx.length > 0);
          for (const m of result.value.mx) assert.equal(m, m.toLowerCase());
        } else {
          assert.ok(result.problems.length > 0);
        }
      }),
      { numRuns: 500 },
    );
  });
});
