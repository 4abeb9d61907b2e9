/** TLSA matching (RFC 6698 §2.1, RFC 7672 §3.1) against certificates of the test PKI. */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { associationData, formatTlsa, matchTlsa, tlsaName, tlsaSourceFromDnssec, unusableReason, type DnssecTlsaClient, type TlsaRecord } from '../../../src/check/tlsa.js';
import { parseServer, readAnswer } from '../../../src/check/tlsa-dns.js';
import { createTestPki } from '../../world/pki.js';

let leaf: Buffer;
let ca: Buffer;
const rec = (usage: number, selector: number, matchingType: number, data: Buffer): TlsaRecord => ({ usage, selector, matchingType, data });
const sha = (alg: string, b: Buffer): Buffer => createHash(alg).update(b).digest();
const spki = (der: Buffer): Buffer => new X509Certificate(der).publicKey.export({ type: 'spki', format: 'der' });

before(async () => {
  const pki = await createTestPki(mkdtempSync(join(tmpdir(), 'check-tlsa-')));
  leaf = new X509Certificate((await pki.issueLeaf({ names: ['mx.example.test'] })).certPem).raw;
  ca = new X509Certificate(pki.caCertPem).raw;
});

describe('TLSA matching', () => {
  it('DANE-EE (3): every selector and matching type against the leaf', () => {
    for (const [selector, selected] of [[0, () => leaf], [1, () => spki(leaf)]] as const) {
      for (const [matchingType, data] of [[0, selected()], [1, sha('sha256', selected())], [2, sha('sha512', selected())]] as const) {
        const m = matchTlsa([rec(3, selector, matchingType, data)], [leaf, ca]);
        assert.deepEqual(m, { kind: 'match', record: formatTlsa(rec(3, selector, matchingType, data)), position: 0 }, `3 ${selector} ${matchingType}`);
      }
    }
  });
  it('DANE-EE does not match the issuer; DANE-TA (2) matches it but not the leaf', () => {
    assert.equal(matchTlsa([rec(3, 1, 1, sha('sha256', spki(ca)))], [leaf, ca]).kind, 'no-match');
    assert.deepEqual(matchTlsa([rec(2, 0, 1, sha('sha256', ca))], [leaf, ca]), { kind: 'match', record: formatTlsa(rec(2, 0, 1, sha('sha256', ca))), position: 1 });
    assert.equal(matchTlsa([rec(2, 1, 1, sha('sha256', spki(leaf)))], [leaf, ca]).kind, 'no-match');
    assert.equal(matchTlsa([rec(2, 0, 1, sha('sha256', ca))], [leaf]).kind, 'no-match', 'the anchor must be sent');
  });
  it('a wrong digest does not match; usable and unusable records are counted', () => {
    assert.deepEqual(matchTlsa([rec(3, 1, 1, Buffer.alloc(32)), rec(0, 0, 1, sha('sha256', leaf))], [leaf]), { kind: 'no-match', usable: 1, unusable: 1 });
  });
  it('PKIX usages, unknown selectors or matching types and wrong digest lengths are unusable', () => {
    assert.equal(unusableReason(rec(0, 0, 1, Buffer.alloc(32))), 'pkix-usage');
    assert.equal(unusableReason(rec(1, 0, 1, Buffer.alloc(32))), 'pkix-usage');
    assert.equal(unusableReason(rec(4, 0, 1, Buffer.alloc(32))), 'unknown-usage');
    assert.equal(unusableReason(rec(3, 2, 1, Buffer.alloc(32))), 'unknown-selector');
    assert.equal(unusableReason(rec(3, 1, 3, Buffer.alloc(32))), 'unknown-matching-type');
    assert.equal(unusableReason(rec(3, 1, 1, Buffer.alloc(31))), 'malformed-data');
    assert.equal(unusableReason(rec(3, 1, 2, Buffer.alloc(64))), undefined);
    assert.deepEqual(matchTlsa([rec(1, 0, 1, sha('sha256', leaf))], [leaf]), { kind: 'unusable', reasons: ['pkix-usage'] });
  });
  it('association data and names', () => {
    assert.deepEqual(associationData(leaf, 1, 1), sha('sha256', spki(leaf)));
    assert.equal(associationData(leaf, 5, 1), undefined);
    assert.equal(tlsaName('mx.example.test'), '_25._tcp.mx.example.test');
    assert.equal(formatTlsa(rec(3, 1, 1, Buffer.from([0xab, 0x01]))), '3 1 1 ab01');
  });
});

describe('the TLSA source on a DNSSEC client (the DANE work)', () => {
  it('turns the AD bit into validated yes or no, and passes errors through', async () => {
    const data = Buffer.alloc(32, 3);
    const answers: Record<string, Awaited<ReturnType<DnssecTlsaClient['query']>>> = {
      a: { kind: 'records', secure: true, records: [rec(3, 1, 1, data)] },
      b: { kind: 'records', secure: false, records: [rec(3, 1, 1, data)] },
      c: { kind: 'nxdomain', secure: true },
      d: { kind: 'error', code: 'ESERVFAIL', message: 'bogus' },
    };
    const source = tlsaSourceFromDnssec({ query: async (name) => answers[name]! });
    assert.deepEqual(await source.lookupTlsa('a', 1000), { kind: 'records', records: [rec(3, 1, 1, data)], validated: 'yes' });
    assert.equal(((await source.lookupTlsa('b', 1000)) as { validated: string }).validated, 'no');
    assert.deepEqual(await source.lookupTlsa('c', 1000), { kind: 'nxdomain', validated: 'yes' });
    assert.deepEqual(await source.lookupTlsa('d', 1000), { kind: 'error', code: 'ESERVFAIL', message: 'bogus' });
  });
});

