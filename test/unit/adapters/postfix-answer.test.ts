import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { policyStringProblem, postfixAnswer } from '../../../adapters/protocol/postfix-answer.js';
import type { PostfixAnswer } from '../../../adapters/protocol/postfix-answer.js';
import type { ZoneConfig } from '../../../src/config/types.js';
import type { NoPolicyReason, Resolution } from '../../../src/resolver/types.js';
import { policy, policyResolution, result, zone } from './fixtures.js';

// RFC 8461 §3.2's example policy.
const rfcMx = ['mail.example.com', '*.example.net', 'backupmx.example.com'];
const enforce = policyResolution('example.com', policy('enforce', rfcMx));
const testing = policyResolution('example.com', policy('testing', rfcMx));
const none = policyResolution('example.com', { ...policy('none', []), mx: [] });

const MATCH = 'secure match=mail.example.com:.example.net:backupmx.example.com';
const TLSRPT =
  ' policy_type=sts policy_domain=example.com' +
  ' mx_host_pattern=mail.example.com mx_host_pattern=*.example.net mx_host_pattern=backupmx.example.com' +
  ' { policy_string = version: STSv1 } { policy_string = mode: enforce }' +
  ' { policy_string = mx: mail.example.com } { policy_string = mx: *.example.net }' +
  ' { policy_string = mx: backupmx.example.com } { policy_string = max_age: 604800 }';

const ok = (data: string, plainData: string): PostfixAnswer => ({ kind: 'ok', data, plainData });
const NOTFOUND: PostfixAnswer = { kind: 'notfound' };

const allZones: ZoneConfig[] = [];
for (const strictTesting of [false, true])
  for (const requireSni of [false, true])
    for (const tlsrpt of [false, true])
      for (const dnsErrorAnswer of ['no-policy', 'temp'] as const)
        allZones.push(zone({ strictTesting, requireSni, tlsrpt, dnsErrorAnswer }));

const noPolicyReasons: NoPolicyReason[] = [
  'nxdomain',
  'nodata',
  'no-sts-record',
  'multiple-sts-records',
  'invalid-sts-record',
  'fetch-failed',
  'fetch-backoff',
];
const dnsError: Resolution = { kind: 'dns-error', domain: 'example.com', code: 'ESERVFAIL', detail: 'SERVFAIL from 192.0.2.53' };

/** The expected answer, written out independently of the implementation. */
function expected(res: Resolution, z: ZoneConfig): PostfixAnswer {
  if (res.kind === 'no-policy') return NOTFOUND;
  if (res.kind === 'dns-error') {
    return z.dnsErrorAnswer === 'temp' ? { kind: 'temp', reason: 'MTA-STS DNS lookup failed for example.com (ESERVFAIL)' } : NOTFOUND;
  }
  const applies = res.policy.mode === 'enforce' || (res.policy.mode === 'testing' && z.strictTesting);
  if (!applies) return NOTFOUND;
  const plain = MATCH + (z.requireSni ? ' servername=hostname' : '');
  const rpt = res.policy.mode === 'testing' ? TLSRPT.replace('mode: enforce', 'mode: testing') : TLSRPT;
  return ok(z.tlsrpt ? plain + rpt : plain, plain);
}

