/**
 * `check` against the test world, the MX side: real SMTP servers on loopback (STARTTLS or not,
 * refused, TLS 1.0 only, certificates valid, expired, untrusted, for another name, CN only,
 * hanging), DANE matching against the presented certificate, TLSRPT, the sender's view, and a
 * hanging MX host that cannot stall the run.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import type { CheckReport, DomainReport } from '../../../src/check/types.js';
import { CheckWorld, one, policyText, results, serves } from './world.js';

const VALID_NAMES = [
  'mx1.ok.test',
  'mx.dane1.test',
  'mx.dane2.test',
  'mx.dane3.test',
  'mx.dane4.test',
  'mx.dane5.test',
  'mx.dane6.test',
  'mx.dane7.test',
];
let world: CheckWorld;
let report: CheckReport;
let spkiSha256: Buffer;
let certSha256: Buffer;

function domain(name: string): DomainReport {
  const d = report.domains.find((x) => x.domain === name);
  assert.ok(d !== undefined, `no report for ${name}`);
  return d;
}

/** A domain with one MX host (at `address`), an enforce policy naming it, and TLSRPT. */
function site(
  name: string,
  mx: Record<string, { preference: number; address?: string }>,
  over: Parameters<CheckWorld['add']>[1] = {},
): void {
  world.add(name, {
    sts: ['v=STSv1; id=1'],
    tlsrpt: ['v=TLSRPTv1; rua=mailto:r@ok.test'],
    policyHost: serves(policyText('enforce', Object.keys(mx))),
    mx,
    ...over,
  });
}

/**
 * The wall-clock cost of a run of `domains` on this machine, now, with nothing hanging: a
 * minute of --timeout, so every step has its default bound (a conversation 20 s, a DNS question
 * 5 s) and the run ends when the last host has answered. The tests with a hanging host size
 * their --timeout from it: under load every conversation is slower alike.
 */
async function baselineMs(domains: readonly string[]): Promise<number> {
  const started = Date.now();
  const r = await world.run(domains, { timeoutMs: 60_000 });
  const ms = Date.now() - started;
  for (const d of r.domains) assert.equal(d.error, undefined, `the baseline run of ${d.domain} ended: ${JSON.stringify(d.error)}`);
  return ms;
}

/**
 * --timeout for a run with a hanging host: `LOAD_FACTOR` times the cost of the same run without
 * it, at least `floorMs`. The run's defaults give a conversation a third of --timeout and a DNS
 * question a sixth, so the hosts that answer get three times what they needed in the baseline,
 * and the hanging host still costs a third of the run, not all of it. The floor is for a load
 * that rises after the baseline was measured.
 */
const LOAD_FACTOR = 9;
function timeoutFor(baseline: number, floorMs: number): number {
  return Math.max(floorMs, Math.ceil(LOAD_FACTOR * baseline));
}

function tlsa(
  usage: number,
  selector: number,
  matchingType: number,
  data: Buffer,
): { usage: number; selector: number; matchingType: number; data: string } {
  return { usage, selector, matchingType, data: data.toString('hex') };
}

/** TLSA records at `_25._tcp.mx.<domain>`, served by the test DNS server. */
function tlsaAt(domain: string, records: ReturnType<typeof tlsa>[]): Parameters<CheckWorld['add']>[1] {
  return { records: { [`_25._tcp.mx.${domain}`]: { TLSA: records } } };
}

