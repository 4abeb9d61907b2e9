/**
 * The DNSSEC-aware client against the fake DNS server over loopback (real UDP and TCP), with
 * the server standing in for a validating resolver (AD on answers from its secure zones), plus
 * small raw responders for what a well-behaved server never sends.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import dnsPacket from 'dns-packet';
import { createDnssecDns } from '../../../src/dane/dnssec-client.js';
import { EDNS_UDP_PAYLOAD, encodeQuery, interpretAnswer, readMessage } from '../../../src/dane/dns-message.js';
import type { ResolverAddress } from '../../../src/dane/resolver-address.js';
import type { DnssecDns } from '../../../src/dane/types.js';
import { FakeDns, type ZoneRecords } from '../../world/dns-server.js';

const HASH = 'ab'.repeat(32);
const ZONE: ZoneRecords = {
  'signed.test': { MX: [{ preference: 10, exchange: 'mx.signed.test' }] },
  'mx.signed.test': { A: ['127.0.0.20'] },
  '_25._tcp.mx.signed.test': { TLSA: [{ usage: 3, selector: 1, matchingType: 1, data: HASH }] },
  'alias.signed.test': { CNAME: 'mx.signed.test' },
  'alias.plain.test': { CNAME: 'mx.signed.test' },
  'plain.test': { MX: [{ preference: 10, exchange: 'mx.plain.test' }] },
  // 40 TLSA records of 64 octets: far above 1232 octets, so TC then TCP.
  '_25._tcp.big.signed.test': {
    TLSA: Array.from({ length: 40 }, (_, i) => ({
      usage: 3,
      selector: 1,
      matchingType: 2,
      data: i.toString(16).padStart(2, '0').repeat(64),
    })),
  },
  'bogus.signed.test': { behaviour: 'servfail' },
  'refused.signed.test': { behaviour: 'refused' },
  'drop.signed.test': { behaviour: 'drop' },
};

let fake: FakeDns;
let dns: DnssecDns;
let server: ResolverAddress;

before(async () => {
  fake = new FakeDns({ zones: ['test'], records: ZONE, ttl: 300, secureZones: ['signed.test'] });
  const { port } = await fake.start();
  server = { host: '127.0.0.1', port, family: 4 };
  dns = createDnssecDns(server);
});
after(async () => {
  await fake.stop();
});

describe('DnssecDns against a validating stand-in', () => {
  it('reads validated MX and TLSA records with AD', async () => {
    const mx = await dns.query('signed.test', 'MX', 2000);
    assert.deepEqual(mx, {
      kind: 'records',
      secure: true,
      owner: 'signed.test',
      records: [{ preference: 10, exchange: 'mx.signed.test' }],
      ttl: 300,
    });
    const tlsa = await dns.query('_25._tcp.mx.signed.test', 'TLSA', 2000);
    assert.equal(tlsa.kind, 'records');
    if (tlsa.kind === 'records') {
      assert.equal(tlsa.secure, true);
      assert.equal(tlsa.records.length, 1);
      assert.deepEqual(
        { ...tlsa.records[0], data: tlsa.records[0]?.data.toString('hex') },
        { usage: 3, selector: 1, matchingType: 1, data: HASH },
      );
    }
  });
  it('sends DO and AD, never CD', async () => {
    const before = fake.queries.length;
    await dns.query('signed.test', 'MX', 2000);
    assert.equal(fake.queries.length, before + 1);
    const q = dnsPacket.decode(encodeQuery(7, 'x.test', 'MX'));
    const opt = q.additionals?.find((a) => a.type === 'OPT');
    assert.ok(opt !== undefined && 'flag_do' in opt && opt.flag_do);
    assert.equal(q.flag_ad, true);
    assert.equal(q.flag_cd, false);
    assert.equal(q.flag_rd, true);
  });
  it('reads unsigned answers without AD', async () => {
    const mx = await dns.query('plain.test', 'MX', 2000);
    assert.equal(mx.kind, 'records');
    assert.equal(mx.kind === 'records' && mx.secure, false);
  });
  it('authenticated NXDOMAIN and NODATA, with the SOA negative TTL', async () => {
    assert.deepEqual(await dns.query('nothing.signed.test', 'TLSA', 2000), {
      kind: 'nxdomain',
      secure: true,
      owner: 'nothing.signed.test',
      ttl: 300,
    });
    assert.deepEqual(await dns.query('mx.signed.test', 'TLSA', 2000), { kind: 'nodata', secure: true, owner: 'mx.signed.test', ttl: 300 });
    assert.deepEqual(await dns.query('nothing.plain.test', 'MX', 2000), {
      kind: 'nxdomain',
      secure: false,
      owner: 'nothing.plain.test',
      ttl: 300,
    });
  });
  it('follows CNAMEs to the owner; AD only when the whole chain is secure', async () => {
    const a = await dns.query('alias.signed.test', 'A', 2000);
    assert.deepEqual(a, { kind: 'records', secure: true, owner: 'mx.signed.test', records: ['127.0.0.20'], ttl: 300 });
    const b = await dns.query('alias.plain.test', 'A', 2000);
    assert.equal(b.kind === 'records' && b.secure, false);
  });
  it('SERVFAIL (what a validating resolver answers for bogus data) and REFUSED are errors', async () => {
    const bogus = await dns.query('bogus.signed.test', 'TLSA', 2000);
    assert.equal(bogus.kind === 'error' && bogus.code, 'EDANE_DNS_SERVFAIL');
    const refused = await dns.query('refused.signed.test', 'MX', 2000);
    assert.equal(refused.kind === 'error' && refused.code, 'EDANE_DNS_REFUSED');
  });
  it('a truncated UDP answer is asked again over TCP', async () => {
    fake.queries.length = 0;
    const big = await dns.query('_25._tcp.big.signed.test', 'TLSA', 3000);
    assert.equal(big.kind, 'records');
    assert.equal(big.kind === 'records' && big.records.length, 40);
    assert.equal(big.kind === 'records' && big.secure, true);
    assert.deepEqual(
      fake.queries.map((q) => q.transport),
      ['udp', 'tcp'],
    );
  });
  it('a silent server is a timeout within the deadline', async () => {
    const start = Date.now();
    const r = await dns.query('drop.signed.test', 'MX', 400);
    const ms = Date.now() - start;
    assert.equal(r.kind === 'error' && r.code, 'EDANE_DNS_TIMEOUT');
    assert.ok(ms >= 350 && ms < 1500, `took ${ms} ms`);
  });
});

/**
 * A UDP responder and a TCP server on the same port number. The TCP side takes a free port first
 * and the UDP side binds the same number; when another process holds that UDP port (tests run in
 * parallel), both are closed and a new pair is tried, instead of failing on EADDRINUSE.
 */
