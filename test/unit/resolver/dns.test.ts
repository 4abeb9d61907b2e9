/**
 * The system DNS seam against the real fake server over loopback (both real parts), plus the
 * fake server's own robustness: garbage, TCP framing, the CLI.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import type { LookupAddress } from 'node:dns';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import dnsPacket from 'dns-packet';
import { BridgeError } from '../../../src/errors.js';
import { createSystemDns, lookupFunctionFor } from '../../../src/resolver/dns.js';
import type { DnsPort } from '../../../src/resolver/types.js';
import { FakeDns, type ZoneRecords } from '../../world/dns-server.js';

const TIMEOUT_MS = 2000;
/** Generous correctness bound on top of a deadline: a lookup must not outlive it by much. */
const DEADLINE_SLACK_MS = 1500;

/** 30 strings of 201-202 octets: far above 512 and the 1232-octet EDNS size, so TC then TCP. */
const BIG_TXT = Array.from({ length: 30 }, (_, i) => `${'x'.repeat(200)}${i}`);

const ZONE: ZoneRecords = {
  'txt.test': { TXT: [['hello'], ['two ', 'strings']] },
  'upper.test': { TXT: ['case'] },
  'alias.test': { CNAME: 'txt.test' },
  'big.test': { TXT: [BIG_TXT] },
  'a-only.test': { A: ['127.0.0.10', '127.0.0.11'] },
  'aaaa-only.test': { AAAA: ['::1'] },
  'both.test': { AAAA: ['fd00::1'], A: ['127.0.0.12'] },
  'txt-only.test': { TXT: ['no addresses here'] },
  'host-alias.test': { CNAME: 'a-only.test' },
  'deep.name.ent.test': { A: ['127.0.0.13'] },
  'servfail.test': { behaviour: 'servfail' },
  'refused.test': { behaviour: 'refused' },
  'drop.test': { behaviour: 'drop' },
  'slow.test': { TXT: ['late'], delayMs: 5000 },
};

let fake: FakeDns;
let port: number;
let dns: DnsPort;

before(async () => {
  fake = new FakeDns({ zones: ['test'], records: ZONE });
  ({ port } = await fake.start());
  dns = createSystemDns({ servers: [`127.0.0.1:${port}`] });
});

after(async () => {
  await fake.stop();
});

async function timed<T>(work: Promise<T>): Promise<{ value: T; ms: number }> {
  const start = Date.now();
  const value = await work;
  return { value, ms: Date.now() - start };
}

