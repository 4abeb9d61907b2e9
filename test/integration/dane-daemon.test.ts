/**
 * DANE and MTA-STS together through the real daemon (`serve`): a signed DNS world (nsd +
 * validating unbound with the test trust anchor, zones signed at test time) and real MTA-STS
 * policy hosts (HTTPS with the test CA, the fake internet's policy host server), the answers
 * read with Postfix's own `postmap -q` over socketmap.
 *
 * Cases (issue 10): a DANE+STS domain → the DANE level per `dane_level`, never `secure match=`;
 * a signed STS-only domain without TLSA → `secure match=`; an unsigned STS domain → `secure
 * match=`; a bogus signature → TEMP with `dane_lookup_failure: temp`, the STS answer with
 * `sts`; the mixed case as docs/dane.md decides it (enforced STS → `secure match=`; testing
 * STS → `dane`); a resolver that does not set AD → a warning at start and STS answers;
 * `dane: false` → exactly the answers of a daemon without any DANE configuration; a
 * `tlsrpt: true` zone answers DANE without STS attributes.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { useValidatingResolver } from './harness/dane-world.js';
import { Daemon, postmap } from './harness/daemon.js';
import { integrationGate } from './harness/gate.js';
import { NetNs } from './harness/netns.js';
import { postfixPrerequisiteProblem } from './harness/postfix-instance.js';
import { dnssecPrerequisiteProblem, NON_VALIDATING_RESOLVER, SignedDns, VALIDATING_RESOLVER } from './harness/signed-dns.js';
import { FakeInternet, POLICY_HOST_ADDRESS, policyBody, servesPolicy, type Sites } from './harness/world.js';

const H1 = 'ab'.repeat(32);
const H_BOGUS = 'cd'.repeat(32);
const H_TAMPERED = 'ef'.repeat(32);

/** MTA-STS records for `<label>` inside the zone file of its apex: TXT and the policy host. */
const sts = (label: string): string[] => [
  `_mta-sts.${label} IN TXT "v=STSv1; id=20261205"`,
  `mta-sts.${label} IN A ${POLICY_HOST_ADDRESS}`,
];

const SIGNED = {
  apex: 'signed.test',
  records: [
    // DANE + STS: the one MX host has a validated usable TLSA RRset.
    'dane IN MX 10 mx.dane',
    'mx.dane IN A 127.0.0.40',
    `_25._tcp.mx.dane IN TLSA 3 1 1 ${H1}`,
    ...sts('dane'),
    // Signed, STS, no TLSA.
    'sts-only IN MX 10 mx.sts-only',
    'mx.sts-only IN A 127.0.0.41',
    ...sts('sts-only'),
    // Mixed: mx1 with TLSA, mx2 without; once with an enforced policy, once with a testing one.
    'mixed IN MX 10 mx1.mixed',
    'mixed IN MX 20 mx2.mixed',
    'mx1.mixed IN A 127.0.0.42',
    'mx2.mixed IN A 127.0.0.43',
    `_25._tcp.mx1.mixed IN TLSA 3 1 1 ${H1}`,
    ...sts('mixed'),
    'mixed-testing IN MX 10 mx1.mixed',
    'mixed-testing IN MX 20 mx2.mixed',
    ...sts('mixed-testing'),
    // Bogus: the TLSA record is changed after signing; the MX and the MTA-STS records are fine.
    'bogus IN MX 10 mx.bogus',
    'mx.bogus IN A 127.0.0.44',
    `_25._tcp.mx.bogus IN TLSA 3 1 1 ${H_BOGUS}`,
    ...sts('bogus'),
  ],
};
const PLAIN = {
  apex: 'plain.test',
  // Unsigned, with a TLSA record that must not count (no AD) and an MTA-STS policy.
  records: ['@ IN MX 10 mx', 'mx IN A 127.0.0.45', `_25._tcp.mx IN TLSA 3 1 1 ${H1}`, ...sts('@').map((r) => r.replace('.@ ', ' '))],
};