before(async () => {
  world = await CheckWorld.start();
  const valid = await world.pki.issueLeaf({ names: VALID_NAMES });
  const x509 = new X509Certificate(valid.certPem);
  spkiSha256 = createHash('sha256')
    .update(x509.publicKey.export({ type: 'spki', format: 'der' }))
    .digest();
  certSha256 = createHash('sha256').update(x509.raw).digest();
  await world.startMx({ address: '127.0.0.2', behaviour: 'starttls', names: VALID_NAMES });
  await world.startMx({ address: '127.0.0.3', behaviour: 'no-starttls', names: ['mx.nostarttls.test'] });
  await world.startMx({ address: '127.0.0.4', behaviour: 'refuse-starttls', names: ['mx.refuse.test'] });
  await world.startMx({ address: '127.0.0.6', behaviour: 'tls10-only', names: ['mx.tls10.test'] });
  await world.startMx({ address: '127.0.0.7', behaviour: 'starttls', kind: 'expired', names: ['mx.expired.test'] });
  await world.startMx({ address: '127.0.0.8', behaviour: 'starttls', kind: 'untrusted', names: ['mx.untrusted.test'] });
  await world.startMx({ address: '127.0.0.11', behaviour: 'starttls', names: ['other.test'] });
  await world.startMx({ address: '127.0.0.12', behaviour: 'starttls', kind: 'cn-only', names: ['mx.cnonly.test'] });
  await world.startMx({ address: '127.0.0.5', behaviour: 'hang', names: ['mx.hang.test'] });
  await world.startMx({ address: '127.0.0.13', behaviour: 'hang-tls', names: ['mx.hangtls.test'] });

  site('ok.test', { 'mx1.ok.test': { preference: 10, address: '127.0.0.2' } });
  site('nostarttls.test', { 'mx.nostarttls.test': { preference: 10, address: '127.0.0.3' } });
  site('refuse.test', { 'mx.refuse.test': { preference: 10, address: '127.0.0.4' } });
  site('tls10.test', { 'mx.tls10.test': { preference: 10, address: '127.0.0.6' } });
  site('expired.test', { 'mx.expired.test': { preference: 10, address: '127.0.0.7' } });
  site('untrusted.test', { 'mx.untrusted.test': { preference: 10, address: '127.0.0.8' } });
  site('wrongname.test', { 'mx.wrongname.test': { preference: 10, address: '127.0.0.11' } });
  site('cnonly.test', { 'mx.cnonly.test': { preference: 10, address: '127.0.0.12' } });
  site('hangtls.test', { 'mx.hangtls.test': { preference: 10, address: '127.0.0.13' } });
  site('mixed.test', { 'mx1.ok.test': { preference: 10 }, 'mx.nostarttls.test': { preference: 20 } });
  // mx-dns, mx-address
  world.add('nomx.test', {
    sts: ['v=STSv1; id=1'],
    policyHost: serves(policyText('enforce', ['nomx.test'])),
    records: { 'nomx.test': { A: ['127.0.0.2'] } },
  });
  world.add('nullmx.test', {
    sts: ['v=STSv1; id=1'],
    policyHost: serves(policyText('enforce', ['mx1.ok.test'])),
    records: { 'nullmx.test': { MX: [{ preference: 0, exchange: '.' }] } },
  });
  site('noaddr.test', { 'ghost.noaddr.test': { preference: 10 } });
  // mx-coverage, mx-stale-pattern
  site('cov.test', { 'mx1.ok.test': { preference: 10 } }, { policyHost: serves(policyText('enforce', ['*.other.test'])) });
  site('covtesting.test', { 'mx1.ok.test': { preference: 10 } }, { policyHost: serves(policyText('testing', ['*.other.test'])) });
  site(
    'stale.test',
    { 'mx1.ok.test': { preference: 10 } },
    { policyHost: serves(policyText('enforce', ['mx1.ok.test', 'old.stale.test'])) },
  );
  site('wild.test', { 'mx1.ok.test': { preference: 10 } }, { policyHost: serves(policyText('enforce', ['*.ok.test'])) });
  // dane-tlsa: TLSA records from the test DNS server through the DNSSEC client; the zones
  // marked secure are answered with the AD bit, as a validating resolver would.
  const daneSite = (n: number, over: Parameters<CheckWorld['add']>[1]): void =>
    site(`dane${n}.test`, { [`mx.dane${n}.test`]: { preference: 10, address: '127.0.0.2' } }, over);
  daneSite(1, tlsaAt('dane1.test', [tlsa(3, 1, 1, spkiSha256)]));
  daneSite(2, tlsaAt('dane2.test', [tlsa(3, 1, 1, Buffer.alloc(32, 7))]));
  daneSite(3, tlsaAt('dane3.test', [tlsa(1, 0, 1, certSha256)]));
  daneSite(4, { records: { '_25._tcp.mx.dane4.test': { behaviour: 'servfail' } } });
  daneSite(5, tlsaAt('dane5.test', [tlsa(3, 1, 1, Buffer.alloc(32, 7)), tlsa(3, 0, 1, certSha256)]));
  // Not validated (no AD bit): records that match, and records that do not.
  daneSite(6, tlsaAt('dane6.test', [tlsa(3, 1, 1, spkiSha256)]));
  daneSite(7, tlsaAt('dane7.test', [tlsa(3, 1, 1, Buffer.alloc(32, 7))]));
  world.secureZones(['dane1.test', 'dane2.test', 'dane3.test', 'dane4.test', 'dane5.test', 'ok.test']);
  // tlsrpt-txt
  site('norpt.test', { 'mx1.ok.test': { preference: 10 } }, { tlsrpt: ['something else'] });
  site(
    'norpttesting.test',
    { 'mx1.ok.test': { preference: 10 } },
    { tlsrpt: ['something else'], policyHost: serves(policyText('testing', ['mx1.ok.test'])) },
  );
  site('badrua.test', { 'mx1.ok.test': { preference: 10 } }, { tlsrpt: ['v=TLSRPTv1; rua=http://reports.ok.test/tlsrpt'] });
  site(
    'tworpt.test',
    { 'mx1.ok.test': { preference: 10 } },
    { tlsrpt: ['v=TLSRPTv1; rua=mailto:a@ok.test', 'v=TLSRPTv1; rua=mailto:b@ok.test'] },
  );
  site(
    'httpsrpt.test',
    { 'mx1.ok.test': { preference: 10 } },
    { tlsrpt: ['v=TLSRPTv1;rua=https://reports.ok.test/v1/tlsrpt,mailto:tls@ok.test'] },
  );
  report = await world.run(
    [
      'ok.test',
      'nostarttls.test',
      'refuse.test',
      'tls10.test',
      'expired.test',
      'untrusted.test',
      'wrongname.test',
      'cnonly.test',
      'mixed.test',
      'nomx.test',
      'nullmx.test',
      'noaddr.test',
      'cov.test',
      'covtesting.test',
      'stale.test',
      'wild.test',
      'dane1.test',
      'dane2.test',
      'dane3.test',
      'dane4.test',
      'dane5.test',
      'dane6.test',
      'dane7.test',
      'norpt.test',
      'norpttesting.test',
      'badrua.test',
      'tworpt.test',
      'httpsrpt.test',
    ],
    // No host here hangs (those are below, each with a run of its own), so every step gets its
    // default bound (a conversation 20 s, a DNS question 5 s) at no cost: on a loaded 2-core
    // machine 29 domains, 4 at a time, have taken over 4 s for a TLS handshake.
    { timeoutMs: 60_000 },
  );
});
after(() => world.close());