describe('createSystemDns().resolveTxt', () => {
  const table: ReadonlyArray<{ name: string; expected: unknown }> = [
    { name: 'txt.test', expected: { kind: 'records', records: [['hello'], ['two ', 'strings']] } },
    { name: 'UPPER.Test', expected: { kind: 'records', records: [['case']] } },
    { name: 'alias.test', expected: { kind: 'records', records: [['hello'], ['two ', 'strings']] } },
    { name: 'missing.test', expected: { kind: 'nxdomain' } },
    { name: 'a-only.test', expected: { kind: 'nodata' } },
    // An empty non-terminal exists: NODATA, not NXDOMAIN.
    { name: 'name.ent.test', expected: { kind: 'nodata' } },
  ];
  for (const { name, expected } of table) {
    it(`${name} -> ${JSON.stringify(expected)}`, async () => {
      assert.deepEqual(await dns.resolveTxt(name, TIMEOUT_MS), expected);
    });
  }

  const errors: ReadonlyArray<{ name: string; code: string }> = [
    { name: 'servfail.test', code: 'ESERVFAIL' },
    { name: 'refused.test', code: 'EREFUSED' },
    // Outside the fake's zones: it refuses, as an authoritative server does.
    { name: 'example.com', code: 'EREFUSED' },
  ];
  for (const { name, code } of errors) {
    it(`${name} -> error ${code}`, async () => {
      const answer = await dns.resolveTxt(name, TIMEOUT_MS);
      assert.equal(answer.kind, 'error');
      assert.equal(answer.kind === 'error' && answer.code, code);
      assert.ok(answer.kind === 'error' && answer.message.length > 0);
    });
  }

  it('an unanswered query is an ETIMEOUT error within the deadline', async () => {
    const timeoutMs = 600;
    const { value, ms } = await timed(dns.resolveTxt('drop.test', timeoutMs));
    assert.equal(value.kind, 'error');
    assert.equal(value.kind === 'error' && value.code, 'ETIMEOUT');
    assert.ok(ms < timeoutMs + DEADLINE_SLACK_MS, `took ${ms} ms`);
    assert.ok(ms >= timeoutMs * 0.5, `gave up too early: ${ms} ms`);
  });

  it('an answer later than the deadline is an ETIMEOUT error at the deadline', async () => {
    const timeoutMs = 500;
    const { value, ms } = await timed(dns.resolveTxt('slow.test', timeoutMs));
    assert.deepEqual(value.kind === 'error' && value.code, 'ETIMEOUT');
    assert.ok(ms < timeoutMs + DEADLINE_SLACK_MS, `took ${ms} ms`);
  });

  it('a large answer is truncated over UDP and fetched again over TCP', async () => {
    fake.queries.length = 0;
    const answer = await dns.resolveTxt('big.test', TIMEOUT_MS);
    assert.deepEqual(answer, { kind: 'records', records: [BIG_TXT] });
    assert.deepEqual(
      fake.queries.map((q) => q.transport),
      ['udp', 'tcp'],
    );
  });

  it('a refused connection is an error, not an absence', async () => {
    const probe = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => probe.bind(0, '127.0.0.1', resolve));
    const deadPort = probe.address().port;
    await new Promise<void>((resolve) => probe.close(resolve));
    const dead = createSystemDns({ servers: [`127.0.0.1:${deadPort}`] });
    const { value, ms } = await timed(dead.resolveTxt('txt.test', 500));
    assert.equal(value.kind, 'error');
    assert.ok(value.kind === 'error' && ['ECONNREFUSED', 'ETIMEOUT'].includes(value.code), JSON.stringify(value));
    assert.ok(ms < 500 + DEADLINE_SLACK_MS);
  });

  it('parallel lookups do not cancel each other', async () => {
    const [slow, fast] = await Promise.all([dns.resolveTxt('drop.test', 400), dns.resolveTxt('txt.test', TIMEOUT_MS)]);
    assert.equal(slow.kind, 'error');
    assert.equal(fast.kind, 'records');
  });

  it('a malformed server list is a configuration error at creation', () => {
    assert.throws(
      () => createSystemDns({ servers: ['not an address'] }),
      (err: unknown) => err instanceof BridgeError && err.code === 'ECONFIG_INVALID',
    );
  });
});

describe('createSystemDns().lookupAddresses', () => {
  const table: ReadonlyArray<{ host: string; expected: ReadonlyArray<{ address: string; family: 4 | 6 }> }> = [
    {
      host: 'a-only.test',
      expected: [
        { address: '127.0.0.10', family: 4 },
        { address: '127.0.0.11', family: 4 },
      ],
    },
    { host: 'aaaa-only.test', expected: [{ address: '::1', family: 6 }] },
    // IPv4 first, whatever the zone order.
    {
      host: 'both.test',
      expected: [
        { address: '127.0.0.12', family: 4 },
        { address: 'fd00::1', family: 6 },
      ],
    },
    {
      host: 'host-alias.test',
      expected: [
        { address: '127.0.0.10', family: 4 },
        { address: '127.0.0.11', family: 4 },
      ],
    },
    { host: '127.0.0.99', expected: [{ address: '127.0.0.99', family: 4 }] },
    { host: '::1', expected: [{ address: '::1', family: 6 }] },
  ];
  for (const { host, expected } of table) {
    it(`${host} -> ${expected.map((a) => a.address).join(', ')}`, async () => {
      assert.deepEqual(await dns.lookupAddresses(host, TIMEOUT_MS), expected);
    });
  }

  const failures: ReadonlyArray<{ host: string; code: string }> = [
    { host: 'txt-only.test', code: 'ENOTFOUND' },
    { host: 'missing.test', code: 'ENOTFOUND' },
    { host: 'name.ent.test', code: 'ENOTFOUND' },
    { host: 'servfail.test', code: 'ESERVFAIL' },
    { host: 'refused.test', code: 'EREFUSED' },
  ];
  for (const { host, code } of failures) {
    it(`${host} -> rejects with ${code}`, async () => {
      await assert.rejects(dns.lookupAddresses(host, TIMEOUT_MS), (err: unknown) => {
        assert.ok(err instanceof Error);
        assert.equal((err as NodeJS.ErrnoException).code, code);
        return true;
      });
    });
  }

  it('an unanswered host rejects with ETIMEOUT within the deadline', async () => {
    const start = Date.now();
    await assert.rejects(dns.lookupAddresses('drop.test', 500), { code: 'ETIMEOUT' });
    assert.ok(Date.now() - start < 500 + DEADLINE_SLACK_MS);
  });
});