describe('the plain DNS TLSA source', () => {
  it('reads resolver addresses as getServers() writes them', () => {
    assert.deepEqual(parseServer('127.0.0.1'), { host: '127.0.0.1', port: 53 });
    assert.deepEqual(parseServer('127.0.0.1:5353'), { host: '127.0.0.1', port: 5353 });
    assert.deepEqual(parseServer('[::1]:5353'), { host: '::1', port: 5353 });
    assert.deepEqual(parseServer('::1'), { host: '::1', port: 53 });
  });
  it('answers records, NODATA, NXDOMAIN and errors, always validated: unknown', () => {
    const data = Buffer.alloc(32, 1);
    const base = { type: 'response' as const, id: 1, flag_qr: true, flag_aa: false, flag_tc: false, flag_rd: true, flag_ra: true, flag_z: false, flag_cd: false };
    const records = readAnswer({ ...base, flags: 0x8180, flag_ad: true, answers: [{ type: 'TLSA', name: '_25._tcp.mx.test', data: { usage: 3, selector: 1, matchingType: 1, certificate: data } }] }, '_25._tcp.mx.test');
    assert.deepEqual(records, { kind: 'records', records: [rec(3, 1, 1, data)], validated: 'unknown', ad: true });
    assert.deepEqual(readAnswer({ ...base, flags: 0x8180, flag_ad: false, answers: [] }, 'n'), { kind: 'nodata', validated: 'unknown', ad: false });
    assert.equal(readAnswer({ ...base, flags: 0x8183, flag_ad: false }, 'n').kind, 'nxdomain');
    assert.deepEqual(readAnswer({ ...base, flags: 0x8182, flag_ad: false }, 'n'), { kind: 'error', code: 'ESERVFAIL', message: 'TLSA lookup of n: SERVFAIL' });
  });
});

describe('the plain DNS TLSA source over the wire', () => {
  it('asks with DO and AD, retries over TCP when the UDP answer is truncated, and times out', async () => {
    const dgram = await import('node:dgram');
    const net = await import('node:net');
    const dnsPacket = (await import('dns-packet')).default;
    const { createDnsPacketTlsaSource } = await import('../../../src/check/tlsa-dns.js');
    const data = Buffer.alloc(32, 9);
    const seen: Array<{ transport: string; do: boolean; ad: boolean }> = [];
    const answer = (q: Buffer, truncated: boolean): Buffer => {
      const query = dnsPacket.decode(q);
      const opt = (query.additionals ?? []).find((a) => a.type === 'OPT') as { flag_do?: boolean } | undefined;
      seen.push({ transport: truncated ? 'udp' : 'tcp', do: opt?.flag_do === true, ad: query.flag_ad });
      return dnsPacket.encode({
        type: 'response', id: query.id ?? 0, flags: dnsPacket.RECURSION_AVAILABLE | (truncated ? dnsPacket.TRUNCATED_RESPONSE : 0), questions: query.questions ?? [],
        answers: truncated ? [] : [{ type: 'TLSA', name: '_25._tcp.mx.test', ttl: 0, data: { usage: 3, selector: 1, matchingType: 1, certificate: data } }],
      });
    };
    const udp = dgram.createSocket('udp4');
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
    const port = udp.address().port;
    udp.on('message', (msg, rinfo) => udp.send(answer(msg, true), rinfo.port, rinfo.address));
    const tcp = net.createServer((s) => s.on('data', (b: Buffer) => {
      const reply = answer(b.subarray(2), false);
      const prefix = Buffer.alloc(2);
      prefix.writeUInt16BE(reply.length);
      s.end(Buffer.concat([prefix, reply]));
    }));
    await new Promise<void>((r) => tcp.listen(port, '127.0.0.1', () => r()));
    try {
      const got = await createDnsPacketTlsaSource({ servers: [`127.0.0.1:${port}`] }).lookupTlsa('_25._tcp.mx.test', 2000);
      assert.deepEqual(got, { kind: 'records', records: [rec(3, 1, 1, data)], validated: 'unknown', ad: false });
      assert.deepEqual(seen, [{ transport: 'udp', do: true, ad: true }, { transport: 'tcp', do: true, ad: true }]);
    } finally {
      udp.close();
      tcp.close();
    }
    // Nobody answers here: a timeout, as a value.
    const silent = dgram.createSocket('udp4');
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()));
    try {
      const t = await createDnsPacketTlsaSource({ servers: [`127.0.0.1:${silent.address().port}`] }).lookupTlsa('_25._tcp.mx.test', 200);
      assert.equal(t.kind === 'error' ? t.code : t.kind, 'ETIMEOUT');
    } finally {
      silent.close();
    }
  });
});
