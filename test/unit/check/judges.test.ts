/**
 * The pure parts of `check`: record parsers, the judges on hand-made facts, --state, the
 * sender's view, results and exit statuses. No network (the DNS port is faked where used).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CheckDns, DnsAnswer } from '../../../src/check/dns.js';
import { judgeCert, namesMatchingPatterns, type CertFacts } from '../../../src/check/cert.js';
import { MAX_MX_CHECKED } from '../../../src/check/facts.js';
import type { HostView } from '../../../src/check/judge-mx.js';
import { judgeMaxAge } from '../../../src/check/judge-policy.js';
import { judgeStsTxt, judgeTlsrpt, nearMissReason } from '../../../src/check/judge-records.js';
import { runCheck } from '../../../src/check/run.js';
import { hostAction, judgeSenderView } from '../../../src/check/sender-view.js';
import { judgeMode, judgePolicyId, MAX_IDS_PER_DOMAIN, nextDomainState, type DomainState } from '../../../src/check/state.js';
import { parseTlsrptRecord } from '../../../src/check/tlsrpt-record.js';
import { domainResult, exitStatus, finding, pass, sortResults, type CheckReport, type DomainResult } from '../../../src/check/types.js';
import type { StsPolicy } from '../../../src/policy/types.js';

const DAY = 86_400_000;
const NOW = Date.parse('2026-12-05T00:00:00Z');

function policy(mode: StsPolicy['mode'], maxAge: number, mx: string[] = ['mx.example.test'], written?: string): StsPolicy {
  return {
    version: 'STSv1',
    mode,
    maxAge,
    mx,
    lines: [['version', 'STSv1'], ['mode', mode], ['max_age', written ?? String(maxAge)], ...mx.map((m) => ['mx', m] as const)],
  };
}

function host(
  name: string,
  verified: boolean[],
  opts: Partial<Pick<HostView, 'matchesPolicy'>> & { dane?: 'match' | 'no-match' | 'none' } = {},
): HostView {
  return {
    host: name,
    matchesPolicy: opts.matchesPolicy ?? true,
    addresses: verified.map((v, i) => ({
      address: `192.0.2.${i + 1}`,
      verified: v,
      dane: opts.dane ?? 'none',
      ...(v ? {} : { problem: 'STARTTLS not offered' }),
    })),
  };
}

describe('TLSRPT record', () => {
  it('reads rua URIs (mailto: and https:) and extensions', () => {
    const r = parseTlsrptRecord('v=TLSRPTv1; rua=mailto:a@example.test , https://r.example.test/x; ext.1=v');
    assert.ok(r.ok);
    assert.deepEqual(r.value.rua, ['mailto:a@example.test', 'https://r.example.test/x']);
    assert.deepEqual(r.value.extensions, [['ext.1', 'v']]);
  });
  for (const [record, code] of [
    ['v=TLSRPTv1;', 'ETLSRPT_RUA_MISSING'],
    ['v=TLSRPTv1; rua=ftp://x.example.test/', 'ETLSRPT_RUA_SCHEME'],
    ['v=TLSRPTv1; rua=mailto:nobody', 'ETLSRPT_RUA_INVALID'],
    ['v=TLSRPTv1; rua=not a uri', 'ETLSRPT_RUA_INVALID'],
    ['v=TLSRPTv1; rua=mailto:a@b.test; junk', 'ETLSRPT_FIELD_SYNTAX'],
  ] as const) {
    it(`refuses ${JSON.stringify(record)} with ${code}`, () => {
      const r = parseTlsrptRecord(record);
      assert.equal(r.ok, false);
      assert.ok(!r.ok && r.problems.some((p) => p.code === code), JSON.stringify(r));
    });
  }
  it('a duplicated rua is a warning (the first counts)', () => {
    const r = parseTlsrptRecord('v=TLSRPTv1; rua=mailto:a@b.test; rua=mailto:c@d.test');
    assert.ok(r.ok && r.warnings[0]?.code === 'ETLSRPT_DUPLICATE_FIELD' && r.value.rua[0] === 'mailto:a@b.test');
  });
  it('tlsrpt-txt on answers: a DNS error is an error', () => {
    assert.equal(judgeTlsrpt('example.test', { kind: 'error', code: 'ESERVFAIL', message: 'x' }, 'enforce').level, 'error');
    assert.equal(judgeTlsrpt('example.test', { kind: 'nxdomain' }, undefined).level, 'info');
  });
});

describe('sts-txt traps', () => {
  for (const [text, reason] of [
    [' v=STSv1; id=1', /whitespace before/],
    ['V=STSv1; id=1', /case-sensitive/],
    ['v=STSv1 id=1', /no ";" right after/],
    ['v=STSv1', /nothing after/],
  ] as const) {
    it(`explains ${JSON.stringify(text)}`, () => assert.match(nearMissReason(text) ?? '', reason));
  }
  it('a valid record beside a discarded look-alike is a warning', () => {
    const r = judgeStsTxt('example.test', { kind: 'records', records: [['v=STSv1; id=1'], ['v=STSv1 id=2']] });
    assert.equal(r.result.level, 'warning');
    assert.equal(r.record?.id, '1');
  });
  it('a DNS error is an error that names the code', () => {
    assert.match(judgeStsTxt('example.test', { kind: 'error', code: 'ETIMEOUT', message: 'x' }).result.message, /ETIMEOUT/);
  });
});

describe('certificates', () => {
  const cert = (days: number, names = ['mx.example.test']): CertFacts => ({
    subject: 'CN=x',
    issuer: 'CN=ca',
    dnsNames: names,
    notBefore: new Date(NOW - 30 * DAY).toISOString(),
    notAfter: new Date(NOW + days * DAY + 60_000).toISOString(),
    sha256: 'AA',
    chainError: null,
  });
  it('under 14 days left is a warning, under 3 an error, otherwise a pass with the days left', () => {
    assert.equal(judgeCert('mx-cert', 'mx.example.test', cert(20), NOW, 's').level, 'info');
    const soon = judgeCert('mx-cert', 'mx.example.test', cert(13), NOW, 's');
    assert.equal(soon.level, 'warning');
    assert.equal(soon.evidence['daysLeft'], 13);
    assert.equal(judgeCert('policy-cert', 'mx.example.test', cert(2), NOW, 's').level, 'error');
  });
  it('names: a SAN DNS-ID only, a wildcard for one label; names that could match a policy pattern', () => {
    assert.equal(judgeCert('mx-cert', 'mx.example.test', cert(100, ['*.example.test']), NOW, 's').level, 'info');
    assert.equal(judgeCert('mx-cert', 'a.mx.example.test', cert(100, ['*.example.test']), NOW, 's').level, 'error');
    assert.equal(judgeCert('mx-cert', 'mx.example.test', cert(100, []), NOW, 's').level, 'error');
    assert.deepEqual(namesMatchingPatterns(cert(100, ['*.example.test', 'mail.other.test']), ['mx1.example.test']), ['*.example.test']);
    assert.deepEqual(namesMatchingPatterns(cert(100, ['mx1.example.test']), ['*.example.test']), ['mx1.example.test']);
    assert.deepEqual(namesMatchingPatterns(cert(100, ['*.example.test']), ['*.example.test']), ['*.example.test']);
    assert.deepEqual(namesMatchingPatterns(cert(100, ['mx1.other.test']), ['*.example.test']), []);
  });
});

describe('policy-max-age', () => {
  it('judges the value as written, at each bound', () => {
    assert.equal(judgeMaxAge(policy('enforce', 31557600, undefined, '31557601')).level, 'error');
    assert.equal(judgeMaxAge(policy('enforce', 31557600)).level, 'info');
    assert.equal(judgeMaxAge(policy('testing', 86399)).level, 'warning');
    assert.equal(judgeMaxAge(policy('testing', 86400)).level, 'info');
    assert.equal(judgeMaxAge(policy('enforce', 604799)).level, 'warning');
    assert.equal(judgeMaxAge(policy('enforce', 604800)).level, 'info');
  });
});

describe('--state: policy-id and how long testing lasts', () => {
  const before: DomainState = { policies: { a1: { sha256: 'aaa', firstSeen: '2026-11-01T00:00:00.000Z' } } };
  it('the same id with another body is an error, and stays one until the id changes', () => {
    assert.equal(judgePolicyId('a1', 'bbb', before).level, 'error');
    const next = nextDomainState(before, 'a1', 'bbb', 'enforce', NOW);
    assert.equal(next.policies['a1']?.sha256, 'aaa', 'the first body under an id is kept');
    assert.equal(judgePolicyId('a1', 'bbb', next).level, 'error');
    const bumped = nextDomainState(next, 'a2', 'bbb', 'enforce', NOW);
    assert.equal(judgePolicyId('a2', 'bbb', bumped).level, 'info');
  });
  it('first run, unchanged and new id are information', () => {
    assert.match(judgePolicyId('a1', 'aaa', undefined).message, /first run/);
    assert.match(judgePolicyId('a1', 'aaa', before).message, /unchanged/);
    assert.match(judgePolicyId('a9', 'ccc', before).message, /new id a9/);
  });
  it('testing for more than 30 days is a warning; the clock starts at the first run that sees it', () => {
    const first = nextDomainState(undefined, 'a1', 'aaa', 'testing', NOW - 31 * DAY);
    assert.equal(first.testingSince, new Date(NOW - 31 * DAY).toISOString());
    assert.equal(judgeMode('testing', first.testingSince, NOW, true).level, 'warning');
    assert.equal(judgeMode('testing', first.testingSince, NOW - 2 * DAY, true).level, 'info');
    assert.equal(nextDomainState(first, 'a1', 'aaa', 'enforce', NOW).testingSince, undefined, 'enforce resets it');
    assert.match(judgeMode('testing', undefined, NOW, false).message, /--state/);
    assert.equal(judgeMode('none', undefined, NOW, false).level, 'warning');
  });
  it('keeps at most MAX_IDS_PER_DOMAIN ids, the newest', () => {
    let s: DomainState | undefined;
    for (let i = 0; i < MAX_IDS_PER_DOMAIN + 5; i++) s = nextDomainState(s, `id${i}`, `h${i}`, 'enforce', NOW + i * 1000);
    assert.equal(Object.keys(s?.policies ?? {}).length, MAX_IDS_PER_DOMAIN);
    assert.ok(s?.policies[`id${MAX_IDS_PER_DOMAIN + 4}`] !== undefined && s.policies['id0'] === undefined);
  });
});

describe("the sender's view", () => {
  it('enforce: no host usable is an error, some is a warning, all is information', () => {
    const p = policy('enforce', 604800);
    assert.equal(judgeSenderView(p, [host('a', [false]), host('b', [false])])?.level, 'error');
    assert.equal(judgeSenderView(p, [host('a', [true]), host('b', [false])])?.level, 'warning');
    assert.equal(judgeSenderView(p, [host('a', [true, false])])?.level, 'warning', 'an address that fails delays mail');
    assert.equal(judgeSenderView(p, [host('a', [true])])?.level, 'info');
    assert.equal(judgeSenderView(p, []), undefined);
  });
  it('a host outside the policy is refused under enforce, reported under testing', () => {
    assert.equal(hostAction('enforce', host('a', [true], { matchesPolicy: false })).action, 'refuse');
    assert.equal(hostAction('testing', host('a', [true], { matchesPolicy: false })).action, 'deliver-and-report');
    assert.equal(hostAction('none', host('a', [false])).action, 'no-mta-sts');
  });
  it('DANE wins: a published TLSA that matches nothing refuses the host whatever the mode', () => {
    assert.equal(hostAction('testing', host('a', [true], { dane: 'no-match' })).action, 'refuse-dane');
    assert.equal(judgeSenderView(policy('none', 86400), [host('a', [true], { dane: 'no-match' })])?.level, 'error');
  });
});

describe('results and exit statuses', () => {
  const report = (...results: DomainResult[]): CheckReport => ({
    domains: results.map((result, i) => ({ domain: `d${i}.test`, result, checks: [] })),
  });
  it('exit 0 when all pass (warnings allowed), 1 on a failure or with --strict on a warning, 2 when a domain could not run', () => {
    assert.equal(exitStatus(report('pass', 'warn'), false), 0);
    assert.equal(exitStatus(report('pass', 'warn'), true), 1);
    assert.equal(exitStatus(report('pass', 'fail'), false), 1);
    assert.equal(exitStatus(report('fail', 'error'), false), 2);
    assert.equal(exitStatus(report(), true), 0);
  });
  it('a domain result is its worst finding, or error when it could not run', () => {
    assert.equal(domainResult([pass('sts-txt', 'x'), finding('mx-dns', 'warning', 'y')], undefined), 'warn');
    assert.equal(domainResult([finding('mx-dns', 'warning', 'y'), finding('mx-cert', 'error', 'z')], undefined), 'fail');
    assert.equal(domainResult([], { code: 'ECHECK_TIMEOUT', message: '' }), 'error');
    assert.equal(pass('sts-txt', 'x').ok, true);
    assert.equal(finding('sts-txt', 'warning', 'x').ok, false);
  });
  it('sorts by the documented id order, then subject, stably', () => {
    const sorted = sortResults([
      finding('tlsrpt-txt', 'info', 'a'),
      pass('mx-cert', 'b', {}, 'mx2 1'),
      pass('mx-cert', 'c', {}, 'mx1 1'),
      pass('sts-txt', 'd'),
    ]);
    assert.deepEqual(
      sorted.map((c) => c.message),
      ['d', 'c', 'b', 'a'],
    );
  });
});

describe('the run without a network', () => {
  const answers = (over: Partial<CheckDns>): CheckDns => ({
    txt: async () => ({ kind: 'nxdomain' }),
    mx: async () => ({ kind: 'nxdomain' }),
    addresses: async () => ({ kind: 'nodata' }),
    tlsa: async () => ({ kind: 'nxdomain', secure: false, owner: 'x', ttl: 0 }),
    ...over,
  });
  it(`checks the first ${MAX_MX_CHECKED} MX hosts by preference and lists the rest as not checked`, async () => {
    const mx: DnsAnswer<{ preference: number; exchange: string }> = {
      kind: 'records',
      records: Array.from({ length: 12 }, (_, i) => ({ preference: 100 - i, exchange: `mx${i}.example.test` })),
    };
    const { report } = await runCheck(['example.test'], { dns: answers({ mx: async () => mx }), mxPort: 25, timeoutMs: 5000 });
    const d = report.domains[0]!;
    assert.equal(d.checks.filter((c) => c.id === 'mx-address').length, MAX_MX_CHECKED);
    const notChecked = d.checks.find((c) => c.id === 'mx-not-checked');
    assert.deepEqual(
      (notChecked?.evidence['hosts'] as Array<{ exchange: string }>).map((h) => h.exchange),
      ['mx1.example.test', 'mx0.example.test'],
    );
    assert.equal(notChecked?.level, 'info');
  });
  it('a resolver this host cannot reach makes the domain an error (ECHECK_LOCAL), not a finding about it', async () => {
    const refused = async (): Promise<DnsAnswer<never>> => ({
      kind: 'error',
      code: 'ECONNREFUSED',
      message: 'could not contact DNS servers',
    });
    const { report } = await runCheck(['example.test'], {
      dns: answers({ txt: refused, mx: refused, addresses: refused }),
      mxPort: 25,
      timeoutMs: 5000,
    });
    assert.equal(report.domains[0]?.result, 'error');
    assert.equal(report.domains[0]?.error?.code, 'ECHECK_LOCAL');
  });
  it('mx-dns: NXDOMAIN is an error and no host is checked; NODATA checks the domain itself (implicit MX)', async () => {
    const nx = (await runCheck(['example.test'], { dns: answers({}), mxPort: 25, timeoutMs: 5000 })).report.domains[0]!;
    assert.equal(nx.checks.find((c) => c.id === 'mx-dns')?.level, 'error');
    assert.equal(nx.checks.filter((c) => c.id === 'mx-address').length, 0);
    const nodata = (
      await runCheck(['example.test'], { dns: answers({ mx: async () => ({ kind: 'nodata' }) }), mxPort: 25, timeoutMs: 5000 })
    ).report.domains[0]!;
    assert.equal(nodata.checks.find((c) => c.id === 'mx-dns')?.level, 'warning');
    assert.equal(nodata.checks.find((c) => c.id === 'mx-address')?.subject, 'example.test');
    const err = (
      await runCheck(['example.test'], {
        dns: answers({ mx: async () => ({ kind: 'error', code: 'ESERVFAIL', message: 'x' }) }),
        mxPort: 25,
        timeoutMs: 5000,
      })
    ).report.domains[0]!;
    assert.match(err.checks.find((c) => c.id === 'mx-dns')?.message ?? '', /ESERVFAIL/);
  });
  it('an argument that is not a domain is an error (ECHECK_DOMAIN); the others still run', async () => {
    const { report } = await runCheck(['192.0.2.1', 'example.test'], { dns: answers({}), mxPort: 25, timeoutMs: 5000 });
    assert.deepEqual(
      report.domains.map((d) => [d.domain, d.result, d.error?.code]),
      [
        ['192.0.2.1', 'error', 'ECHECK_DOMAIN'],
        ['example.test', 'fail', undefined],
      ],
    );
  });
  it('returns the next state only with --state', async () => {
    assert.equal((await runCheck(['example.test'], { dns: answers({}), mxPort: 25, timeoutMs: 5000 })).state, undefined);
    const withState = await runCheck(['example.test'], {
      dns: answers({}),
      mxPort: 25,
      timeoutMs: 5000,
      state: { version: 1, domains: {} },
    });
    assert.deepEqual(Object.keys(withState.state?.domains ?? {}), ['example.test']);
  });
});