async function udpAndTcpOnOnePort(
  reply: (query: Buffer) => Buffer[],
  onTcp: (s: net.Socket) => void,
): Promise<{ udp: Awaited<ReturnType<typeof rawUdp>>; tcp: net.Server }> {
  for (let attempt = 1; ; attempt++) {
    const tcp = net.createServer(onTcp);
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', () => resolve()));
    const port = (tcp.address() as net.AddressInfo).port;
    try {
      return { udp: await rawUdp(reply, port), tcp };
    } catch (err) {
      tcp.close();
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 20) throw err;
    }
  }
}

/** A UDP responder answering each query with what `reply` builds from it. */
async function rawUdp(reply: (query: Buffer) => Buffer[], port = 0): Promise<{ address: ResolverAddress; close: () => Promise<void> }> {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (msg, rinfo) => {
    for (const out of reply(msg)) socket.send(out, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve();
    });
  });
  return {
    address: { host: '127.0.0.1', port: socket.address().port, family: 4 },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

function answerTo(query: Buffer, patch: Partial<dnsPacket.Packet> = {}): Buffer {
  const q = dnsPacket.decode(query);
  return dnsPacket.encode({
    id: q.id ?? 0,
    type: 'response',
    flags: dnsPacket.RECURSION_AVAILABLE,
    questions: q.questions ?? [],
    answers: [],
    ...patch,
  });
}

describe('DnssecDns against odd servers', () => {
  it('ignores a datagram with another ID or question and takes the real answer', async () => {
    const srv = await rawUdp((query) => {
      const q = dnsPacket.decode(query);
      return [
        answerTo(query, {
          id: ((q.id ?? 0) + 1) & 0xffff,
          flags: dnsPacket.AUTHENTIC_DATA,
          answers: [{ type: 'A', name: 'forged.test', data: '6.6.6.6' }],
        }),
        answerTo(query, { questions: [{ type: 'A', name: 'other.test' }], flags: dnsPacket.AUTHENTIC_DATA }),
        answerTo(query, { answers: [{ type: 'A', name: 'x.test', ttl: 5, data: '127.0.0.1' }] }),
      ];
    });
    try {
      const r = await createDnssecDns(srv.address).query('x.test', 'A', 2000);
      assert.deepEqual(r, { kind: 'records', secure: false, owner: 'x.test', records: ['127.0.0.1'], ttl: 5 });
    } finally {
      await srv.close();
    }
  });
  it('a lost datagram is covered by one retransmission at a third of the deadline', async () => {
    let seen = 0;
    const srv = await rawUdp((query) =>
      ++seen === 1 ? [] : [answerTo(query, { answers: [{ type: 'A', name: 'x.test', ttl: 5, data: '127.0.0.1' }] })],
    );
    try {
      const start = Date.now();
      const r = await createDnssecDns(srv.address).query('x.test', 'A', 900);
      assert.equal(r.kind, 'records');
      assert.equal(seen, 2);
      assert.ok(Date.now() - start >= 250, 'answered before the retransmission was due');
    } finally {
      await srv.close();
    }
  });
  it('an answer with our ID that does not decode is malformed', async () => {
    const srv = await rawUdp((query) => [Buffer.concat([answerTo(query).subarray(0, 12), Buffer.from([1, 2, 3])])]);
    try {
      const r = await createDnssecDns(srv.address).query('x.test', 'A', 2000);
      assert.equal(r.kind === 'error' && r.code, 'EDANE_DNS_MALFORMED');
    } finally {
      await srv.close();
    }
  });
  it('a UDP answer larger than the size asked for is malformed', async () => {
    const srv = await rawUdp((query) => [
      answerTo(query, { answers: [{ type: 'TXT', name: 'x.test', data: Array.from({ length: 8 }, () => Buffer.alloc(200, 0x61)) }] }),
    ]);
    try {
      const r = await createDnssecDns(srv.address).query('x.test', 'A', 2000);
      assert.equal(r.kind === 'error' && r.code, 'EDANE_DNS_MALFORMED');
      assert.match(r.kind === 'error' ? r.message : '', new RegExp(`${EDNS_UDP_PAYLOAD}`));
    } finally {
      await srv.close();
    }
  });
  it('an unknown RCODE is an error, never an answer', async () => {
    const srv = await rawUdp((query) => [answerTo(query, { flags: 4 /* NOTIMP */ })]);
    try {
      const r = await createDnssecDns(srv.address).query('x.test', 'A', 2000);
      assert.equal(r.kind === 'error' && r.code, 'EDANE_DNS_RCODE');
    } finally {
      await srv.close();
    }
  });
  it('a TCP server that closes early is a network error; one that stays silent a timeout', async () => {
    // UDP says TC; TCP on the same port closes at once, or never answers.
    for (const [mode, code] of [
      ['close', 'EDANE_DNS_NETWORK'],
      ['silent', 'EDANE_DNS_TIMEOUT'],
    ] as const) {
      const { udp, tcp } = await udpAndTcpOnOnePort(
        (query) => [answerTo(query, { flags: dnsPacket.TRUNCATED_RESPONSE })],
        (s) => {
          s.on('error', () => undefined);
          if (mode === 'close') s.end();
        },
      );
      try {
        const r = await createDnssecDns(udp.address).query('x.test', 'A', 500);
        assert.equal(r.kind === 'error' && r.code, code, mode);
      } finally {
        tcp.close();
        await udp.close();
      }
    }
  });
  it('nothing listening on loopback: ICMP port unreachable is a network error (a local fault)', async () => {
    const srv = await rawUdp(() => []);
    const address = srv.address;
    await srv.close();
    const r = await createDnssecDns(address).query('x.test', 'A', 1000);
    assert.equal(r.kind === 'error' && r.code, 'EDANE_DNS_NETWORK');
  });
});

describe('dns-message', () => {
  it('readMessage: queries and other IDs are mismatches', () => {
    const query = encodeQuery(42, 'x.test', 'MX');
    assert.equal(readMessage(query, 42, 'x.test', 'MX').kind, 'mismatch');
    assert.equal(readMessage(answerTo(query), 43, 'x.test', 'MX').kind, 'mismatch');
    assert.equal(readMessage(answerTo(query), 42, 'X.TEST.', 'MX').kind, 'answer');
    assert.equal(readMessage(answerTo(query), 42, 'x.test', 'TLSA').kind, 'mismatch');
  });
  it('interpretAnswer: extended RCODE, null MX, negative TTL without SOA', () => {
    const query = encodeQuery(1, 'x.test', 'MX');
    const badvers = dnsPacket.decode(
      answerTo(query, {
        additionals: [
          { type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 1, ednsVersion: 0, flags: 0, flag_do: false, options: [] },
        ],
      }),
    );
    assert.equal(interpretAnswer(badvers, 'x.test', 'MX').kind, 'error');
    const nullMx = dnsPacket.decode(
      answerTo(query, {
        flags: dnsPacket.AUTHENTIC_DATA,
        answers: [{ type: 'MX', name: 'x.test', ttl: 9, data: { preference: 0, exchange: '.' } }],
      }),
    );
    assert.deepEqual(interpretAnswer(nullMx, 'x.test', 'MX'), {
      kind: 'records',
      secure: true,
      owner: 'x.test',
      records: [{ preference: 0, exchange: '' }],
      ttl: 9,
    });
    const nodata = dnsPacket.decode(answerTo(query));
    assert.deepEqual(interpretAnswer(nodata, 'x.test', 'MX'), { kind: 'nodata', secure: false, owner: 'x.test', ttl: 60 });
  });
});

describe('probeResolver', () => {
  it('validating, not validating, failed', async () => {
    const { probeResolver } = await import('../../../src/dane/probe.js');
    assert.deepEqual(await probeResolver(dns, 1000, { type: 'MX', name: 'signed.test' }), { kind: 'validating' });
    assert.deepEqual(await probeResolver(dns, 1000, { type: 'MX', name: 'plain.test' }), { kind: 'not-validating', answer: 'records' });
    const failed = await probeResolver(dns, 1000, { type: 'NS', name: 'bogus.signed.test' });
    assert.equal(failed.kind === 'failed' && failed.code, 'EDANE_DNS_SERVFAIL');
  });
});