describe('postfixAnswer: every Resolution variant x every zone flag', () => {
  const resolutions: Array<[string, Resolution]> = [
    ['enforce', enforce],
    ['enforce (stale)', { ...enforce, source: 'stale', reason: 'EFETCH_TIMEOUT' } as Resolution],
    ['enforce (fetched)', policyResolution('example.com', policy('enforce', rfcMx), 'fetched')],
    ['testing', testing],
    ['none', none],
    ...noPolicyReasons.map((r): [string, Resolution] => [
      `no-policy ${r}`,
      { kind: 'no-policy', domain: 'example.com', reason: r, source: 'lookup' },
    ]),
    ['no-policy (negative cache)', { kind: 'no-policy', domain: 'example.com', reason: 'nxdomain', source: 'negative-cache' }],
    ['dns-error', dnsError],
  ];
  for (const [name, res] of resolutions) {
    for (const z of allZones) {
      const flags = `strictTesting=${z.strictTesting} requireSni=${z.requireSni} tlsrpt=${z.tlsrpt} dnsErrorAnswer=${z.dnsErrorAnswer}`;
      it(`${name} with ${flags}`, () => {
        const got = postfixAnswer(result(res, z));
        assert.deepEqual(got, expected(res, z));
        // Deterministic byte for byte.
        assert.deepEqual(postfixAnswer(result(res, z)), got);
      });
    }
  }
});

describe('postfixAnswer: exact strings', () => {
  it('the plain enforce answer (Postfix 3.4+)', () => {
    const got = postfixAnswer(result(enforce, zone({ requireSni: true, tlsrpt: false })));
    assert.deepEqual(got, ok(`${MATCH} servername=hostname`, `${MATCH} servername=hostname`));
  });
  it('without servername for old Postfix', () => {
    assert.deepEqual(postfixAnswer(result(enforce, zone({ requireSni: false }))), ok(MATCH, MATCH));
  });
  it('the full Postfix 3.10 answer', () => {
    const got = postfixAnswer(result(enforce, zone({ requireSni: true, tlsrpt: true })));
    assert.equal(
      got.kind === 'ok' && got.data,
      'secure match=mail.example.com:.example.net:backupmx.example.com servername=hostname' +
        ' policy_type=sts policy_domain=example.com' +
        ' mx_host_pattern=mail.example.com mx_host_pattern=*.example.net mx_host_pattern=backupmx.example.com' +
        ' { policy_string = version: STSv1 } { policy_string = mode: enforce }' +
        ' { policy_string = mx: mail.example.com } { policy_string = mx: *.example.net }' +
        ' { policy_string = mx: backupmx.example.com } { policy_string = max_age: 604800 }',
    );
  });
  it('keeps policy order and de-duplicates patterns (after *.x -> .x for match=)', () => {
    const p = policy('enforce', ['z.example', 'a.example', '*.m.example', 'z.example', '*.m.example', 'A.EXAMPLE']);
    const got = postfixAnswer(result(policyResolution('example.org', p), zone({ requireSni: false, tlsrpt: true })));
    assert.equal(got.kind, 'ok');
    if (got.kind !== 'ok') return;
    assert.equal(got.plainData, 'secure match=z.example:a.example:.m.example');
    assert.ok(got.data.includes(' mx_host_pattern=z.example mx_host_pattern=a.example mx_host_pattern=*.m.example {'));
    // policy_string keeps every line, duplicates included: it is the policy as published.
    assert.equal(got.data.split('{ policy_string = mx: z.example }').length - 1, 2);
  });
  it('`*.x` and `x` both appear and stay distinct', () => {
    const p = policy('enforce', ['example.net', '*.example.net']);
    const got = postfixAnswer(result(policyResolution('example.net', p), zone({ requireSni: false })));
    assert.deepEqual(got, ok('secure match=example.net:.example.net', 'secure match=example.net:.example.net'));
  });
  it('extension lines are reported in file order', () => {
    const p = policy(
      'enforce',
      ['mx.example'],
      [
        ['ext_x', 'one'],
        ['ext_y', 'two words'],
      ],
    );
    const got = postfixAnswer(result(policyResolution('example.org', p), zone({ tlsrpt: true })));
    assert.ok(
      got.kind === 'ok' &&
        got.data.endsWith(' { policy_string = max_age: 604800 } { policy_string = ext_x: one } { policy_string = ext_y: two words }'),
    );
  });
  it('omits policy lines that would break or be altered inside { }', () => {
    const bad: Array<[string, string]> = [
      ['ext_a', 'x}y'],
      ['ext_b', '{x'],
      ['ext_c', 'x } policy_failure=sts-webpki-invalid {'],
      ['ext_d', 'tab\there'],
      ['ext_e', 'cr\rlf\n'],
      ['ext_f', ' leading'],
      ['ext_g', 'trailing '],
      ['ext_h', 'del\u007f'],
    ];
    const p = policy('enforce', ['mx.example'], [...bad, ['ext_ok', 'fine']]);
    const got = postfixAnswer(result(policyResolution('example.org', p), zone({ tlsrpt: true })));
    assert.equal(got.kind, 'ok');
    if (got.kind !== 'ok') return;
    for (const [k] of bad) assert.ok(!got.data.includes(k), k);
    assert.ok(got.data.endsWith('{ policy_string = ext_ok: fine }'));
    // Braces balance: nothing from the policy can open or close a group.
    assert.equal(got.data.split('{').length, got.data.split('}').length);
    assert.ok(!got.data.includes('policy_failure'));
  });
  it('an empty value is written without a trailing space', () => {
    const p = policy('enforce', ['mx.example'], [['ext_empty', '']]);
    const got = postfixAnswer(result(policyResolution('example.org', p), zone({ tlsrpt: true })));
    assert.ok(got.kind === 'ok' && got.data.endsWith('{ policy_string = ext_empty: }'));
  });
  it('drops unsafe mx patterns, and defers rather than answer an empty match=', () => {
    const p = policy('enforce', ['mx.example', 'bad host', 'x:y.example', '*.*.example']);
    const got = postfixAnswer(result(policyResolution('example.org', p), zone({ requireSni: false })));
    assert.deepEqual(got, ok('secure match=mx.example', 'secure match=mx.example'));
    const empty = postfixAnswer(result(policyResolution('example.org', { ...p, mx: ['bad host'] }), zone()));
    assert.equal(empty.kind, 'temp');
    const noMx = postfixAnswer(result(policyResolution('example.org', { ...p, mx: [] }), zone({ strictTesting: true })));
    assert.equal(noMx.kind, 'temp');
  });
  it('the TEMP reason is printable ASCII', () => {
    const res: Resolution = { kind: 'dns-error', domain: 'example.com', code: 'E\nX\u00e9', detail: '' };
    const got = postfixAnswer(result(res, zone({ dnsErrorAnswer: 'temp' })));
    assert.ok(got.kind === 'temp' && /^[\x20-\x7e]+$/.test(got.reason));
  });
});

