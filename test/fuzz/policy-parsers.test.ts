/**
 * Fuzzing the `_mta-sts` TXT record parser and the policy file parser (seeded, time-bounded:
 * budget.ts). Besides "never throws", each accepted result is checked against rules written
 * here independently of the parser (the RFC 8461 ABNF as one regular expression, line rules),
 * and inputs built valid must be accepted with exactly the values they were built from.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MAX_MAX_AGE, MAX_POLICY_BYTES, parsePolicyFile } from '../../src/policy/policy-file.js';
import { parseStsRecord } from '../../src/policy/sts-record.js';
import { runFuzz } from './budget.js';

/** RFC 8461 §3.1 `sts-text-record`, written out as one expression. */
const STS_FIELD = '(?:[A-Za-z0-9][A-Za-z0-9_.-]{0,31}=[\\x21-\\x3A\\x3C\\x3E-\\x7E]+)';
const STS_RECORD = new RegExp(`^v=STSv1(?:[ \\t]*;[ \\t]*${STS_FIELD})+(?:[ \\t]*;[ \\t]*)?$`);

/** Text from record tokens, so that the parser's deeper paths are reached. */
function recordText(): fc.Arbitrary<string> {
  const token = fc.constantFrom(
    'v=STSv1',
    ';',
    ' ',
    '\t',
    'id=',
    'id=20240101',
    'abc',
    '=',
    'x_y.z-1',
    '!',
    '~',
    '\u00e9',
    'v=STSv10',
    ';;',
    'id=' + 'a'.repeat(33),
  );
  const piece = fc.oneof({ weight: 5, arbitrary: token }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) });
  return fc.oneof(
    fc.array(piece, { maxLength: 16 }).map((p) => p.join('')),
    fc.array(piece, { maxLength: 16 }).map((p) => `v=STSv1;${p.join('')}`),
  );
}

/** The value of the first `id=` field of a grammatical record. */
function firstId(text: string): string | undefined {
  for (const field of text.slice('v=STSv1'.length).split(';')) {
    const f = field.replace(/^[ \t]+|[ \t]+$/g, '');
    if (f.startsWith('id=')) return f.slice(3);
  }
  return undefined;
}

describe('fuzz: _mta-sts TXT record parser', () => {
  it('never throws; accepts exactly the grammatical records whose first id= is 1-32 letters or digits', (t) => {
    runFuzz(
      t,
      fc.property(recordText(), (text) => {
        const result = parseStsRecord(text);
        const id = STS_RECORD.test(text) ? firstId(text) : undefined;
        const valid = id !== undefined && /^[A-Za-z0-9]{1,32}$/.test(id);
        assert.equal(result.ok, valid, `${JSON.stringify(text)}: ${JSON.stringify(result)}`);
        if (result.ok) {
          assert.equal(result.value.id, id);
          assert.equal(result.value.text, text);
        } else {
          assert.ok(result.problems.length > 0);
        }
      }),
      1,
    );
  });
});

interface BuiltPolicy {
  readonly text: string;
  readonly mode: 'enforce' | 'testing' | 'none';
  readonly maxAge: number;
  readonly mx: string[];
}

const label = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'), minLength: 1, maxLength: 12 });
const host = fc
  .tuple(fc.array(label, { minLength: 1, maxLength: 3 }), fc.constantFrom('com', 'org', 'example', 'test'))
  .map(([l, tld]) => [...l, tld].join('.'));

/** A valid policy file, its lines shuffled, with extension lines, LF or CRLF, final newline or not. */
const builtPolicy: fc.Arbitrary<BuiltPolicy> = fc
  .record({
    mode: fc.constantFrom('enforce' as const, 'testing' as const, 'none' as const),
    maxAge: fc.integer({ min: 0, max: MAX_MAX_AGE }),
    mx: fc.array(
      fc.tuple(fc.boolean(), host).map(([wild, h]) => (wild ? `*.${h}` : h)),
      { minLength: 1, maxLength: 4 },
    ),
    ext: fc.array(
      fc.tuple(
        fc.constantFrom('x-note', 'tlsrpt', 'a.b_c-d'),
        fc.string({ unit: fc.constantFrom(...'abc xyz!~'), minLength: 1, maxLength: 10 }),
      ),
      { maxLength: 3 },
    ),
    crlf: fc.boolean(),
    finalNewline: fc.boolean(),
    order: fc.integer({ min: 0, max: 1000 }),
    pad: fc.constantFrom('', ' ', '\t', '  '),
  })
  .map(({ mode, maxAge, mx, ext, crlf, finalNewline, order, pad }) => {
    const lines = [
      `version:${pad}STSv1`,
      `mode: ${mode}`,
      `max_age: ${maxAge}`,
      ...mx.map((m) => `mx: ${m}${pad}`),
      ...ext.map(([k, v]) => `${k}: ${v.trim() === '' ? 'v' : v.trim()}`),
    ];
    // A deterministic shuffle: RFC 8461 allows the fields in any order.
    for (let i = lines.length - 1; i > 0; i--) {
      const j = (order * (i + 7)) % (i + 1);
      [lines[i], lines[j]] = [lines[j] as string, lines[i] as string];
    }
    const nl = crlf ? '\r\n' : '\n';
    // In file order, as the parser returns them.
    const mxInOrder = lines.filter((l) => l.startsWith('mx: ')).map((l) => l.slice(4).trim());
    return { text: lines.join(nl) + (finalNewline ? nl : ''), mode, maxAge, mx: mxInOrder };
  });

