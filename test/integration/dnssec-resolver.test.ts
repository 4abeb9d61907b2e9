/**
 * The DANE side's DNSSEC client against real parts: zones signed at test time (ldns-signzone),
 * served by nsd, validated by unbound with the test trust anchor, inside a test namespace.
 * Cases: validated TLSA, authenticated NXDOMAIN and NODATA, unsigned, a broken signature
 * (bogus → SERVFAIL), truncation to TCP through unbound, a resolver that does not validate,
 * and the DANE finding of each kind of domain. Missing binaries fail the test (never a silent
 * skip): see .ci/install-dnssec.sh.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { integrationGate } from './harness/gate.js';
import { NetNs } from './harness/netns.js';
import { dnssecPrerequisiteProblem, NON_VALIDATING_RESOLVER, SignedDns, VALIDATING_RESOLVER } from './harness/signed-dns.js';
import { repoRoot } from './harness/world.js';

const H1 = 'ab'.repeat(32);
const H2 = 'cd'.repeat(32);
const H_TAMPERED = 'ef'.repeat(32);

const SIGNED = {
  apex: 'signed.test',
  records: [
    'dane IN MX 10 mx.dane',
    'mx.dane IN A 127.0.0.40',
    `_25._tcp.mx.dane IN TLSA 3 1 1 ${H1}`,
    'sts-only IN MX 10 mx.sts-only',
    'mx.sts-only IN A 127.0.0.41',
    'mixed IN MX 10 mx1.mixed',
    'mixed IN MX 20 mx2.mixed',
    'mx1.mixed IN A 127.0.0.42',
    'mx2.mixed IN A 127.0.0.43',
    `_25._tcp.mx1.mixed IN TLSA 3 1 1 ${H1}`,
    'bogus IN MX 10 mx.bogus',
    'mx.bogus IN A 127.0.0.44',
    `_25._tcp.mx.bogus IN TLSA 3 1 1 ${H2}`,
    'unusable IN MX 10 mx.unusable',
    'mx.unusable IN A 127.0.0.46',
    `_25._tcp.mx.unusable IN TLSA 1 1 1 ${H1}`,
    // 20 SHA-512 records and their signature: well above 1232 octets, so TC and TCP.
    ...Array.from({ length: 20 }, (_, i) => `_25._tcp.big IN TLSA 3 1 2 ${i.toString(16).padStart(2, '0').repeat(64)}`),
  ],
};
const PLAIN = {
  apex: 'plain.test',
  records: ['@ IN MX 10 mx', 'mx IN A 127.0.0.45', `_25._tcp.mx IN TLSA 3 1 1 ${H1}`],
};

const gate = integrationGate(dnssecPrerequisiteProblem);
const CLI = join(repoRoot, 'dist/test/world/dnssec-query.js');

describe('DNSSEC client against nsd + unbound with a test trust anchor', { skip: gate.skip }, () => {
  let ns: NetNs;
  let dir: string;
  let world: SignedDns;

  before(async () => {
    gate.assertReady();
    dir = mkdtempSync(join(tmpdir(), 'msb-dnssec-'));
    ns = await NetNs.create('msbd');
    world = await SignedDns.start(ns, dir, {
      signed: [SIGNED],
      unsigned: [PLAIN],
      tamper: [{ apex: 'signed.test', from: H2, to: H_TAMPERED }],
    });
  });

  after(async () => {
    if (world !== undefined) await world.stop();
    if (ns !== undefined) await ns.destroy();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  async function cli(...args: string[]): Promise<Record<string, unknown>> {
    const r = await ns.run(process.execPath, [CLI, ...args], { timeoutMs: 20_000 });
    assert.equal(r.code, 0, `dnssec-query ${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  }
  const query = (type: string, name: string, resolver = VALIDATING_RESOLVER) => cli('query', resolver, type, name);
  const find = (domain: string, resolver = VALIDATING_RESOLVER) => cli('find', resolver, domain);

  it('a validated TLSA RRset comes back with AD', async () => {
    const r = await query('TLSA', '_25._tcp.mx.dane.signed.test');
    assert.equal(r.kind, 'records');
    assert.equal(r.secure, true);
    assert.deepEqual(r.records, [{ usage: 3, selector: 1, matchingType: 1, data: H1 }]);
  });

  it('authenticated NXDOMAIN and NODATA', async () => {
    const nx = await query('TLSA', '_25._tcp.nothing.signed.test');
    assert.deepEqual([nx.kind, nx.secure], ['nxdomain', true]);
    const nodata = await query('TLSA', 'mx.dane.signed.test');
    assert.deepEqual([nodata.kind, nodata.secure], ['nodata', true]);
    assert.equal(typeof nodata.ttl, 'number');
  });

  it('an unsigned zone answers without AD', async () => {
    const r = await query('MX', 'plain.test');
    assert.deepEqual([r.kind, r.secure], ['records', false]);
    const t = await query('TLSA', '_25._tcp.mx.plain.test');
    assert.deepEqual([t.kind, t.secure], ['records', false]);
  });

  it('a broken signature is bogus: SERVFAIL from the validating resolver', async () => {
    const r = await query('TLSA', '_25._tcp.mx.bogus.signed.test');
    assert.deepEqual([r.kind, r.code], ['error', 'EDANE_DNS_SERVFAIL']);
    // The resolver without the validator passes the tampered data on, without AD.
    const plain = await query('TLSA', '_25._tcp.mx.bogus.signed.test', NON_VALIDATING_RESOLVER);
    assert.deepEqual([plain.kind, plain.secure], ['records', false]);
  });

  it('a large validated RRset is truncated over UDP and read over TCP', async () => {
    const r = await query('TLSA', '_25._tcp.big.signed.test');
    assert.equal(r.kind, 'records');
    assert.equal(r.secure, true);
    assert.equal((r.records as unknown[]).length, 20);
  });

  it('a resolver that does not validate: no AD, and the probe says so', async () => {
    const r = await query('MX', 'dane.signed.test', NON_VALIDATING_RESOLVER);
    assert.deepEqual([r.kind, r.secure], ['records', false]);
    assert.deepEqual(await cli('probe', NON_VALIDATING_RESOLVER, 'NS', 'signed.test'), { kind: 'not-validating', answer: 'records' });
    assert.deepEqual(await cli('probe', VALIDATING_RESOLVER, 'NS', 'signed.test'), { kind: 'validating' });
  });

  it('DANE findings: dane, STS-only signed, mixed, unusable, unsigned, bogus, no AD', async () => {
    const dane = await find('dane.signed.test');
    assert.equal(dane.kind, 'dane');
    const stsOnly = await find('sts-only.signed.test');
    assert.deepEqual([stsOnly.kind, stsOnly.reason], ['no-dane', 'no-tlsa']);
    const mixed = await find('mixed.signed.test');
    assert.equal(mixed.kind, 'mixed');
    assert.deepEqual(
      (mixed.hosts as Array<{ host: string; dane: { kind: string } }>).map((h) => [h.host, h.dane.kind]),
      [
        ['mx1.mixed.signed.test', 'dane'],
        ['mx2.mixed.signed.test', 'no-dane'],
      ],
    );
    const unusable = await find('unusable.signed.test');
    assert.deepEqual([unusable.kind, unusable.reason], ['no-dane', 'no-tlsa']);
    const plain = await find('plain.test');
    assert.deepEqual([plain.kind, plain.reason], ['no-dane', 'mx-insecure']);
    const bogus = await find('bogus.signed.test');
    assert.deepEqual([bogus.kind, bogus.code, bogus.side, bogus.host], ['failed', 'EDANE_DNS_SERVFAIL', 'remote', 'mx.bogus.signed.test']);
    const nx = await find('nothing.signed.test');
    assert.deepEqual([nx.kind, nx.reason], ['no-dane', 'domain-nxdomain']);
    const noAd = await find('dane.signed.test', NON_VALIDATING_RESOLVER);
    assert.deepEqual([noAd.kind, noAd.reason], ['no-dane', 'mx-insecure']);
  });
});
