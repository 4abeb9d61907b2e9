import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DANE_MAX_MX_HOSTS, findDane } from '../../../src/dane/finding.js';
import { EE, PKIX, ScriptedDnssec } from '../../helpers/dnssec-fakes.js';

/** example.test with MX hosts mx1, mx2 (both with addresses). */
function world(): ScriptedDnssec {
  return new ScriptedDnssec()
    .records('MX', 'example.test', [
      { preference: 20, exchange: 'mx2.example.test' },
      { preference: 10, exchange: 'mx1.example.test' },
    ])
    .records('A', 'mx1.example.test', ['192.0.2.1'])
    .records('A', 'mx2.example.test', ['192.0.2.2']);
}

describe('findDane', () => {
  it('every MX host with a validated usable TLSA RRset: dane, hosts by preference, smallest TTL', async () => {
    const dns = world()
      .records('TLSA', '_25._tcp.mx1.example.test', [EE], true, 120)
      .records('TLSA', '_25._tcp.mx2.example.test', [EE, PKIX]);
    const f = await findDane(dns, 'Example.Test.', 1000);
    assert.equal(f.kind, 'dane');
    assert.equal(f.domain, 'example.test');
    assert.deepEqual(
      f.hosts.map((h) => [h.host, h.dane.kind]),
      [
        ['mx1.example.test', 'dane'],
        ['mx2.example.test', 'dane'],
      ],
    );
    assert.equal(f.kind === 'dane' && f.ttl, 120);
    const mx2 = f.hosts[1]?.dane;
    assert.equal(mx2?.kind === 'dane' && mx2.unusable, 1);
  });
  it('some hosts only: mixed', async () => {
    const dns = world().records('TLSA', '_25._tcp.mx1.example.test', [EE]);
    const f = await findDane(dns, 'example.test', 1000);
    assert.equal(f.kind, 'mixed');
    assert.deepEqual(f.hosts[1]?.dane, { kind: 'no-dane', reason: 'tlsa-absent', tlsaName: '_25._tcp.mx2.example.test' });
  });
  it('only unusable TLSA records: no DANE (RFC 7672 §3.1)', async () => {
    const dns = world().records('TLSA', '_25._tcp.mx1.example.test', [PKIX]).records('TLSA', '_25._tcp.mx2.example.test', [PKIX]);
    const f = await findDane(dns, 'example.test', 1000);
    assert.equal(f.kind === 'no-dane' && f.reason, 'no-tlsa');
    assert.equal(f.hosts[0]?.dane.kind === 'no-dane' && f.hosts[0].dane.reason, 'tlsa-unusable');
  });
  it('an unsigned MX RRset: no DANE, no TLSA asked', async () => {
    const dns = world().records('MX', 'example.test', [{ preference: 10, exchange: 'mx1.example.test' }], false);
    const f = await findDane(dns, 'example.test', 1000);
    assert.equal(f.kind === 'no-dane' && f.reason, 'mx-insecure');
    assert.deepEqual(dns.asked, ['MX example.test']);
  });
  it('validated NXDOMAIN, insecure NXDOMAIN, null MX', async () => {
    const dns = new ScriptedDnssec();
    assert.equal((await findDane(dns, 'gone.test', 1000)).kind === 'no-dane', true);
    const f1 = await findDane(dns, 'gone.test', 1000);
    assert.equal(f1.kind === 'no-dane' && f1.reason, 'domain-nxdomain');
    dns.set('MX', 'plain.test', { kind: 'nxdomain', secure: false, owner: 'plain.test', ttl: 5 });
    const f2 = await findDane(dns, 'plain.test', 1000);
    assert.equal(f2.kind === 'no-dane' && f2.reason, 'mx-insecure');
    dns.records('MX', 'nomail.test', [{ preference: 0, exchange: '' }]);
    const f3 = await findDane(dns, 'nomail.test', 1000);
    assert.equal(f3.kind === 'no-dane' && f3.reason, 'null-mx');
  });
  it('validated NODATA for MX: the domain itself is the host (implicit MX)', async () => {
    const dns = new ScriptedDnssec()
      .set('MX', 'solo.test', { kind: 'nodata', secure: true, owner: 'solo.test', ttl: 60 })
      .records('A', 'solo.test', ['192.0.2.9'])
      .records('TLSA', '_25._tcp.solo.test', [EE]);
    const f = await findDane(dns, 'solo.test', 1000);
    assert.equal(f.kind, 'dane');
    assert.equal(f.hosts[0]?.host, 'solo.test');
  });
  it('an insecure host address: no TLSA lookup for that host (RFC 7672 §2.2.2)', async () => {
    const dns = world()
      .records('A', 'mx2.example.test', ['192.0.2.2'], false)
      .records('TLSA', '_25._tcp.mx1.example.test', [EE])
      .records('TLSA', '_25._tcp.mx2.example.test', [EE]);
    const f = await findDane(dns, 'example.test', 1000);
    assert.equal(f.kind, 'mixed');
    assert.equal(f.hosts[1]?.dane.kind === 'no-dane' && f.hosts[1].dane.reason, 'address-insecure');
    assert.equal(dns.asked.includes('TLSA _25._tcp.mx2.example.test'), false);
  });
  it('an IPv6-only host, a host without any address', async () => {
    const dns = world()
      .set('A', 'mx1.example.test', { kind: 'nodata', secure: true, owner: 'mx1.example.test', ttl: 60 })
      .records('AAAA', 'mx1.example.test', ['2001:db8::1'])
      .records('TLSA', '_25._tcp.mx1.example.test', [EE])
      .set('A', 'mx2.example.test', { kind: 'nxdomain', secure: true, owner: 'mx2.example.test', ttl: 60 });
    const f = await findDane(dns, 'example.test', 1000);
    assert.equal(f.hosts[0]?.dane.kind, 'dane');
    assert.equal(f.hosts[1]?.dane.kind === 'no-dane' && f.hosts[1].dane.reason, 'address-absent');
  });
  it('a CNAME-expanded host: TLSA at the target first, then at the original name', async () => {
    const dns = world()
      .set('A', 'mx1.example.test', { kind: 'records', secure: true, owner: 'real.example.net', records: ['192.0.2.1'], ttl: 60 })
      .records('TLSA', '_25._tcp.real.example.net', [EE])
      .set('A', 'mx2.example.test', { kind: 'records', secure: true, owner: 'other.example.net', records: ['192.0.2.2'], ttl: 60 })
      .records('TLSA', '_25._tcp.mx2.example.test', [EE]);
    const f = await findDane(dns, 'example.test', 1000);
    assert.equal(f.kind, 'dane');
    assert.equal(f.hosts[0]?.dane.kind === 'dane' && f.hosts[0].dane.tlsaName, '_25._tcp.real.example.net');
    assert.equal(f.hosts[1]?.dane.kind === 'dane' && f.hosts[1].dane.tlsaName, '_25._tcp.mx2.example.test');
  });
  it('a bogus TLSA answer (SERVFAIL) of one host fails the finding: remote', async () => {
    const dns = world()
      .records('TLSA', '_25._tcp.mx1.example.test', [EE])
      .set('TLSA', '_25._tcp.mx2.example.test', { kind: 'error', code: 'EDANE_DNS_SERVFAIL', message: 'bogus' });
    const f = await findDane(dns, 'example.test', 1000);
    assert.equal(f.kind, 'failed');
    if (f.kind === 'failed') {
      assert.deepEqual([f.code, f.side, f.stage, f.host], ['EDANE_DNS_SERVFAIL', 'remote', 'host', 'mx2.example.test']);
    }
  });
  it('a failed MX lookup: failed at the MX stage; a local fault is local', async () => {
    const dns = new ScriptedDnssec().set('MX', 'x.test', { kind: 'error', code: 'EDANE_DNS_NETWORK', message: 'ECONNREFUSED' });
    const f = await findDane(dns, 'x.test', 1000);
    assert.equal(f.kind === 'failed' && `${f.stage} ${f.side}`, 'mx local');
    const dns2 = world().set('A', 'mx1.example.test', { kind: 'error', code: 'EDANE_DNS_TIMEOUT', message: 't' });
    const f2 = await findDane(dns2, 'example.test', 1000);
    assert.equal(f2.kind === 'failed' && `${f2.stage} ${f2.side} ${f2.host}`, 'host remote mx1.example.test');
  });
  it(`more than ${DANE_MAX_MX_HOSTS} MX hosts: the rest are not checked, so never all-DANE`, async () => {
    const dns = new ScriptedDnssec().records(
      'MX',
      'many.test',
      Array.from({ length: DANE_MAX_MX_HOSTS + 2 }, (_, i) => ({ preference: i, exchange: `mx${i}.many.test` })),
    );
    for (let i = 0; i < DANE_MAX_MX_HOSTS + 2; i++)
      dns.records('A', `mx${i}.many.test`, ['192.0.2.1']).records('TLSA', `_25._tcp.mx${i}.many.test`, [EE]);
    const f = await findDane(dns, 'many.test', 1000);
    assert.equal(f.kind, 'mixed');
    assert.equal(f.hosts.filter((h) => h.dane.kind === 'no-dane' && h.dane.reason === 'not-checked').length, 2);
  });
});