/** Policy-ish text: tokens of the format, and random characters. */
function policyText(): fc.Arbitrary<string> {
  const token = fc.constantFrom(
    'version',
    'mode',
    'max_age',
    'mx',
    ':',
    ': ',
    'STSv1',
    'enforce',
    'testing',
    'none',
    '86400',
    '99999999999',
    'mail.example.com',
    '*.example.net',
    '*',
    '\n',
    '\r\n',
    '\r',
    ' ',
    '\t',
    '\uFEFF',
    'x-ext',
    '\u0000',
  );
  const piece = fc.oneof({ weight: 5, arbitrary: token }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) });
  return fc.oneof(
    fc.array(piece, { maxLength: 40 }).map((p) => p.join('')),
    // A valid policy with random damage: characters inserted and removed.
    fc.tuple(builtPolicy, fc.array(fc.tuple(fc.nat(), fc.nat(3), piece), { maxLength: 4 })).map(([p, edits]) => {
      let text = p.text;
      for (const [at, remove, insert] of edits) {
        const i = at % (text.length + 1);
        text = text.slice(0, i) + insert + text.slice(i + remove);
      }
      return text;
    }),
  );
}

const KEY = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;
const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
/** `["*."] Domain` (RFC 8461 §3.2, Domain from RFC 5321: LDH labels), lower case. */
const HOST = new RegExp(`^(?:\\*\\.)?${LABEL}(?:\\.${LABEL})*$`);

/** The rules an accepted policy file must satisfy, checked line by line without the parser. */
function checkAccepted(text: string, policy: { mode: string; maxAge: number; mx: readonly string[]; version: string }): void {
  assert.ok(text.length <= MAX_POLICY_BYTES);
  assert.equal(policy.version, 'STSv1');
  assert.ok(Number.isInteger(policy.maxAge) && policy.maxAge >= 0 && policy.maxAge <= MAX_MAX_AGE, `max_age ${policy.maxAge}`);
  assert.ok(['enforce', 'testing', 'none'].includes(policy.mode));
  if (policy.mode !== 'none') assert.ok(policy.mx.length > 0, 'enforce or testing without mx');
  for (const m of policy.mx) assert.match(m, HOST);
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const lines = body.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  let firstMode: string | undefined;
  for (const [i, raw] of lines.entries()) {
    const line = raw.endsWith('\r') && (i < lines.length - 1 || body.endsWith('\n')) ? raw.slice(0, -1) : raw;
    if (/^[ \t]*$/.test(line)) continue;
    assert.ok(!/[\x00-\x08\x0A-\x1F\x7F]/.test(line), `control character in an accepted line ${JSON.stringify(line)}`);
    const colon = line.indexOf(':');
    assert.ok(colon > 0, `accepted line without key: ${JSON.stringify(line)}`);
    assert.match(line.slice(0, colon), KEY);
    if (line.slice(0, colon) === 'mode' && firstMode === undefined) firstMode = line.slice(colon + 1).trim();
  }
  assert.equal(firstMode, policy.mode, 'the mode is not the first mode line');
}

describe('fuzz: policy file parser', () => {
  it('never throws; an accepted policy satisfies the RFC 8461 §3.2 rules checked independently', (t) => {
    runFuzz(
      t,
      fc.property(policyText(), (text) => {
        const result = parsePolicyFile(text);
        if (result.ok) checkAccepted(text, result.value);
        else assert.ok(result.problems.length > 0);
      }),
      0.6,
    );
  });

  it('a policy built valid is accepted with exactly its mode, max_age and mx; with a bad mode it never is', (t) => {
    runFuzz(
      t,
      fc.property(
        builtPolicy,
        fc.string({ maxLength: 8 }).filter((m) => !['enforce', 'testing', 'none'].includes(m.trim())),
        (p, badMode) => {
          const result = parsePolicyFile(p.text);
          assert.ok(result.ok, `${JSON.stringify(p.text)}: ${JSON.stringify(result)}`);
          assert.equal(result.value.mode, p.mode);
          assert.equal(result.value.maxAge, p.maxAge);
          assert.deepEqual(result.value.mx, p.mx);
          const broken = parsePolicyFile(p.text.replace(`mode: ${p.mode}`, `mode: ${badMode}`));
          assert.equal(broken.ok, false, `accepted mode ${JSON.stringify(badMode)}`);
        },
      ),
      0.4,
    );
  });
});
