/**
 * `mta-sts-bridge check` end to end, the real thing: the installed command (bin/), inside a
 * network namespace whose system resolver is the project's DNS server on 127.0.0.1:53, a policy
 * host on 127.0.0.2:443 and real SMTP servers on 127.0.0.x:25 with certificates from the test
 * CA (trusted through NODE_EXTRA_CA_CERTS, as an operator would). One domain has 3 MX hosts, one
 * of which never answers: the run still ends within --timeout. JUnit output is validated with
 * xmllint. DANE with real DNSSEC: a zone signed at test time (ldns-signzone), served by nsd and
 * validated by unbound with the zone's key as trust anchor (harness/signed-dns.ts); `check
 * --resolver` asks it, so `dane-tlsa` reports `validated: true` from the AD bit, and the same
 * records through a resolver that does not validate are `validated: false`.
 */
import { integrationGate } from './harness/gate.js';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findBinary } from './harness/binaries.js';
import { NetNs, type RunResult } from './harness/netns.js';
import { dnssecPrerequisiteProblem, NON_VALIDATING_RESOLVER, SignedDns, VALIDATING_RESOLVER } from './harness/signed-dns.js';
import { repoRoot, stopChild, waitForLine } from './harness/world.js';
import type { ZoneFile } from '../world/dns-server.js';
import type { FakeHttpsConfig } from '../world/https-server.js';
import { createTestPki } from '../world/pki.js';
import type { SmtpListenerFile } from '../world/smtp-server.js';
import { xmllint } from '../unit/check/xmllint.js';

const worldDir = join(repoRoot, 'dist/test/world');
const bin = join(repoRoot, 'bin/mta-sts-bridge.js');
const POLICY = (mx: readonly string[], mode = 'enforce'): string =>
  ['version: STSv1', `mode: ${mode}`, ...mx.map((m) => `mx: ${m}`), 'max_age: 1209600', ''].join('\r\n');

const gate = integrationGate(
  () => (findBinary('xmllint') === undefined ? 'xmllint not found: apt-get install libxml2-utils (bash .ci/run installs it)' : undefined),
  dnssecPrerequisiteProblem,
);

/** Two domains in the signed zone: TLSA matching the MX certificate, and a stale TLSA record. */
function signedZone(spkiSha256: string): { apex: string; records: string[] } {
  const site = (label: string, tlsa: string): string[] => [
    `_mta-sts.${label} IN TXT "v=STSv1; id=1"`,
    `_smtp._tls.${label} IN TXT "v=TLSRPTv1; rua=mailto:tlsrpt@${label}.signed.test"`,
    `mta-sts.${label} IN A 127.0.0.2`,
    `${label} IN MX 10 mx.${label}`,
    `mx.${label} IN A 127.0.0.10`,
    `_25._tcp.mx.${label} IN TLSA 3 1 1 ${tlsa}`,
  ];
  return { apex: 'signed.test', records: [...site('dane', spkiSha256), ...site('stale', 'ab'.repeat(32))] };
}

