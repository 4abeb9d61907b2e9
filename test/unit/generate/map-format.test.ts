import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ZoneConfig } from '../../../src/config/types.js';
import {
  decideEntry,
  diffMaps,
  formatDiff,
  MAP_FORMATS,
  MAP_HEADER,
  parseMap,
  renderMap,
  type MapEntry,
} from '../../../adapters/map/map-format.js';
import type { LookupResult } from '../../../src/lookup.js';
import type { PolicyMode } from '../../../src/policy/types.js';
import type { Resolution } from '../../../src/resolver/types.js';
import { postfixAnswer } from '../../../adapters/protocol/postfix-answer.js';
import { eximAnswer, formatEximAnswer } from '../../../adapters/protocol/exim-answer.js';
import { testZone } from '../../helpers/fakes.js';

function policy(domain: string, mode: PolicyMode, mx: string[]): Resolution {
  return {
    kind: 'policy',
    domain,
    id: 'id1',
    policy: {
      version: 'STSv1',
      mode,
      maxAge: 86400,
      mx,
      lines: [['version', 'STSv1'], ['mode', mode], ...mx.map((m): [string, string] => ['mx', m]), ['max_age', '86400']],
    },
    source: 'fetched',
    fetchedAt: 0,
    expiresAt: 86_400_000,
  };
}
const result = (resolution: Resolution, zone: ZoneConfig = testZone): LookupResult => ({ zoneName: 'z', zone, resolution });

describe('decideEntry', () => {
  const enforce = policy('a.test', 'enforce', ['mx1.a.test', '*.mx.a.test', 'mx1.a.test']);

  it('postfix: exactly the daemon socketmap answer data', () => {
    for (const zone of [testZone, { ...testZone, requireSni: false }, { ...testZone, tlsrpt: true }]) {
      const d = decideEntry(result(enforce, zone), 'postfix');
      const ans = postfixAnswer(result(enforce, zone));
      assert.equal(ans.kind, 'ok');
      assert.deepEqual(d, { kind: 'entry', value: ans.kind === 'ok' ? ans.data : '' });
    }
    assert.deepEqual(decideEntry(result(enforce), 'postfix'), {
      kind: 'entry',
      value: 'secure match=mx1.a.test:.mx.a.test servername=hostname',
    });
  });

  it('postfix-tlsrpt: the TLSRPT form even when the zone has tlsrpt off', () => {
    const d = decideEntry(result(enforce), 'postfix-tlsrpt');
    const ans = postfixAnswer(result(enforce, { ...testZone, tlsrpt: true }));
    assert.equal(d.kind, 'entry');
    assert.equal(ans.kind, 'ok');
    if (d.kind === 'entry' && ans.kind === 'ok') {
      assert.equal(d.value, ans.data);
      assert.match(d.value, /policy_type=sts policy_domain=a\.test mx_host_pattern=mx1\.a\.test mx_host_pattern=\*\.mx\.a\.test/);
    }
  });

  it('exim-lsearch: exactly the Exim readsocket answer line, de-duplicated', () => {
    const d = decideEntry(result(enforce), 'exim-lsearch');
    assert.equal(d.kind, 'entry');
    assert.match(d.kind === 'entry' ? d.value : '', /^enforce \S/);
    assert.equal(`${d.kind === 'entry' ? d.value : ''}\n`, formatEximAnswer(eximAnswer(result(enforce))));
  });

  it('json: mode, patterns and the plain postfix answer', () => {
    const d = decideEntry(result(enforce), 'json');
    assert.equal(d.kind, 'entry');
    if (d.kind === 'entry') {
      assert.deepEqual(JSON.parse(d.value), {
        mode: 'enforce',
        mx: ['mx1.a.test', '*.mx.a.test'],
        postfix: 'secure match=mx1.a.test:.mx.a.test servername=hostname',
      });
    }
  });

  const none: ReadonlyArray<[string, Resolution, ZoneConfig]> = [
    ['mode none', policy('n.test', 'none', []), testZone],
    ['testing outside strict_testing', policy('t.test', 'testing', ['mx.t.test']), testZone],
    ['no policy', { kind: 'no-policy', domain: 'x.test', reason: 'nxdomain', source: 'lookup' }, testZone],
    ['dns error answered as no policy', { kind: 'dns-error', domain: 'x.test', code: 'ESERVFAIL', detail: 'x' }, testZone],
  ];
  for (const [name, r, zone] of none) {
    it(`no entry for ${name}, in every format`, () => {
      for (const f of MAP_FORMATS) assert.deepEqual(decideEntry(result(r, zone), f), { kind: 'none' });
    });
  }

  it('testing in a strict_testing zone is an entry', () => {
    const d = decideEntry(result(policy('t.test', 'testing', ['mx.t.test']), { ...testZone, strictTesting: true }), 'postfix');
    assert.deepEqual(d, { kind: 'entry', value: 'secure match=mx.t.test servername=hostname' });
  });

  it('a TEMP answer (dns_error: temp) is unrepresentable, not an entry', () => {
    const r: Resolution = { kind: 'dns-error', domain: 'x.test', code: 'ESERVFAIL', detail: 'x' };
    for (const f of MAP_FORMATS) assert.equal(decideEntry(result(r, { ...testZone, dnsErrorAnswer: 'temp' }), f).kind, 'unrepresentable');
  });
});