describe('postfixAnswer: invariants over all zones and policies', () => {
  it('never an empty OK; plainData is data without the 3.10 attributes', () => {
    for (const z of allZones) {
      for (const res of [enforce, testing]) {
        const got = postfixAnswer(result(res, z));
        if (got.kind !== 'ok') continue;
        assert.match(got.plainData, /^secure match=[^ :]+(:[^ :]+)*( servername=hostname)?$/);
        assert.ok(got.data.startsWith(got.plainData));
        assert.ok(!got.plainData.includes('policy_type'));
        assert.equal(got.data.includes('policy_type=sts'), z.tlsrpt);
      }
    }
  });
});

describe('policyStringProblem', () => {
  const table: Array<[string, string, ReturnType<typeof policyStringProblem>]> = [
    ['mode', 'enforce', undefined],
    ['ext', 'a b', undefined],
    ['ext', 'ünïcode', undefined],
    ['ext', 'a}b', 'brace'],
    ['ex{t', 'a', 'brace'],
    ['ext', 'a\tb', 'control-character'],
    ['ext', ' a', 'edge-whitespace'],
    ['ext', 'a ', 'edge-whitespace'],
    ['', 'a', 'edge-whitespace'],
  ];
  for (const [k, v, want] of table) {
    it(`${JSON.stringify(k)}: ${JSON.stringify(v)} -> ${want ?? 'ok'}`, () => assert.equal(policyStringProblem(k, v), want));
  }
});
