/**
 * DANE end to end with the real Postfix as the client (smtp_dns_support_level = dnssec) against
 * a signed DNS world (nsd + validating unbound) and MX hosts presenting certificates outside
 * the WebPKI (signed by a CA nobody trusts) pinned by TLSA 3 1 1 records.
 *
 * The world check: with a static `dane` policy, Postfix verifies a matching MX and defers a
 * mismatching one. That proves the world is what the daemon's answers are tested against.
 * Both domains also publish an enforced MTA-STS policy (DANE+STS, as issue 10 asks): the daemon
 * with `dane: false` answers `secure match=` and Postfix refuses the MX (today's behaviour); with
 * `dane: true` it answers `dane` and Postfix delivers after verifying the TLSA record.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sendMail, spkiSha256, startDeliveringPostfix, startSink, stopSink, useValidatingResolver } from './harness/dane-world.js';
import { Daemon, postmap } from './harness/daemon.js';
import { integrationGate } from './harness/gate.js';
import { NetNs } from './harness/netns.js';
import { type PostfixInstance, postfixPrerequisiteProblem } from './harness/postfix-instance.js';
import { dnssecPrerequisiteProblem, SignedDns } from './harness/signed-dns.js';
import { FakeInternet, POLICY_HOST_ADDRESS, policyBody, servesPolicy } from './harness/world.js';

const MX_GOOD = '127.0.0.40';
const MX_BAD = '127.0.0.41';

/**
 * good and bad are DANE+STS domains: each also publishes an enforced MTA-STS policy (TXT in the
 * signed zone, the policy host on the fake internet's HTTPS server with the test CA) naming its
 * MX. Its MX certificate is not a WebPKI one, so `secure match=` (today's answer) refuses it.
 */
const STS_SITES = {
  'good.signed.test': { policyHost: servesPolicy(policyBody('enforce', ['mx.good.signed.test'])) },
  'bad.signed.test': { policyHost: servesPolicy(policyBody('enforce', ['mx.bad.signed.test'])) },
};

/** Zone `postfix`: DANE on (default lookup failure temp); zone `off`: DANE off (today's answers). */
const DAEMON_CONFIG = `
cache: {type: internal}
dns:
  resolver: "127.0.0.31"
listeners:
  - protocol: socketmap
    address: "127.0.0.1:8461"
  - protocol: socketmap
    address: "127.0.0.1:8462"
    zone: nodane
default_zone:
  timeout: 5
  dane: true
zones:
  nodane:
    timeout: 5
  stsfallback:
    timeout: 5
    dane: true
    dane_lookup_failure: sts
`;
const MAP = 'socketmap:inet:127.0.0.1:8461:postfix';

const postfixProblem = await postfixPrerequisiteProblem();
const gate = integrationGate(dnssecPrerequisiteProblem, () => postfixProblem);