describe('check in a network namespace, MX hosts on port 25', { skip: gate.skip }, () => {
  let ns: NetNs;
  let dir: string;
  let signed: SignedDns | undefined;
  const children: ChildProcess[] = [];

  before(async () => {
    gate.assertReady();
    dir = mkdtempSync(join(tmpdir(), 'msb-check-it-'));
    const pki = await createTestPki(join(dir, 'pki'));
    const mxCert = await pki.issueLeaf({ names: ['mx1.example.test', 'mx.good.test', 'mx.dane.signed.test', 'mx.stale.signed.test'] });
    const spki = new X509Certificate(readFileSync(mxCert.certPath)).publicKey.export({ type: 'spki', format: 'der' });
    const zone: ZoneFile = {
      zones: ['test'],
      ttl: 0,
      records: {
        '_mta-sts.example.test': { TXT: ['v=STSv1; id=20261205'] },
        '_smtp._tls.example.test': { TXT: ['v=TLSRPTv1; rua=mailto:tlsrpt@example.test'] },
        'mta-sts.example.test': { A: ['127.0.0.2'] },
        'example.test': {
          MX: [
            { preference: 10, exchange: 'mx1.example.test' },
            { preference: 20, exchange: 'mx2.example.test' },
            { preference: 30, exchange: 'mx3.example.test' },
          ],
        },
        'mx1.example.test': { A: ['127.0.0.10'] },
        'mx2.example.test': { A: ['127.0.0.11'] },
        'mx3.example.test': { A: ['127.0.0.12'] },
        '_mta-sts.good.test': { TXT: ['v=STSv1; id=1'] },
        '_smtp._tls.good.test': { TXT: ['v=TLSRPTv1; rua=mailto:tlsrpt@good.test'] },
        'mta-sts.good.test': { A: ['127.0.0.2'] },
        'good.test': { MX: [{ preference: 10, exchange: 'mx.good.test' }] },
        'mx.good.test': { A: ['127.0.0.10'] },
      },
    };
    const https: FakeHttpsConfig = {
      pkiDir: pki.dir,
      listeners: [{ host: '127.0.0.2', port: 443 }],
      hosts: {
        'mta-sts.example.test': { response: { kind: 'body', body: POLICY(['mx1.example.test', 'mx2.example.test', 'mx3.example.test']) } },
        'mta-sts.good.test': { response: { kind: 'body', body: POLICY(['mx.good.test']) } },
        'mta-sts.dane.signed.test': { response: { kind: 'body', body: POLICY(['mx.dane.signed.test']) } },
        'mta-sts.stale.signed.test': { response: { kind: 'body', body: POLICY(['mx.stale.signed.test']) } },
      },
    };
    const smtp: SmtpListenerFile[] = [
      { host: '127.0.0.10', port: 25, behaviour: 'starttls', certPath: mxCert.certPath, keyPath: mxCert.keyPath, name: 'mx1.example.test' },
      { host: '127.0.0.11', port: 25, behaviour: 'hang' },
      { host: '127.0.0.12', port: 25, behaviour: 'no-starttls', name: 'mx3.example.test' },
    ];
    writeFileSync(join(dir, 'zone.json'), JSON.stringify(zone));
    writeFileSync(join(dir, 'https.json'), JSON.stringify(https));
    writeFileSync(join(dir, 'smtp.json'), JSON.stringify(smtp));
    ns = await NetNs.create('msbc');
    const start = (script: string, args: readonly string[]): ChildProcess => {
      const child = ns.spawn(process.execPath, [join(worldDir, script), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      return child;
    };
    const dns = start('dns-server.js', [join(dir, 'zone.json'), '127.0.0.1', '53']);
    const web = start('https-server.js', [join(dir, 'https.json')]);
    const mail = start('smtp-server.js', [join(dir, 'smtp.json')]);
    await Promise.all([waitForLine(dns, 'stdout', /^READY/), waitForLine(web, 'stdout', /^READY/), waitForLine(mail, 'stdout', /^READY/)]);
    mkdirSync(join(dir, 'signed'));
    signed = await SignedDns.start(ns, join(dir, 'signed'), {
      signed: [signedZone(createHash('sha256').update(spki).digest('hex'))],
      unsigned: [],
    });
  });

  after(async () => {
    if (signed !== undefined) await signed.stop();
    await Promise.all(children.map((c) => stopChild(c)));
    if (ns !== undefined) await ns.destroy();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const check = (args: readonly string[]): Promise<RunResult> =>
    ns.run('env', [`NODE_EXTRA_CA_CERTS=${join(dir, 'pki', 'root-ca', 'ca.crt')}`, 'NO_COLOR=1', process.execPath, bin, 'check', ...args], {
      timeoutMs: 60_000,
    });

  it('a domain set up right passes: exit 0', async () => {
    const r = await check(['good.test']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^good\.test: PASS/m);
    assert.match(r.stdout, /ok {2}mx-cert \[mx\.good\.test 127\.0\.0\.10\]: certificate valid for mx\.good\.test/);
  });

  it('3 MX hosts, one hanging: the run ends within --timeout, every host judged, JUnit valid, exit 1', async () => {
    const junit = join(dir, 'report.xml');
    const started = Date.now();
    const r = await check(['--timeout', '6', '--junit', junit, 'example.test', 'good.test']);
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 6000 + 1500, `took ${elapsed} ms (node start included)`);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /ok {2}mx-starttls \[mx1\.example\.test 127\.0\.0\.10\]/);
    assert.match(r.stdout, /FAIL mx-starttls \[mx2\.example\.test 127\.0\.0\.11\]: no 220 greeting in time/);
    assert.match(r.stdout, /FAIL mx-starttls \[mx3\.example\.test 127\.0\.0\.12\]: STARTTLS not offered/);
    assert.match(r.stdout, /WARN sender-view: mail flows via mx1\.example\.test; senders skip mx2\.example\.test .*mx3\.example\.test/);
    const xml = readFileSync(junit, 'utf8');
    const lint = xmllint(xml);
    assert.equal(lint.status, 0, lint.stderr);
    assert.match(xml, /<testsuite name="example\.test" tests="\d+" failures="2"/);
    assert.match(xml, /<testsuite name="good\.test" tests="\d+" failures="0" errors="0" skipped="0"/);
  });

  it('--json through the system resolver: the TXT record, the policy and the certificate as evidence', async () => {
    const r = await check(['--json', 'good.test']);
    const doc = JSON.parse(r.stdout) as { domains: Array<{ checks: Array<{ id: string; evidence: Record<string, unknown> }> }> };
    const checks = doc.domains[0]?.checks ?? [];
    assert.equal(checks.find((c) => c.id === 'sts-txt')?.evidence['id'], '1');
    assert.deepEqual(checks.find((c) => c.id === 'mx-cert')?.evidence['dnsNames'], [
      'mx1.example.test',
      'mx.good.test',
      'mx.dane.signed.test',
      'mx.stale.signed.test',
    ]);
    assert.equal(
      checks.find((c) => c.id === 'dane-tlsa')?.evidence['dns'],
      'nxdomain',
      'TLSA asked of the system resolver (/etc/resolv.conf, no --resolver)',
    );
  });

  type JsonReport = {
    domains: Array<{
      domain: string;
      result: string;
      checks: Array<{ id: string; level: string; subject?: string; evidence: Record<string, unknown> }>;
    }>;
  };
  const daneOf = (doc: JsonReport, domain: string) =>
    doc.domains.find((d) => d.domain === domain)?.checks.find((c) => c.id === 'dane-tlsa' && c.subject === `mx.${domain} 127.0.0.10`);

  it('DANE through a validating resolver (unbound over a signed zone): validated TLSA matching the certificate passes, a stale one fails', async () => {
    const r = await check(['--resolver', VALIDATING_RESOLVER, '--json', 'dane.signed.test', 'stale.signed.test']);
    const doc = JSON.parse(r.stdout) as JsonReport;
    const good = daneOf(doc, 'dane.signed.test');
    assert.equal(good?.level, 'info', JSON.stringify(doc, null, 2));
    assert.equal(good?.evidence['validated'], true, 'the AD bit of the validating resolver');
    assert.equal(doc.domains[0]?.result, 'pass', JSON.stringify(doc.domains[0]?.checks.filter((c) => c.level !== 'info')));
    const stale = daneOf(doc, 'stale.signed.test');
    assert.equal(stale?.level, 'error');
    assert.equal(stale?.evidence['validated'], true);
    assert.equal(doc.domains[1]?.checks.find((c) => c.id === 'sender-view')?.level, 'error', 'DANE senders deliver to no MX host');
    assert.equal(r.code, 1, r.stderr);
  });

  it('the same records through a resolver that does not validate: validated false, a warning, no refusal', async () => {
    const r = await check(['--resolver', `${NON_VALIDATING_RESOLVER}:53`, '--json', 'dane.signed.test', 'stale.signed.test']);
    const doc = JSON.parse(r.stdout) as JsonReport;
    for (const domain of ['dane.signed.test', 'stale.signed.test']) {
      const c = daneOf(doc, domain);
      assert.equal(c?.level, 'warning', `${domain}: ${JSON.stringify(c)}`);
      assert.equal(c?.evidence['validated'], false);
      assert.equal(doc.domains.find((d) => d.domain === domain)?.checks.find((x) => x.id === 'sender-view')?.level, 'info');
    }
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(
      (await check(['--strict', '--resolver', NON_VALIDATING_RESOLVER, 'dane.signed.test'])).code,
      1,
      'the warning fails with --strict',
    );
  });
});