const enforce = (mx: readonly string[]) => servesPolicy(policyBody('enforce', mx));
const SITES: Sites = {
  'dane.signed.test': { policyHost: enforce(['mx.dane.signed.test']) },
  'sts-only.signed.test': { policyHost: enforce(['mx.sts-only.signed.test']) },
  'mixed.signed.test': { policyHost: enforce(['mx1.mixed.signed.test', 'mx2.mixed.signed.test']) },
  'mixed-testing.signed.test': { policyHost: servesPolicy(policyBody('testing', ['mx1.mixed.signed.test', 'mx2.mixed.signed.test'])) },
  'bogus.signed.test': { policyHost: enforce(['mx.bogus.signed.test']) },
  'plain.test': { policyHost: enforce(['mx.plain.test']) },
};
const DOMAINS = Object.keys(SITES);
const secure = (_domain: string, mx: readonly string[]): string => `secure match=${mx.join(':')} servername=hostname`;

const ZONES = `
zones:
  daneonly:
    timeout: 5
    dane: true
    dane_level: dane-only
  stsfallback:
    timeout: 5
    dane: true
    dane_lookup_failure: sts
  off:
    timeout: 5
  tlsrpt:
    timeout: 5
    dane: true
    tlsrpt: true
`;
/** The daemon under test: DANE on in the default zone (level dane, lookup failure temp). */
const DAEMON = `
cache: {type: internal}
metrics:
  address: 127.0.0.1:9464
dns:
  resolver: "${VALIDATING_RESOLVER}"
  probe: "ns:signed.test"
listeners:
  - protocol: socketmap
    address: "127.0.0.1:8461"
default_zone:
  timeout: 5
  dane: true
${ZONES}`;
/** The same with a resolver that does not validate (never sets AD). */
const NO_AD = DAEMON.replace('127.0.0.1:9464', '127.0.0.1:9465')
  .replace(`resolver: "${VALIDATING_RESOLVER}"`, `resolver: "${NON_VALIDATING_RESOLVER}"`)
  .replace('127.0.0.1:8461', '127.0.0.1:8462');
/** A daemon without any DANE configuration: today's answers. */
const TODAY = `
cache: {type: internal}
listeners:
  - protocol: socketmap
    address: "127.0.0.1:8463"
default_zone:
  timeout: 5
`;
const map = (name: string, port = 8461): string => `socketmap:inet:127.0.0.1:${port}:${name}`;

const postfixProblem = await postfixPrerequisiteProblem();
const gate = integrationGate(dnssecPrerequisiteProblem, () => postfixProblem);