describe('MX hosts', () => {
  it('a good MX host passes mx-address, mx-starttls, mx-tls and mx-cert with the EHLO and certificate as evidence', () => {
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
    const s = one(d, 'mx-starttls', 'mx1.ok.test 127.0.0.2');
    assert.ok((s.evidence['ehlo'] as string[]).includes('250-STARTTLS'));
    assert.match(one(d, 'mx-tls', 'mx1.ok.test 127.0.0.2').message, /^TLSv1\.[23]/);
    const cert = one(d, 'mx-cert', 'mx1.ok.test 127.0.0.2');
    assert.deepEqual(cert.evidence['namesMatchingPolicy'], ['mx1.ok.test']);
    assert.equal(world.smtp[0]!.ehlos.includes('checker.test'), true, 'EHLO with the name given');
  });
  it('mx-starttls fails when STARTTLS is not offered, or refused', () => {
    const c = one(domain('nostarttls.test'), 'mx-starttls', 'mx.nostarttls.test 127.0.0.3');
    assert.equal(c.level, 'error');
    assert.match(c.message, /STARTTLS not offered/);
    assert.match(one(domain('refuse.test'), 'mx-starttls', 'mx.refuse.test 127.0.0.4').message, /STARTTLS refused.*454/);
  });
  it('mx-tls fails on a TLS 1.0 only server', () => {
    const c = one(domain('tls10.test'), 'mx-tls', 'mx.tls10.test 127.0.0.6');
    assert.equal(c.level, 'error');
    assert.match(c.message, /TLS 1\.2\+ handshake failed/);
    assert.equal(one(domain('tls10.test'), 'mx-starttls', 'mx.tls10.test 127.0.0.6').level, 'info');
  });
  for (const [name, host, address, pattern] of [
    ['expired.test', 'mx.expired.test', '127.0.0.7', /CERT_HAS_EXPIRED/],
    ['untrusted.test', 'mx.untrusted.test', '127.0.0.8', /chain does not verify/],
    [
      'wrongname.test',
      'mx.wrongname.test',
      '127.0.0.11',
      /not valid for mx\.wrongname\.test.*no certificate name matches a policy mx pattern/,
    ],
    ['cnonly.test', 'mx.cnonly.test', '127.0.0.12', /no DNS subjectAltName/],
  ] as const) {
    it(`mx-cert fails: ${name}`, () => {
      const c = one(domain(name), 'mx-cert', `${host} ${address}`);
      assert.equal(c.level, 'error');
      assert.match(c.message, pattern);
      assert.equal(one(domain(name), 'sender-view').level, 'error', 'the only MX host is refused');
    });
  }
  it('mx-dns: no MX warns (implicit MX, the domain itself is checked); a null MX warns', () => {
    const d = domain('nomx.test');
    assert.equal(one(d, 'mx-dns').level, 'warning');
    assert.equal(one(d, 'mx-address', 'nomx.test').level, 'info');
    const n = domain('nullmx.test');
    assert.match(one(n, 'mx-dns').message, /null MX/);
    assert.equal(results(n, 'mx-starttls').length, 0);
  });
  it('mx-address fails for an MX host without an address', () => {
    assert.equal(one(domain('noaddr.test'), 'mx-address', 'ghost.noaddr.test').level, 'error');
  });
  it('mx-coverage: an MX host outside the policy is an error under enforce, a warning under testing', () => {
    const c = one(domain('cov.test'), 'mx-coverage');
    assert.equal(c.level, 'error');
    assert.deepEqual(c.evidence['uncovered'], ['mx1.ok.test']);
    assert.equal(one(domain('covtesting.test'), 'mx-coverage').level, 'warning');
    assert.equal(one(domain('wild.test'), 'mx-coverage').level, 'info', '*.ok.test covers mx1.ok.test');
  });
  it('mx-stale-pattern warns about a policy pattern no MX host matches', () => {
    const c = one(domain('stale.test'), 'mx-stale-pattern');
    assert.equal(c.level, 'warning');
    assert.deepEqual(c.evidence['stale'], ['old.stale.test']);
    assert.equal(one(domain('stale.test'), 'mx-coverage').level, 'info');
    assert.equal(one(domain('ok.test'), 'mx-stale-pattern').level, 'info');
  });
});

