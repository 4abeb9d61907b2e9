/**
 * DANE end to end with the real Postfix as the client (smtp_dns_support_level = dnssec) against
 * a signed DNS world (nsd + validating unbound) and MX hosts presenting certificates outside
 * the WebPKI (signed by a CA nobody trusts) pinned by TLSA 3 1 1 records.
 *
 * The world check: with a static `dane` policy, Postfix verifies a matching MX and defers a
 * mismatching one. That proves the world is what the daemon's answers are tested against.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createTestPki } from '../world/pki.js';
import { sendMail, spkiSha256, startDeliveringPostfix, startSink, stopSink, useValidatingResolver } from './harness/dane-world.js';
import { integrationPrerequisiteProblem, NetNs } from './harness/netns.js';
import { PostfixInstance, postfixPrerequisiteProblem } from './harness/postfix-instance.js';
import { dnssecPrerequisiteProblem, SignedDns } from './harness/signed-dns.js';

const MX_GOOD = '127.0.0.40';
const MX_BAD = '127.0.0.41';

const problem = integrationPrerequisiteProblem() ?? dnssecPrerequisiteProblem() ?? (await postfixPrerequisiteProblem());
const skip = problem !== undefined && process.env.MTA_STS_BRIDGE_SKIP_INTEGRATION === '1' ? problem : false;

describe('Postfix DANE against the signed world (static policy: the world check)', { skip }, () => {
  let ns: NetNs;
  let dir: string;
  let dns: SignedDns;
  let sink: ChildProcess | undefined;
  let postfix: PostfixInstance | undefined;

  before(async () => {
    if (problem !== undefined) throw new Error(`${problem}; set MTA_STS_BRIDGE_SKIP_INTEGRATION=1 to skip explicitly`);
    dir = mkdtempSync(join(tmpdir(), 'msb-dane-pf-'));
    chmodSync(dir, 0o755);
    const pki = await createTestPki(join(dir, 'pki'));
    const good = await pki.issueLeaf({ names: ['mx.good.signed.test'], kind: 'untrusted' });
    const bad = await pki.issueLeaf({ names: ['mx.bad.signed.test'], kind: 'untrusted' });
    const other = await pki.issueLeaf({ names: ['other.signed.test'], kind: 'untrusted' });
    ns = await NetNs.create('msbp');
    useValidatingResolver(ns);
    dns = await SignedDns.start(ns, dir, {
      signed: [
        {
          apex: 'signed.test',
          records: [
            'good IN MX 10 mx.good',
            `mx.good IN A ${MX_GOOD}`,
            `_25._tcp.mx.good IN TLSA 3 1 1 ${spkiSha256(good.certPem)}`,
            'bad IN MX 10 mx.bad',
            `mx.bad IN A ${MX_BAD}`,
            // Pins another key than the one mx.bad presents.
            `_25._tcp.mx.bad IN TLSA 3 1 1 ${spkiSha256(other.certPem)}`,
          ],
        },
      ],
      unsigned: [],
    });
    sink = await startSink(ns, dir, [
      { host: MX_GOOD, port: 25, certPath: good.certPath, keyPath: good.keyPath, name: 'mx.good.signed.test' },
      { host: MX_BAD, port: 25, certPath: bad.certPath, keyPath: bad.keyPath, name: 'mx.bad.signed.test' },
    ]);
    postfix = await startDeliveringPostfix(ns, dir, {
      policyMaps: 'inline:{ good.signed.test=dane, bad.signed.test=dane }',
      probe: 'ns:signed.test',
    });
  });

  after(async () => {
    if (postfix !== undefined) await postfix.stop();
    await stopSink(sink);
    if (dns !== undefined) await dns.stop();
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
});