/** Call a LookupFunction and collect what its callback receives. */
function callLookup(
  fn: net.LookupFunction,
  host: string,
  options: Parameters<net.LookupFunction>[1],
): Promise<{ err: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family: number | undefined; sync: boolean }> {
  return new Promise((resolve) => {
    let returned = false;
    fn(host, options, (err, address, family) => resolve({ err, address, family, sync: !returned }));
    returned = true;
  });
}

describe('lookupFunctionFor', () => {
  const lookup = (): net.LookupFunction => lookupFunctionFor(dns, TIMEOUT_MS);

  it('all: true gives every address with its family', async () => {
    const r = await callLookup(lookup(), 'both.test', { all: true });
    assert.equal(r.err, null);
    assert.deepEqual(r.address, [
      { address: '127.0.0.12', family: 4 },
      { address: 'fd00::1', family: 6 },
    ]);
    assert.equal(r.sync, false);
  });

  it('all: false gives the first address and its family', async () => {
    const r = await callLookup(lookup(), 'both.test', { all: false });
    assert.equal(r.err, null);
    assert.equal(r.address, '127.0.0.12');
    assert.equal(r.family, 4);
  });

  it('family 6 (and the legacy "IPv6") selects IPv6 addresses', async () => {
    for (const family of [6, 'IPv6'] as const) {
      const r = await callLookup(lookup(), 'both.test', { family });
      assert.equal(r.address, 'fd00::1');
      assert.equal(r.family, 6);
      const all = await callLookup(lookup(), 'both.test', { family, all: true });
      assert.deepEqual(all.address, [{ address: 'fd00::1', family: 6 }]);
    }
  });

  it('a family with no address is ENOTFOUND', async () => {
    const r = await callLookup(lookup(), 'aaaa-only.test', { family: 4 });
    assert.equal(r.err?.code, 'ENOTFOUND');
    const all = await callLookup(lookup(), 'aaaa-only.test', { family: 4, all: true });
    assert.equal(all.err?.code, 'ENOTFOUND');
  });

  it('DNS failures keep their code', async () => {
    assert.equal((await callLookup(lookup(), 'missing.test', {})).err?.code, 'ENOTFOUND');
    assert.equal((await callLookup(lookup(), 'servfail.test', { all: true })).err?.code, 'ESERVFAIL');
  });

  for (const autoSelectFamily of [true, false]) {
    it(`net.connect uses it (autoSelectFamily: ${autoSelectFamily})`, async () => {
      const server = net.createServer((socket) => socket.end('hi'));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.10', resolve));
      const { port: tcpPort } = server.address() as net.AddressInfo;
      try {
        const received = await new Promise<string>((resolve, reject) => {
          const socket = net.connect({ host: 'a-only.test', port: tcpPort, lookup: lookup(), autoSelectFamily });
          let data = '';
          socket.setEncoding('utf8');
          socket.on('data', (chunk: string) => (data += chunk));
          socket.on('end', () => resolve(data));
          socket.on('error', reject);
        });
        assert.equal(received, 'hi');
        const failed = await new Promise<NodeJS.ErrnoException>((resolve) => {
          const socket = net.connect({ host: 'missing.test', port: tcpPort, lookup: lookup(), autoSelectFamily });
          socket.on('error', resolve);
        });
        assert.equal(failed.code, 'ENOTFOUND');
      } finally {
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });
  }
});

/** Send one raw UDP datagram and wait for at most one reply. */
async function udpExchange(payload: Buffer, waitMs = 300): Promise<Buffer | undefined> {
  const socket = dgram.createSocket('udp4');
  try {
    return await new Promise<Buffer | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), waitMs);
      socket.on('message', (msg) => {
        clearTimeout(timer);
        resolve(msg);
      });
      socket.send(payload, port, '127.0.0.1');
    });
  } finally {
    socket.close();
  }
}