describe('dane-tlsa', () => {
  it('passes when a validated 3 1 1 record matches the presented certificate, with the AD bit as evidence', () => {
    const c = one(domain('dane1.test'), 'dane-tlsa', 'mx.dane1.test 127.0.0.2');
    assert.equal(c.level, 'info');
    assert.match(c.message, /DNSSEC-validated/);
    assert.equal(c.evidence['validated'], true);
    assert.deepEqual(c.evidence['records'], [`3 1 1 ${spkiSha256.toString('hex')}`]);
  });
  it('fails when no validated record matches: DANE senders will not deliver', () => {
    const c = one(domain('dane2.test'), 'dane-tlsa', 'mx.dane2.test 127.0.0.2');
    assert.equal(c.level, 'error');
    assert.equal(c.evidence['validated'], true);
    assert.equal(one(domain('dane2.test'), 'sender-view').level, 'error');
  });
  it('warns when every record is unusable for SMTP (PKIX usages), named as src/dane names them', () => {
    const c = one(domain('dane3.test'), 'dane-tlsa', 'mx.dane3.test 127.0.0.2');
    assert.equal(c.level, 'warning');
    assert.match(c.message, /pkix-usage/);
  });
  it('fails a TLSA lookup that SERVFAILs (bogus: DANE senders defer)', () => {
    const c = one(domain('dane4.test'), 'dane-tlsa', 'mx.dane4.test');
    assert.equal(c.level, 'error');
    assert.equal(c.evidence['code'], 'EDANE_DNS_SERVFAIL');
  });
  it('any matching record of the RRset is enough (3 0 1 beside a stale 3 1 1)', () => {
    assert.equal(one(domain('dane5.test'), 'dane-tlsa', 'mx.dane5.test 127.0.0.2').level, 'info');
  });
  it('records without the AD bit are a warning, matching or not, and refuse nothing: DANE senders ignore them', () => {
    for (const n of [6, 7]) {
      const c = one(domain(`dane${n}.test`), 'dane-tlsa', `mx.dane${n}.test 127.0.0.2`);
      assert.equal(c.level, 'warning', `dane${n}`);
      assert.match(c.message, /not DNSSEC-validated/);
      assert.equal(c.evidence['validated'], false);
      assert.equal(one(domain(`dane${n}.test`), 'sender-view').level, 'info', 'an unvalidated record refuses nothing');
    }
    assert.equal(
      (one(domain('dane7.test'), 'dane-tlsa', 'mx.dane7.test 127.0.0.2').evidence['match'] as { kind: string }).kind,
      'no-match',
    );
  });
  it('no TLSA record is information: DANE not published (validated denial or not)', () => {
    const c = one(domain('ok.test'), 'dane-tlsa', 'mx1.ok.test');
    assert.equal(c.level, 'info');
    assert.match(c.message, /DANE not published/);
    assert.deepEqual([c.evidence['dns'], c.evidence['validated']], ['nxdomain', true]);
    assert.equal(one(domain('mixed.test'), 'dane-tlsa', 'mx.nostarttls.test').evidence['validated'], false);
  });
});

