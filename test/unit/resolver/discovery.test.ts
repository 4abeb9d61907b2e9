/**
 * RFC 8461 §3.1 discovery, end to end over loopback: the real system DNS seam against the
 * real fake DNS server, and the pure selection step on its own.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createSystemDns } from '../../../src/resolver/dns.js';
import { discover, selectStsRecord, stsRecordName } from '../../../src/resolver/discovery.js';
import type { Discovery, DnsPort } from '../../../src/resolver/types.js';
import { FakeDns, type ZoneRecords } from '../../world/dns-server.js';

const TIMEOUT_MS = 2000;
const DEADLINE_SLACK_MS = 1500;
const SPF = 'v=spf1 -all';

/** Expected outcome, compared field by field with what matters for each kind. */
type Expect =
  | { kind: 'record'; id: string; extensions?: ReadonlyArray<readonly [string, string]> }
  | { kind: 'none'; reason: string; problems?: 'some' | 'none' }
  | { kind: 'error'; code: string };

interface Case {
  readonly title: string;
  /** Policy domain; its `_mta-sts` name gets `data`. */
  readonly domain: string;
  readonly data?: ZoneRecords[string];
  /** Extra zone data (e.g. a CNAME target). */
  readonly extra?: ZoneRecords;
  readonly expect: Expect;
}

const CASES: readonly Case[] = [
  { title: 'one record', domain: 'one.test', data: { TXT: [['v=STSv1; id=20240101']] }, expect: { kind: 'record', id: '20240101' } },
  {
    title: 'several strings are concatenated without separators',
    domain: 'split.test',
    data: { TXT: [['v=STS', 'v1; id=2024', '0101']] },
    expect: { kind: 'record', id: '20240101' },
  },
  {
    title: 'a split inside the version is still a candidate',
    domain: 'split2.test',
    data: { TXT: [['v=', 'STSv1;', 'id=abc;', 'ext=1']] },
    expect: { kind: 'record', id: 'abc', extensions: [['ext', '1']] },
  },
  {
    title: 'v=STSv10 is not a candidate',
    domain: 'v10.test',
    data: { TXT: [['v=STSv10; id=1']] },
    expect: { kind: 'none', reason: 'no-sts-record', problems: 'none' },
  },
  {
    title: 'v=STSv10 is dropped before counting',
    domain: 'v10plus.test',
    data: { TXT: [['v=STSv10; id=1'], ['v=STSv1; id=2']] },
    expect: { kind: 'record', id: '2' },
  },
  {
    title: 'two valid records are no usable record',
    domain: 'two.test',
    data: { TXT: [['v=STSv1; id=1'], ['v=STSv1; id=2']] },
    expect: { kind: 'none', reason: 'multiple-sts-records' },
  },
  {
    title: 'a valid record and an invalid candidate are still two',
    domain: 'twobad.test',
    data: { TXT: [['v=STSv1; id=1'], ['v=STSv1; id=']] },
    expect: { kind: 'none', reason: 'multiple-sts-records' },
  },
  {
    title: 'one valid record and an SPF record',
    domain: 'spf.test',
    data: { TXT: [[SPF], ['v=STSv1; id=spfok']] },
    expect: { kind: 'record', id: 'spfok' },
  },
  { title: 'only SPF', domain: 'spfonly.test', data: { TXT: [[SPF]] }, expect: { kind: 'none', reason: 'no-sts-record' } },
  {
    title: 'an invalid record (empty id)',
    domain: 'badid.test',
    data: { TXT: [['v=STSv1; id=']] },
    expect: { kind: 'none', reason: 'invalid-sts-record', problems: 'some' },
  },
  {
    title: 'an invalid record (id of 33 characters)',
    domain: 'longid.test',
    data: { TXT: [[`v=STSv1; id=${'a'.repeat(33)}`]] },
    expect: { kind: 'none', reason: 'invalid-sts-record', problems: 'some' },
  },
  {
    title: 'an invalid record (no id)',
    domain: 'noid.test',
    data: { TXT: [['v=STSv1; ext=1']] },
    expect: { kind: 'none', reason: 'invalid-sts-record', problems: 'some' },
  },
  {
    title: 'a CNAME is followed',
    domain: 'cname.test',
    data: { CNAME: 'sts.provider.test' },
    extra: { 'sts.provider.test': { TXT: [['v=STSv1; id=viacname']] } },
    expect: { kind: 'record', id: 'viacname' },
  },
  { title: 'NXDOMAIN', domain: 'missing.test', expect: { kind: 'none', reason: 'nxdomain', problems: 'none' } },
  {
    title: 'NODATA (the name has only an A record)',
    domain: 'nodata.test',
    data: { A: ['127.0.0.1'] },
    expect: { kind: 'none', reason: 'nodata', problems: 'none' },
  },
  { title: 'SERVFAIL is an error', domain: 'servfail.test', data: { behaviour: 'servfail' }, expect: { kind: 'error', code: 'ESERVFAIL' } },
  { title: 'REFUSED is an error', domain: 'refused.test', data: { behaviour: 'refused' }, expect: { kind: 'error', code: 'EREFUSED' } },
];