describe('renderMap / parseMap', () => {
  const entries: MapEntry[] = [
    { domain: 'b.test', value: 'secure match=mx.b.test servername=hostname' },
    { domain: 'a.test', value: 'secure match=.mx.a.test' },
    { domain: 'a-b.test', value: 'secure match=mx.a-b.test' },
  ];

  it('postfix: header, sorted exact keys, one line each; same input same bytes', () => {
    const text = renderMap(entries, 'postfix');
    assert.equal(
      text,
      `${MAP_HEADER}\na-b.test secure match=mx.a-b.test\na.test secure match=.mx.a.test\nb.test secure match=mx.b.test servername=hostname\n`,
    );
    assert.equal(renderMap([...entries].reverse(), 'postfix'), text);
    assert.ok(!/^\./m.test(text), 'never a .parent key');
  });

  it('exim-lsearch: "domain: value" lines', () => {
    const text = renderMap([{ domain: 'a.test', value: 'enforce mx.a.test:*.b.a.test' }], 'exim-lsearch');
    assert.equal(text, `${MAP_HEADER}\na.test: enforce mx.a.test:*.b.a.test\n`);
  });

  it('json: one sorted object', () => {
    const text = renderMap(
      [
        { domain: 'b.test', value: '{"mode":"enforce"}' },
        { domain: 'a.test', value: '{"mode":"testing"}' },
      ],
      'json',
    );
    assert.equal(text, '{\n  "a.test": {\n    "mode": "testing"\n  },\n  "b.test": {\n    "mode": "enforce"\n  }\n}\n');
  });

  it('an empty map is just the header (or {} for json)', () => {
    assert.equal(renderMap([], 'postfix'), `${MAP_HEADER}\n`);
    assert.equal(renderMap([], 'json'), '{}\n');
  });

  for (const format of MAP_FORMATS) {
    it(`${format}: parseMap reads back what renderMap wrote`, () => {
      const values = format === 'json' ? entries.map((e) => ({ domain: e.domain, value: JSON.stringify({ postfix: e.value }) })) : entries;
      const back = parseMap(renderMap(values, format), format);
      assert.deepEqual([...back.entries()].sort(), values.map((e) => [e.domain, e.value]).sort());
    });
  }

  it('parseMap ignores comments, continuation lines, garbage; first duplicate wins', () => {
    const m = parseMap('# c\na.test v1\n  continued\nb.test v2\na.test v3\nnovalue\n', 'postfix');
    assert.deepEqual(
      [...m.entries()],
      [
        ['a.test', 'v1'],
        ['b.test', 'v2'],
      ],
    );
    assert.equal(parseMap('not json', 'json').size, 0);
    assert.equal(parseMap('[1]', 'json').size, 0);
  });
});

describe('diffMaps / formatDiff', () => {
  it('classifies added, removed, changed and unchanged, sorted', () => {
    const before = new Map([
      ['keep.test', 'v'],
      ['gone.test', 'old'],
      ['edit.test', 'v1'],
    ]);
    const after = new Map([
      ['new2.test', 'n2'],
      ['keep.test', 'v'],
      ['edit.test', 'v2'],
      ['new1.test', 'n1'],
    ]);
    const d = diffMaps(before, after);
    assert.deepEqual(
      d.added.map((e) => e.domain),
      ['new1.test', 'new2.test'],
    );
    assert.deepEqual(d.removed, [{ domain: 'gone.test', value: 'old' }]);
    assert.deepEqual(d.changed, [{ domain: 'edit.test', before: 'v1', after: 'v2' }]);
    assert.equal(d.unchanged, 1);
    assert.equal(formatDiff(d), '+ new1.test n1\n+ new2.test n2\n- edit.test v1\n+ edit.test v2\n- gone.test old\n');
  });

  it('no difference prints nothing', () => {
    const m = new Map([['a.test', 'v']]);
    assert.equal(formatDiff(diffMaps(m, m)), '');
  });
});