describe('Postfix DANE against the signed world (static policy: the world check)', { skip: gate.skip }, () => {
  let ns: NetNs;
  let dir: string;
  let dns: SignedDns;
  let sink: ChildProcess | undefined;
  let postfix: PostfixInstance | undefined;
  let daemon: Daemon | undefined;
  let web: FakeInternet | undefined;

  before(async () => {
    gate.assertReady();
    dir = mkdtempSync(join(tmpdir(), 'msb-dane-pf-'));
    chmodSync(dir, 0o755);
    ns = await NetNs.create('msbp');
    mkdirSync(join(dir, 'web'));
    web = await FakeInternet.start(ns, join(dir, 'web'), STS_SITES);
    const pki = web.pki;
    const good = await pki.issueLeaf({ names: ['mx.good.signed.test'], kind: 'untrusted' });
    const bad = await pki.issueLeaf({ names: ['mx.bad.signed.test'], kind: 'untrusted' });
    const other = await pki.issueLeaf({ names: ['other.signed.test'], kind: 'untrusted' });
    useValidatingResolver(ns);
    dns = await SignedDns.start(ns, dir, {
      signed: [
        {
          apex: 'signed.test',
          records: [
            'good IN MX 10 mx.good',
            `mx.good IN A ${MX_GOOD}`,
            `_25._tcp.mx.good IN TLSA 3 1 1 ${spkiSha256(good.certPem)}`,
            '_mta-sts.good IN TXT "v=STSv1; id=1"',
            `mta-sts.good IN A ${POLICY_HOST_ADDRESS}`,
            'bad IN MX 10 mx.bad',
            `mx.bad IN A ${MX_BAD}`,
            // Pins another key than the one mx.bad presents.
            `_25._tcp.mx.bad IN TLSA 3 1 1 ${spkiSha256(other.certPem)}`,
            '_mta-sts.bad IN TXT "v=STSv1; id=1"',
            `mta-sts.bad IN A ${POLICY_HOST_ADDRESS}`,
            'bogus IN MX 10 mx.bogus',
            `mx.bogus IN A ${MX_GOOD}`,
            `_25._tcp.mx.bogus IN TLSA 3 1 1 ${'cd'.repeat(32)}`,
          ],
        },
      ],
      unsigned: [{ apex: 'plain.test', records: ['@ IN MX 10 mx', `mx IN A ${MX_GOOD}`] }],
      tamper: [{ apex: 'signed.test', from: 'cd'.repeat(32), to: 'ef'.repeat(32) }],
    });
    sink = await startSink(ns, dir, [
      { host: MX_GOOD, port: 25, certPath: good.certPath, keyPath: good.keyPath, name: 'mx.good.signed.test' },
      { host: MX_BAD, port: 25, certPath: bad.certPath, keyPath: bad.keyPath, name: 'mx.bad.signed.test' },
    ]);
    postfix = await startDeliveringPostfix(ns, dir, {
      policyMaps: 'inline:{ good.signed.test=dane, bad.signed.test=dane }',
      probe: 'ns:signed.test',
    });
    daemon = await Daemon.start(ns, dir, DAEMON_CONFIG, pki.caCertPath, 2);
  });

  after(async () => {
    if (daemon !== undefined) await daemon.stop();
    if (postfix !== undefined) await postfix.stop();
    await stopSink(sink);
    if (dns !== undefined) await dns.stop();
    if (web !== undefined) await web.stop();
    if (ns !== undefined) await ns.destroy();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('a self-signed MX matching its TLSA 3 1 1 record is verified and delivered', async () => {
    assert.ok(postfix !== undefined);
    await sendMail(ns, postfix, 'user@good.signed.test');
    await postfix.waitForLog(/to=<user@good\.signed\.test>.*status=sent/, 30_000);
    assert.match(postfix.maillog(), /Verified TLS connection established to mx\.good\.signed\.test/);
  });

  it('an MX whose certificate does not match its TLSA record is deferred', async () => {
    assert.ok(postfix !== undefined);
    await sendMail(ns, postfix, 'user@bad.signed.test');
    await postfix.waitForLog(/to=<user@bad\.signed\.test>.*status=deferred/, 30_000);
    const log = postfix.maillog();
    assert.doesNotMatch(log, /to=<user@bad\.signed\.test>.*status=sent/);
    // Deferred for the certificate, not for DNS: Postfix found the TLSA records and they failed.
    assert.match(log, /to=<user@bad\.signed\.test>.*status=deferred \(.*[Cc]ertificate/);
  });

  it('the daemon answers dane for a DANE domain, NOTFOUND for an unsigned one, TEMP for a bogus one', async () => {
    assert.ok(daemon !== undefined);
    const good = await postmap(ns, 'good.signed.test', MAP);
    assert.deepEqual([good.code, good.stdout.trim()], [0, 'dane']);
    const plain = await postmap(ns, 'plain.test', MAP);
    assert.equal(plain.code, 1);
    assert.doesNotMatch(plain.stderr, /temporary/);
    const bogus = await postmap(ns, 'bogus.signed.test', MAP);
    assert.equal(bogus.code, 1);
    assert.match(bogus.stderr, /temporary|TEMP|lookup error/i);
    // dane_lookup_failure: sts: the bogus domain answers as without DANE (no MTA-STS here: NOTFOUND).
    const sts = await postmap(ns, 'bogus.signed.test', 'socketmap:inet:127.0.0.1:8461:stsfallback');
    assert.equal(sts.code, 1);
    assert.doesNotMatch(sts.stderr, /temporary/);
    // dane off: today's answer, the MTA-STS one (the domain has both), never dane.
    const off = await postmap(ns, 'good.signed.test', 'socketmap:inet:127.0.0.1:8462:nodane');
    assert.deepEqual([off.code, off.stdout.trim()], [0, 'secure match=mx.good.signed.test servername=hostname']);
    const badAnswer = await postmap(ns, 'bad.signed.test', MAP);
    assert.deepEqual([badAnswer.code, badAnswer.stdout.trim()], [0, 'dane']);
  });

  it('Postfix with the daemon (dane: false) as smtp_tls_policy_maps: today the DANE+STS domain is refused', async () => {
    assert.ok(postfix !== undefined);
    const pf = await startDeliveringPostfix(ns, join(dir, 'today'), {
      policyMaps: 'socketmap:inet:127.0.0.1:8462:nodane',
      probe: 'ns:signed.test',
      smtpdAddress: '127.0.0.5',
    });
    try {
      await sendMail(ns, pf, 'today@good.signed.test');
      await pf.waitForLog(/to=<today@good\.signed\.test>.*status=deferred/, 30_000);
      // secure match= checks the WebPKI: the self-signed (untrusted CA) certificate fails.
      assert.match(pf.maillog(), /[Ss]erver certificate not verified|certificate verification failed/);
      assert.doesNotMatch(pf.maillog(), /Verified TLS connection established to mx\.good\.signed\.test/);
    } finally {
      await pf.stop();
    }
  });

  it('Postfix with the daemon as smtp_tls_policy_maps: verified DANE delivery, mismatch deferred', async () => {
    assert.ok(postfix !== undefined);
    const pf = await startDeliveringPostfix(ns, join(dir, 'second'), {
      policyMaps: MAP,
      probe: 'ns:signed.test',
      smtpdAddress: '127.0.0.4',
    });
    try {
      await sendMail(ns, pf, 'again@good.signed.test');
      await pf.waitForLog(/to=<again@good\.signed\.test>.*status=sent/, 30_000);
      assert.match(pf.maillog(), /Verified TLS connection established to mx\.good\.signed\.test/);
      await sendMail(ns, pf, 'again@bad.signed.test');
      await pf.waitForLog(/to=<again@bad\.signed\.test>.*status=deferred/, 30_000);
    } finally {
      await pf.stop();
    }
  });
});