function check(found: Discovery, expect: Expect): void {
  assert.equal(found.kind, expect.kind, JSON.stringify(found));
  switch (expect.kind) {
    case 'record':
      assert.ok(found.kind === 'record');
      assert.equal(found.record.id, expect.id);
      if (expect.extensions !== undefined) assert.deepEqual(found.record.extensions, expect.extensions);
      break;
    case 'none':
      assert.ok(found.kind === 'none');
      assert.equal(found.reason, expect.reason);
      if (expect.problems === 'some') assert.ok(found.problems.length > 0);
      if (expect.problems === 'none') assert.equal(found.problems.length, 0);
      break;
    case 'error':
      assert.ok(found.kind === 'error');
      assert.equal(found.code, expect.code);
      assert.ok(found.message.length > 0);
      break;
    default: {
      const _never: never = expect;
      throw new Error(`unhandled ${String(_never)}`);
    }
  }
}

describe('discover over loopback DNS', () => {
  let fake: FakeDns;
  let dns: DnsPort;

  before(async () => {
    const records: Record<string, ZoneRecords[string]> = {};
    for (const c of CASES) {
      if (c.data !== undefined) records[stsRecordName(c.domain)] = c.data;
      Object.assign(records, c.extra ?? {});
    }
    records[stsRecordName('drop.test')] = { behaviour: 'drop' };
    fake = new FakeDns({ zones: ['test'], records });
    const { port } = await fake.start();
    dns = createSystemDns({ servers: [`127.0.0.1:${port}`] });
  });

  after(async () => {
    await fake.stop();
  });

  for (const c of CASES) {
    it(c.title, async () => {
      check(await discover(dns, c.domain, TIMEOUT_MS), c.expect);
    });
  }

  it('keeps every TXT record as received, non-STS ones included', async () => {
    const found = await discover(dns, 'spf.test', TIMEOUT_MS);
    assert.deepEqual(found.kind !== 'error' && found.strings, [[SPF], ['v=STSv1; id=spfok']]);
    assert.equal(found.kind === 'record' && found.record.text, 'v=STSv1; id=spfok');
    const split = await discover(dns, 'split.test', TIMEOUT_MS);
    assert.deepEqual(split.kind !== 'error' && split.strings, [['v=STS', 'v1; id=2024', '0101']]);
  });

  it('a timeout is an error, reported within the deadline', async () => {
    const timeoutMs = 700;
    const start = Date.now();
    const found = await discover(dns, 'drop.test', timeoutMs);
    const ms = Date.now() - start;
    check(found, { kind: 'error', code: 'ETIMEOUT' });
    assert.ok(ms < timeoutMs + DEADLINE_SLACK_MS, `took ${ms} ms`);
  });
});

describe('selectStsRecord (pure)', () => {
  it('is what discover applies to the records found', () => {
    check(selectStsRecord([['v=STSv1;', ' id=x']]), { kind: 'record', id: 'x' });
    check(selectStsRecord([]), { kind: 'none', reason: 'no-sts-record' });
    // Only a candidate counts: leading whitespace or case changes disqualify.
    check(selectStsRecord([[' v=STSv1; id=x']]), { kind: 'none', reason: 'no-sts-record' });
    check(selectStsRecord([['V=STSV1; id=x']]), { kind: 'none', reason: 'no-sts-record' });
  });
});

describe('discover with a misbehaving DnsPort', () => {
  it('turns a thrown error into an error outcome, never a rejection', async () => {
    const throwing: DnsPort = {
      resolveTxt: () => Promise.reject(Object.assign(new Error('boom'), { code: 'EBOOM' })),
      lookupAddresses: () => Promise.resolve([]),
    };
    check(await discover(throwing, 'x.test', 100), { kind: 'error', code: 'EBOOM' });
  });

  it('queries _mta-sts.<domain>', async () => {
    const asked: string[] = [];
    const recording: DnsPort = {
      resolveTxt: (name) => {
        asked.push(name);
        return Promise.resolve({ kind: 'nxdomain' });
      },
      lookupAddresses: () => Promise.resolve([]),
    };
    check(await discover(recording, 'example.test', 100), { kind: 'none', reason: 'nxdomain' });
    assert.deepEqual(asked, ['_mta-sts.example.test']);
  });
});