describe('tlsrpt-txt', () => {
  it('passes with mailto: and https: report URIs', () => {
    assert.deepEqual(one(domain('httpsrpt.test'), 'tlsrpt-txt').evidence['rua'], [
      'https://reports.ok.test/v1/tlsrpt',
      'mailto:tls@ok.test',
    ]);
    assert.equal(one(domain('ok.test'), 'tlsrpt-txt').level, 'info');
  });
  it('missing is a warning for an enforce domain and information for a testing one', () => {
    assert.equal(one(domain('norpt.test'), 'tlsrpt-txt').level, 'warning');
    assert.equal(one(domain('norpttesting.test'), 'tlsrpt-txt').level, 'info');
  });
  it('fails a report URI that is neither mailto: nor https:, and two records', () => {
    assert.match(one(domain('badrua.test'), 'tlsrpt-txt').message, /ETLSRPT_RUA_SCHEME/);
    assert.match(one(domain('tworpt.test'), 'tlsrpt-txt').message, /2 TLSRPT records/);
  });
});

describe('sender-view', () => {
  it('enforce, every host verified: information', () => {
    assert.equal(one(domain('ok.test'), 'sender-view').level, 'info');
  });
  it('enforce, one of two hosts refused: a warning naming both', () => {
    const c = one(domain('mixed.test'), 'sender-view');
    assert.equal(c.level, 'warning');
    assert.match(c.message, /mail flows via mx1\.ok\.test; senders skip mx\.nostarttls\.test/);
    assert.deepEqual(
      (c.evidence['hosts'] as Array<{ host: string; action: string }>).map((h) => [h.host, h.action]),
      [
        ['mx1.ok.test', 'deliver-verified'],
        ['mx.nostarttls.test', 'refuse'],
      ],
    );
  });
  it('testing with a host outside the policy: mail flows, but enforce would refuse it', () => {
    const c = one(domain('covtesting.test'), 'sender-view');
    assert.equal(c.level, 'warning');
    assert.match(c.message, /under enforce would refuse: mx1\.ok\.test/);
  });
});