describe('the daemon with DANE and MTA-STS against the signed world and real policy hosts', { skip: gate.skip }, () => {
  let ns: NetNs;
  let dir: string;
  let web: FakeInternet | undefined;
  let dns: SignedDns | undefined;
  let daemon: Daemon | undefined;
  let noAd: Daemon | undefined;
  let today: Daemon | undefined;

  before(async () => {
    gate.assertReady();
    dir = mkdtempSync(join(tmpdir(), 'msb-dane-daemon-'));
    ns = await NetNs.create('msbx');
    mkdirSync(join(dir, 'web'));
    mkdirSync(join(dir, 'dns'));
    // The policy hosts (and the fake internet's own DNS on 127.0.0.1, which nothing asks here).
    web = await FakeInternet.start(ns, join(dir, 'web'), SITES);
    dns = await SignedDns.start(ns, join(dir, 'dns'), {
      signed: [SIGNED],
      unsigned: [PLAIN],
      tamper: [{ apex: 'signed.test', from: H_BOGUS, to: H_TAMPERED }],
    });
    // The daemon's MTA-STS side (c-ares, fetch) and postmap ask the validating unbound too.
    useValidatingResolver(ns);
    daemon = await Daemon.start(ns, dir, DAEMON, web.caPath, 1);
    noAd = await Daemon.start(ns, dir, NO_AD, web.caPath, 1);
    today = await Daemon.start(ns, dir, TODAY, web.caPath, 1);
  });

  after(async () => {
    for (const d of [daemon, noAd, today]) if (d !== undefined) await d.stop();
    if (dns !== undefined) await dns.stop();
    if (web !== undefined) await web.stop();
    if (ns !== undefined) await ns.destroy();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  /** postmap's answer: the data when found, `NOTFOUND`, or `TEMP` (told apart by stderr). */
  async function ask(domain: string, m: string): Promise<string> {
    const r = await postmap(ns, domain, m);
    if (r.code === 0) return r.stdout.trim();
    if (/temporary|lookup error/i.test(r.stderr)) return 'TEMP';
    assert.equal(r.stderr.trim(), '', `postmap -q ${domain} ${m}: ${r.stderr}`);
    return 'NOTFOUND';
  }

  it('a validating resolver at start: an info line, no warning', async () => {
    assert.ok(daemon !== undefined);
    await daemon.waitForLogs(/DNSSEC resolver validates/, 1);
    assert.deepEqual(daemon.grep('does not validate'), []);
    assert.deepEqual(daemon.grep('probe failed'), []);
  });

  it('(a) DANE+STS domain: the DANE level per dane_level, never secure match=', async () => {
    assert.equal(await ask('dane.signed.test', map('postfix')), 'dane');
    assert.equal(await ask('dane.signed.test', map('daneonly')), 'dane-only');
    // The same domain's MTA-STS policy is live: the zone without DANE answers it.
    assert.equal(await ask('dane.signed.test', map('off')), secure('dane.signed.test', ['mx.dane.signed.test']));
    // Asked again (the warm path, from the cached finding): still DANE.
    assert.equal(await ask('dane.signed.test', map('postfix')), 'dane');
    assert.ok(daemon !== undefined);
    assert.ok(
      daemon.logs.some((l) => l.includes('dane finding') && /domain[=:"]+dane\.signed\.test/.test(l) && /dane[=:"]+dane\b/.test(l)),
      `the finding is logged:\n${daemon.grep('dane finding').join('\n')}`,
    );
  });

  it('(b) signed STS-only domain without TLSA: secure match=', async () => {
    assert.equal(await ask('sts-only.signed.test', map('postfix')), secure('sts-only.signed.test', ['mx.sts-only.signed.test']));
    assert.equal(await ask('sts-only.signed.test', map('daneonly')), secure('sts-only.signed.test', ['mx.sts-only.signed.test']));
  });

  it('(c) unsigned STS domain (its TLSA record unvalidated): secure match=', async () => {
    assert.equal(await ask('plain.test', map('postfix')), secure('plain.test', ['mx.plain.test']));
    assert.equal(await ask('plain.test', map('daneonly')), secure('plain.test', ['mx.plain.test']));
  });

  it('(d) bogus TLSA signature: TEMP with dane_lookup_failure temp, the STS answer with sts', async () => {
    assert.equal(await ask('bogus.signed.test', map('postfix')), 'TEMP');
    assert.equal(await ask('bogus.signed.test', map('stsfallback')), secure('bogus.signed.test', ['mx.bogus.signed.test']));
    // Asked again, from the remembered failure: the same answers.
    assert.equal(await ask('bogus.signed.test', map('postfix')), 'TEMP');
    assert.equal(await ask('bogus.signed.test', map('stsfallback')), secure('bogus.signed.test', ['mx.bogus.signed.test']));
    assert.ok(daemon !== undefined);
    assert.ok(
      daemon.logs.some((l) => l.includes('bogus.signed.test') && l.includes('EDANE_DNS_SERVFAIL')),
      'the failure is logged with its code',
    );
  });

  it('(e) mixed: the enforced STS policy answers; with a testing policy, dane (never dane-only)', async () => {
    const mx = ['mx1.mixed.signed.test', 'mx2.mixed.signed.test'];
    assert.equal(await ask('mixed.signed.test', map('postfix')), secure('mixed.signed.test', mx));
    assert.equal(await ask('mixed.signed.test', map('daneonly')), secure('mixed.signed.test', mx));
    // A testing policy: today NOTFOUND (nothing enforced); with DANE on, dane where it exists.
    assert.equal(await ask('mixed-testing.signed.test', map('off')), 'NOTFOUND');
    assert.equal(await ask('mixed-testing.signed.test', map('postfix')), 'dane');
    assert.equal(await ask('mixed-testing.signed.test', map('daneonly')), 'dane');
  });

  it('(f) a resolver that does not set AD: a warning at start, and MTA-STS answers', async () => {
    assert.ok(noAd !== undefined);
    await noAd.waitForLogs(/does not validate/, 1);
    const warning = noAd.grep('does not validate');
    assert.equal(warning.length, 1);
    assert.match(warning[0] ?? '', /warn/);
    assert.match(warning[0] ?? '', new RegExp(NON_VALIDATING_RESOLVER.replace(/\./g, '\\.')));
    assert.match(warning[0] ?? '', /NS signed\.test/);
    const m = (name: string): string => map(name, 8462);
    assert.equal(await ask('dane.signed.test', m('postfix')), secure('dane.signed.test', ['mx.dane.signed.test']));
    assert.equal(await ask('dane.signed.test', m('daneonly')), secure('dane.signed.test', ['mx.dane.signed.test']));
    // Without validation the tampered record passes unnoticed: no DANE, no failure, STS.
    assert.equal(await ask('bogus.signed.test', m('postfix')), secure('bogus.signed.test', ['mx.bogus.signed.test']));
    assert.equal(await ask('mixed-testing.signed.test', m('postfix')), 'NOTFOUND');
  });

  it('(g) dane: false answers exactly as a daemon without any DANE configuration', async () => {
    for (const domain of [...DOMAINS, 'nothing.signed.test']) {
      const expected = await ask(domain, map('postfix', 8463));
      assert.equal(await ask(domain, map('off')), expected, domain);
    }
    // Today's answer for the DANE+STS domain is the WebPKI one (what the issue is about).
    assert.equal(await ask('dane.signed.test', map('postfix', 8463)), secure('dane.signed.test', ['mx.dane.signed.test']));
    assert.ok(today !== undefined);
    assert.deepEqual(today.grep('dane finding'), [], 'no DANE lookups without DANE configured');
  });

  it('metrics: DANE lookups by outcome, the probe gauge, dane and dane-temp answers', async () => {
    const script = `fetch('http://127.0.0.1:9464/metrics').then(async (r) => process.stdout.write(await r.text()), (e) => { console.error(String(e)); process.exit(3); })`;
    const r = await ns.run(process.execPath, ['-e', script], { timeoutMs: 20_000 });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    const value = (sample: string): number => Number(lines.find((l) => l.startsWith(`${sample} `))?.slice(sample.length + 1) ?? 'NaN');
    assert.equal(value('mta_sts_bridge_dane_resolver_validating'), 1);
    // Each domain looked up once (findings are cached): earlier tests asked these domains.
    assert.equal(value('mta_sts_bridge_dane_lookups_total{outcome="dane"}'), 1);
    assert.equal(value('mta_sts_bridge_dane_lookups_total{outcome="absent"}'), 1, 'sts-only');
    assert.equal(value('mta_sts_bridge_dane_lookups_total{outcome="unsigned"}'), 1);
    assert.equal(value('mta_sts_bridge_dane_lookups_total{outcome="mixed"}'), 2);
    assert.ok(value('mta_sts_bridge_dane_lookups_total{outcome="servfail"}') >= 1);
    assert.ok(value('mta_sts_bridge_lookups_total{protocol="socketmap",zone="default",outcome="dane",source="fetched"}') >= 1, r.stdout);
    assert.ok(
      lines.some((l) => /^mta_sts_bridge_lookups_total\{protocol="socketmap",zone="default",outcome="dane-temp",/.test(l)),
      r.stdout,
    );
  });

  it('tlsrpt: true: DANE answers without STS attributes; STS answers keep them', async () => {
    assert.equal(await ask('dane.signed.test', map('tlsrpt')), 'dane');
    const stsAnswer = await ask('sts-only.signed.test', map('tlsrpt'));
    assert.match(stsAnswer, /^secure match=mx\.sts-only\.signed\.test servername=hostname policy_type=sts /);
  });
});
