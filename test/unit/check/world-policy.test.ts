/**
 * `check` against the test world, the TXT record and the policy host: each check both sides,
 * with real DNS answers from the project's DNS server and a real HTTPS policy host presenting
 * certificates from the test CA.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CheckReport, DomainReport } from '../../../src/check/types.js';
import { CheckWorld, one, policyText, results, serves } from './world.js';

const MX = 'mx1.ok.test';
const GOOD = policyText('enforce', [MX]);
let world: CheckWorld;
let report: CheckReport;

function domain(name: string): DomainReport {
  const d = report.domains.find((x) => x.domain === name);
  assert.ok(d !== undefined, `no report for ${name}`);
  return d;
}

/** A domain served like ok.test but with its own TXT and policy host behaviour. */
function site(name: string, over: Parameters<CheckWorld['add']>[1] = {}): void {
  world.add(name, {
    sts: ['v=STSv1; id=1'],
    tlsrpt: ['v=TLSRPTv1; rua=mailto:r@ok.test'],
    policyHost: serves(GOOD),
    mx: { [MX]: { preference: 10 } },
    ...over,
  });
}

before(async () => {
  world = await CheckWorld.start();
  await world.startMx({ address: '127.0.0.2', behaviour: 'starttls', names: [MX] });
  world.add('ok.test', {
    sts: ['v=STSv1; id=20260101'],
    tlsrpt: ['v=TLSRPTv1; rua=mailto:r@ok.test'],
    policyHost: serves(GOOD),
    mx: { [MX]: { preference: 10, address: '127.0.0.2' } },
  });
  // sts-txt
  site('nosts.test', { sts: ['some other record'] });
  site('two.test', { sts: ['v=STSv1; id=1', 'v=STSv1; id=2'] });
  site('trap.test', { sts: [' v=STSv1; id=1'] });
  site('split.test', { sts: [['v=STSv1; ', 'id=20260101']] });
  site('badid.test', { sts: ['v=STSv1; id=2026-01-01'] });
  site('dupe.test', { sts: ['v=STSv1; id=1; id=2'] });
  // policy-dns
  world.add('nohost.test', { sts: ['v=STSv1; id=1'], mx: { [MX]: { preference: 10 } } });
  // policy-tls: a TLS 1.0 only policy host on its own address
  const old = await world.startPolicyListener('127.0.0.9', { minVersion: 'TLSv1', maxVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0' });
  old.setHost('mta-sts.tls10.test', serves(GOOD));
  site('tls10.test', { records: { 'mta-sts.tls10.test': { A: ['127.0.0.9'] } } });
  // policy-cert
  site('expired.test', { policyHost: { cert: { kind: 'expired' }, ...serves(GOOD) } });
  site('untrusted.test', { policyHost: { cert: { kind: 'untrusted' }, ...serves(GOOD) } });
  site('wrongname.test', { policyHost: { cert: { names: ['www.wrongname.test'] }, ...serves(GOOD) } });
  site('cnonly.test', { policyHost: { cert: { kind: 'cn-only' }, ...serves(GOOD) } });
  // policy-fetch
  site('redirect.test', { policyHost: { response: { kind: 'redirect', status: 301, location: 'https://www.redirect.test/mta-sts.txt' } } });
  site('missing.test', { policyHost: { response: { kind: 'body', status: 404, body: 'not found\n' } } });
  site('html.test', { policyHost: serves(GOOD, { contentType: 'text/html' }) });
  site('huge.test', { policyHost: { response: { kind: 'huge', bytes: 70 * 1024 } } });
  site('large.test', {
    policyHost: serves(`${GOOD}${Array.from({ length: 60 }, (_, i) => `comment${i}: ${'x'.repeat(80)}`).join('\n')}\n`),
  });
  site('latin1.test', {
    policyHost: { response: { kind: 'body', bodyBase64: Buffer.from(`${GOOD}x: caf\xe9\n`, 'latin1').toString('base64') } },
  });
  // policy-consistent: a second address serving another policy
  const second = await world.startPolicyListener('127.0.0.10');
  second.setHost('mta-sts.twoaddr.test', serves(policyText('testing', [MX])));
  world.https.setHost('mta-sts.twoaddr.test', serves(GOOD));
  site('twoaddr.test', { policyHost: serves(GOOD), records: { 'mta-sts.twoaddr.test': { A: ['127.0.0.1', '127.0.0.10'] } } });
  second.setHost('mta-sts.sameaddr.test', serves(GOOD));
  site('sameaddr.test', { records: { 'mta-sts.sameaddr.test': { A: ['127.0.0.1', '127.0.0.10'] } } });
  // policy-lines
  site('syntax.test', { policyHost: serves('version: STSv1\nmode enforce\nmx: mx1.ok.test\nmax_age: 604800\n') });
  site('typo.test', { policyHost: serves(`${GOOD}max-age: 86400\n`) });
  site('badmx.test', { policyHost: serves('version: STSv1\nmode: enforce\nmx: mx1.*.test\nmax_age: 604800\n') });
  // policy-max-age
  site('longage.test', { policyHost: serves(policyText('enforce', [MX], 40_000_000)) });
  site('shortage.test', { policyHost: serves(policyText('testing', [MX], 3600)) });
  site('weekage.test', { policyHost: serves(policyText('enforce', [MX], 172_800)) });
  // policy-mode
  site('none.test', { policyHost: serves('version: STSv1\nmode: none\nmax_age: 86400\n') });
  site('testing.test', { policyHost: serves(policyText('testing', [MX])) });
  report = await world.run(
    [
      'ok.test',
      'nosts.test',
      'two.test',
      'trap.test',
      'split.test',
      'badid.test',
      'dupe.test',
      'nohost.test',
      'tls10.test',
      'expired.test',
      'untrusted.test',
      'wrongname.test',
      'cnonly.test',
      'redirect.test',
      'missing.test',
      'html.test',
      'huge.test',
      'large.test',
      'latin1.test',
      'twoaddr.test',
      'sameaddr.test',
      'syntax.test',
      'typo.test',
      'badmx.test',
      'longage.test',
      'shortage.test',
      'weekage.test',
      'none.test',
      'testing.test',
    ],
    // No host here hangs, so every step gets its default bound (a conversation 20 s, a DNS
    // question 5 s) at no cost: a third of 20 s was not always enough for 29 domains, 4 at a
    // time, on a loaded 2-core machine.
    { timeoutMs: 60_000 },
  );
});
after(() => world.close());

describe('check: a domain set up right', () => {
  it('passes every check, in report order, with the evidence', () => {
    const d = domain('ok.test');
    assert.equal(
      d.result,
      'pass',
      JSON.stringify(
        d.checks.filter((c) => !c.ok),
        null,
        2,
      ),
    );
    assert.deepEqual(
      d.checks.map((c) => c.id),
      [
        'sts-txt',
        'policy-dns',
        'policy-tls',
        'policy-cert',
        'policy-fetch',
        'policy-lines',
        'policy-max-age',
        'policy-mode',
        'mx-dns',
        'mx-coverage',
        'mx-stale-pattern',
        'mx-address',
        'mx-starttls',
        'mx-tls',
        'mx-cert',
        'dane-tlsa',
        'tlsrpt-txt',
        'sender-view',
      ],
    );
    assert.equal(one(d, 'sts-txt').evidence['id'], '20260101');
    const cert = one(d, 'policy-cert', '127.0.0.1').evidence;
    assert.deepEqual(cert['dnsNames'], ['mta-sts.ok.test']);
    assert.equal(cert['chainError'], null);
    assert.ok((cert['daysLeft'] as number) > 300);
    assert.equal(one(d, 'policy-fetch', '127.0.0.1').evidence['contentType'], 'text/plain');
  });
});

describe('sts-txt', () => {
  it('fails without a record, naming what was found', () => {
    const c = one(domain('nosts.test'), 'sts-txt');
    assert.equal(c.level, 'error');
    assert.match(c.message, /no MTA-STS record/);
  });
  it('fails with two records: senders ignore both', () => {
    assert.match(one(domain('two.test'), 'sts-txt').message, /2 MTA-STS records/);
  });
  it('explains the whitespace trap that makes senders discard a record', () => {
    const c = one(domain('trap.test'), 'sts-txt');
    assert.equal(c.level, 'error');
    assert.match(c.message, /whitespace before "v=STSv1"/);
  });
  it('joins a record split into strings, as senders do', () => {
    assert.equal(one(domain('split.test'), 'sts-txt').level, 'info');
  });
  it('fails an id that is not 1 to 32 letters or digits, with the parser code', () => {
    const c = one(domain('badid.test'), 'sts-txt');
    assert.equal(c.level, 'error');
    assert.match(c.message, /ESTS_ID_INVALID/);
  });
  it('warns about a duplicated field (the first counts)', () => {
    const c = one(domain('dupe.test'), 'sts-txt');
    assert.equal(c.level, 'warning');
    assert.match(c.message, /ESTS_DUPLICATE_FIELD/);
  });
});

describe('policy host', () => {
  it('policy-dns fails without an address for mta-sts.<domain>', () => {
    const d = domain('nohost.test');
    assert.equal(one(d, 'policy-dns').level, 'error');
    assert.equal(results(d, 'policy-fetch').length, 0);
  });
  it('policy-tls fails on a TLS 1.0 only host and passes on TLS 1.2+', () => {
    const c = one(domain('tls10.test'), 'policy-tls', '127.0.0.9');
    assert.equal(c.level, 'error');
    assert.match(c.message, /handshake failed/);
    assert.equal(one(domain('ok.test'), 'policy-tls', '127.0.0.1').level, 'info');
  });
  for (const [name, pattern] of [
    ['expired.test', /CERT_HAS_EXPIRED.*expired 1 day/],
    ['untrusted.test', /chain does not verify/],
    ['wrongname.test', /not valid for mta-sts\.wrongname\.test/],
    ['cnonly.test', /no DNS subjectAltName/],
  ] as const) {
    it(`policy-cert fails: ${name}`, () => {
      const c = one(domain(name), 'policy-cert', '127.0.0.1');
      assert.equal(c.level, 'error');
      assert.match(c.message, pattern);
    });
  }
  it('policy-fetch fails a redirect, naming where it points', () => {
    const c = one(domain('redirect.test'), 'policy-fetch', '127.0.0.1');
    assert.equal(c.level, 'error');
    assert.match(c.message, /301 redirect to https:\/\/www\.redirect\.test/);
    assert.equal(c.evidence['location'], 'https://www.redirect.test/mta-sts.txt');
  });
  it('policy-fetch fails a 404, a text/html answer, a body over 64 KiB and invalid UTF-8', () => {
    assert.match(one(domain('missing.test'), 'policy-fetch', '127.0.0.1').message, /HTTP 404/);
    assert.match(one(domain('html.test'), 'policy-fetch', '127.0.0.1').message, /text\/html/);
    assert.match(one(domain('huge.test'), 'policy-fetch', '127.0.0.1').message, /over 65536 bytes/);
    assert.match(one(domain('latin1.test'), 'policy-fetch', '127.0.0.1').message, /not valid UTF-8/);
  });
  it('policy-fetch warns about a body over 4 KiB', () => {
    const c = one(domain('large.test'), 'policy-fetch', '127.0.0.1');
    assert.equal(c.level, 'warning');
    assert.ok((c.evidence['bytes'] as number) > 4096);
  });
  it('policy-consistent: two addresses serving different policies warn, the same policy passes', () => {
    const c = one(domain('twoaddr.test'), 'policy-consistent');
    assert.equal(c.level, 'warning');
    assert.equal((c.evidence['bodies'] as unknown[]).length, 2);
    assert.equal(one(domain('sameaddr.test'), 'policy-consistent').level, 'info');
    assert.equal(results(domain('ok.test'), 'policy-consistent').length, 0, 'one address: nothing to compare');
  });
});

describe('policy file', () => {
  it('policy-lines fails a line without a colon, with its line number and code', () => {
    const c = one(domain('syntax.test'), 'policy-lines');
    assert.equal(c.level, 'error');
    assert.match(c.message, /line 2: .*EPOLICY_LINE_SYNTAX/);
  });
  it('policy-lines fails a bad mx pattern', () => {
    assert.match(one(domain('badmx.test'), 'policy-lines').message, /EPOLICY_MX_INVALID/);
  });
  it('policy-lines warns about an unknown key (a typo of max_age)', () => {
    const c = one(domain('typo.test'), 'policy-lines');
    assert.equal(c.level, 'warning');
    assert.match(c.message, /unknown key\(s\) max-age/);
  });
  it('policy-max-age: over 31557600 is an error, under a day and under a week when enforcing are warnings', () => {
    assert.equal(one(domain('longage.test'), 'policy-max-age').level, 'error');
    assert.match(one(domain('shortage.test'), 'policy-max-age').message, /under one day/);
    assert.match(one(domain('weekage.test'), 'policy-max-age').message, /under 7 days/);
    assert.equal(one(domain('ok.test'), 'policy-max-age').level, 'info');
  });
  it('policy-mode: none warns, testing and enforce pass', () => {
    assert.equal(one(domain('none.test'), 'policy-mode').level, 'warning');
    assert.equal(one(domain('testing.test'), 'policy-mode').level, 'info');
    assert.equal(one(domain('ok.test'), 'policy-mode').level, 'info');
  });
  it('a policy that does not parse stops the checks that need it', () => {
    const d = domain('syntax.test');
    for (const id of ['policy-max-age', 'policy-mode', 'mx-coverage', 'sender-view']) assert.equal(results(d, id).length, 0, id);
  });
});