function query(id: number, name: string, type: 'TXT' | 'A'): Buffer {
  return dnsPacket.encode({ id, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type }] });
}

describe('FakeDns', () => {
  it('answers FORMERR to undecodable queries, ignores short junk, and keeps serving', async () => {
    const junk = Buffer.alloc(14, 0);
    junk.writeUInt16BE(0x1234, 0);
    junk.writeUInt16BE(1, 4); // one question...
    junk[12] = 63; // ...whose first label runs past the end
    const reply = await udpExchange(junk);
    assert.ok(reply !== undefined);
    assert.equal(reply.readUInt16BE(0), 0x1234);
    assert.equal(reply.readUInt16BE(2) & 0xf, 1); // FORMERR
    assert.equal(await udpExchange(Buffer.from([1, 2, 3])), undefined);
    assert.equal(await udpExchange(Buffer.alloc(0)), undefined);
    const ok = await udpExchange(query(7, 'txt.test', 'TXT'));
    assert.ok(ok !== undefined);
    assert.equal(dnsPacket.decode(ok).answers?.length, 2);
  });

  it('serves several length-prefixed queries on one TCP connection, split anywhere', async () => {
    const framed = (msg: Buffer): Buffer => Buffer.concat([Buffer.from([msg.length >> 8, msg.length & 0xff]), msg]);
    const bytes = Buffer.concat([framed(query(1, 'txt.test', 'TXT')), framed(query(2, 'a-only.test', 'A'))]);
    const replies = await new Promise<Buffer[]>((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      let buffered = Buffer.alloc(0);
      const out: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
          out.push(buffered.subarray(2, 2 + buffered.readUInt16BE(0)));
          buffered = buffered.subarray(2 + buffered.readUInt16BE(0));
        }
        if (out.length === 2) {
          socket.destroy();
          resolve(out);
        }
      });
      socket.on('error', reject);
      // Byte by byte: framing must not depend on how TCP segments the stream.
      let i = 0;
      const drip = (): void => {
        if (i < bytes.length) {
          socket.write(bytes.subarray(i, i + 1));
          i += 1;
          setImmediate(drip);
        }
      };
      drip();
    });
    const decoded = replies.map((r) => dnsPacket.decode(r));
    assert.deepEqual(
      decoded.map((d) => d.id),
      [1, 2],
    );
    assert.deepEqual(
      decoded[1]?.answers?.map((a) => ('data' in a ? a.data : undefined)),
      ['127.0.0.10', '127.0.0.11'],
    );
  });

  it('survives a garbage TCP stream and an abrupt close', async () => {
    const junk = Buffer.from([0, 14, 0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 63, 0]);
    const reply = await new Promise<Buffer>((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      socket.on('data', (chunk: Buffer) => {
        socket.destroy();
        resolve(chunk);
      });
      socket.on('error', reject);
      socket.write(junk);
    });
    assert.equal(reply.readUInt16BE(2), 0x1234);
    assert.equal(reply.readUInt16BE(4) & 0xf, 1); // FORMERR
    // A length prefix promising more than is ever sent, then gone.
    const half = net.connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve) => half.on('connect', resolve));
    half.end(Buffer.from([0xff, 0xff, 1, 2, 3]));
    await new Promise<void>((resolve) => half.on('close', () => resolve()));
    assert.deepEqual(await dns.resolveTxt('txt.test', TIMEOUT_MS), { kind: 'records', records: [['hello'], ['two ', 'strings']] });
  });

  it('rejects data that cannot go on the wire', () => {
    const f = new FakeDns();
    assert.throws(() => f.set({ 'x.test': { TXT: [['y'.repeat(256)]] } }), /255/);
    assert.throws(() => f.set({ 'x.test': { CNAME: 'y.test', A: ['127.0.0.1'] } }), /CNAME/);
    assert.throws(() => f.set({ 'x.test': { A: ['::1'] } }), /bad A/);
  });

  it('runs as a CLI: READY <port>, reload on SIGHUP, stop on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fakedns-'));
    const zonePath = join(dir, 'zone.json');
    const write = (id: string): void =>
      writeFileSync(zonePath, JSON.stringify({ zones: ['test'], records: { '_mta-sts.cli.test': { TXT: [[`v=STSv1; id=${id}`]] } } }));
    write('first');
    const script = fileURLToPath(new URL('../../world/dns-server.js', import.meta.url));
    const child = spawn(process.execPath, [script, zonePath, '127.0.0.1', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    const waiters: Array<() => void> = [];
    let pending = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      pending += chunk;
      const parts = pending.split('\n');
      pending = parts.pop() ?? '';
      lines.push(...parts);
      for (const w of waiters.splice(0)) w();
    });
    const waitFor = async (prefix: string): Promise<string> => {
      for (;;) {
        const line = lines.find((l) => l.startsWith(prefix));
        if (line !== undefined) return line;
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    };
    try {
      const ready = await waitFor('READY ');
      const cliPort = Number(ready.slice('READY '.length));
      assert.ok(cliPort > 0);
      const cliDns = createSystemDns({ servers: [`127.0.0.1:${cliPort}`] });
      assert.deepEqual(await cliDns.resolveTxt('_mta-sts.cli.test', TIMEOUT_MS), {
        kind: 'records',
        records: [['v=STSv1; id=first']],
      });
      write('second');
      child.kill('SIGHUP');
      await waitFor('RELOADED');
      assert.deepEqual(await cliDns.resolveTxt('_mta-sts.cli.test', TIMEOUT_MS), {
        kind: 'records',
        records: [['v=STSv1; id=second']],
      });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('system DNS: channels reused between lookups', () => {
  it('a reused channel caches nothing: a changed record is seen at once, even with a long TTL', async () => {
    const cached = new FakeDns({ zones: ['test'], ttl: 3600, records: { 'ttl.test': { TXT: ['one'], A: ['127.0.0.21'] } } });
    const { port: p } = await cached.start();
    try {
      const seam = createSystemDns({ servers: [`127.0.0.1:${p}`] });
      assert.deepEqual(await seam.resolveTxt('ttl.test', TIMEOUT_MS), { kind: 'records', records: [['one']] });
      assert.deepEqual(await seam.lookupAddresses('ttl.test', TIMEOUT_MS), [{ address: '127.0.0.21', family: 4 }]);
      cached.set({ 'ttl.test': { TXT: ['two'], A: ['127.0.0.22'] } });
      assert.deepEqual(await seam.resolveTxt('ttl.test', TIMEOUT_MS), { kind: 'records', records: [['two']] });
      assert.deepEqual(await seam.lookupAddresses('ttl.test', TIMEOUT_MS), [{ address: '127.0.0.22', family: 4 }]);
      cached.set({});
      assert.deepEqual(await seam.resolveTxt('ttl.test', TIMEOUT_MS), { kind: 'nxdomain' });
      assert.equal(cached.queries.filter((q) => q.name === 'ttl.test' && q.type === 'TXT').length, 3, 'every lookup asked the server');
    } finally {
      await cached.stop();
    }
  });

  it('concurrent lookups each get their own answer, and a lookup after a deadline still works', async () => {
    const names = ['txt.test', 'upper.test', 'txt-only.test', 'alias.test'];
    const answers = await Promise.all(Array.from({ length: 24 }, (_, i) => dns.resolveTxt(names[i % names.length] as string, TIMEOUT_MS)));
    for (const [i, a] of answers.entries()) {
      assert.deepEqual(a, await dns.resolveTxt(names[i % names.length] as string, TIMEOUT_MS));
    }
    const late = await dns.resolveTxt('drop.test', 300);
    assert.equal(late.kind === 'error' && late.code, 'ETIMEOUT');
    assert.deepEqual(await dns.resolveTxt('txt.test', 300), { kind: 'records', records: [['hello'], ['two ', 'strings']] });
  });
});