describe('a hanging MX host', () => {
  // Each run here has a hanging host, which costs a conversation's timeout: its --timeout is
  // sized from the measured cost of the same run without the hanging host (timeoutFor), so the
  // hosts that answer are judged on a loaded machine too, while what is asserted stays what it
  // was: the run ends within its --timeout, by the wall clock and by its own deadline (a domain
  // cut by the deadline is an error, ECHECK_TIMEOUT).
  it('mx-tls fails on a host that accepts STARTTLS and never completes the handshake', async () => {
    const timeoutMs = timeoutFor(await baselineMs(['ok.test']), 6000);
    const d = (await world.run(['hangtls.test'], { timeoutMs })).domains[0];
    assert.equal(d?.error, undefined, 'judged, not cut short');
    assert.equal(one(d, 'mx-starttls', 'mx.hangtls.test 127.0.0.13').level, 'info', 'STARTTLS accepted');
    const c = one(d, 'mx-tls', 'mx.hangtls.test 127.0.0.13');
    assert.equal(c.level, 'error');
    assert.match(c.message, /no TLS handshake in time/);
  });
  it('3 MX hosts, one hangs: the run ends within --timeout, the hanging host fails, the others are judged', async () => {
    const hosts = { 'mx1.ok.test': { preference: 10 }, 'mx.nostarttls.test': { preference: 30 } };
    site('two.test', hosts);
    site('three.test', { ...hosts, 'mx.hang.test': { preference: 20, address: '127.0.0.5' } });
    const timeoutMs = timeoutFor(await baselineMs(['two.test']), 6000);
    const started = Date.now();
    // The default conversation bound: a third of --timeout.
    const r = await world.run(['three.test'], { timeoutMs });
    const elapsed = Date.now() - started;
    assert.ok(elapsed < timeoutMs, `took ${elapsed} ms of a --timeout of ${timeoutMs} ms`);
    const d = r.domains[0];
    assert.equal(d?.error, undefined, 'ended before its own deadline');
    assert.equal(d?.result, 'fail', 'judged, not cut short');
    assert.match(one(d, 'mx-starttls', 'mx.hang.test 127.0.0.5').message, /no 220 greeting in time/);
    assert.equal(one(d, 'mx-starttls', 'mx1.ok.test 127.0.0.2').level, 'info');
    assert.equal(one(d, 'mx-starttls', 'mx.nostarttls.test 127.0.0.3').level, 'error');
  });
  it('when --timeout comes before a conversation gives up, the domain is an error (ECHECK_TIMEOUT), still on time', async () => {
    site('cut.test', { 'mx.hang.test': { preference: 10, address: '127.0.0.5' } });
    // The same run with a host that answers: what the steps before the conversation (DNS, the
    // policy host) and the judging after it cost now. --timeout leaves the former time to end
    // before the deadline; the latter is the margin after it.
    const baseline = await baselineMs(['ok.test']);
    const timeoutMs = timeoutFor(baseline, 3000);
    const margin = Math.max(1000, baseline);
    const started = Date.now();
    const r = await world.run(['cut.test'], { timeoutMs, probeTimeoutMs: 60_000 });
    const elapsed = Date.now() - started;
    assert.ok(elapsed < timeoutMs + margin, `took ${elapsed} ms of a --timeout of ${timeoutMs} ms (+${margin} ms)`);
    const d = r.domains[0];
    assert.equal(d?.result, 'error');
    assert.equal(d?.error?.code, 'ECHECK_TIMEOUT');
    assert.match(one(d, 'mx-starttls', 'mx.hang.test 127.0.0.5').message, /the run timed out/);
  });
  it('one clock ends the run: a `now` running ahead of the timers does not turn the cut into the host own timeout', async () => {
    // The wall clock steps 1.5 s forward just after the run starts (or, the same thing smaller,
    // timers and Date.now disagree by a millisecond on a loaded machine). A conversation whose
    // timeout was shortened to "what is left of the run" by `now` would give up before the
    // deadline's own timer and report the host as slow; the deadline's signal must decide.
    site('skew.test', { 'mx.hang.test': { preference: 10, address: '127.0.0.5' } });
    const timeoutMs = timeoutFor(await baselineMs(['ok.test']), 3000);
    let calls = 0;
    const now = (): number => Date.now() + (calls++ === 0 ? 0 : 1500);
    const r = await world.run(['skew.test'], { timeoutMs, probeTimeoutMs: 60_000, now });
    const d = r.domains[0];
    assert.ok(calls > 1, 'the run read its clock after starting');
    assert.equal(d?.error?.code, 'ECHECK_TIMEOUT');
    assert.match(one(d, 'mx-starttls', 'mx.hang.test 127.0.0.5').message, /no 220 greeting in time \(the run timed out\)/);
  });
});
