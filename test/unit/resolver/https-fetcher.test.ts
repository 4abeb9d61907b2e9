/**
 * The HTTPS policy fetcher against a real loopback TLS server (FakeHttps) with a test CA made
 * by openssl. DNS is an in-test double mapping names to 127.0.0.1; nothing leaves loopback.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import {
  MAX_POLICY_BYTES,
  POLICY_PATH,
  USER_AGENT,
  checkPolicyHostIdentity,
  classifyTransportError,
  createHttpsFetcher,
  dnsIdMatches,
  dnsSubjectAltNames,
  isTextPlain,
} from '../../../src/resolver/https-fetcher.js';
import type { DnsPort, FetchResult, PolicyFetcher } from '../../../src/resolver/types.js';
import { FakeHttps, type HostBehaviour } from '../../world/https-server.js';
import { createTestPki, type TestPki } from '../../world/pki.js';

const POLICY = 'version: STSv1\nmode: enforce\nmx: mail.example.test\nmax_age: 86400\n';
/** The deadline of a fetch that must not time out: generous, since it costs nothing when the fetch succeeds. */
const TIMEOUT = 30_000;

/** Names ending in `.test` resolve to 127.0.0.1, except those under `nx.test`; `hang.test` never answers. */
const dnsDouble: DnsPort = {
  resolveTxt: () => Promise.resolve({ kind: 'nxdomain' }),
  lookupAddresses: (host) => {
    if (host.endsWith('.hang.test')) return new Promise(() => undefined);
    if (host.endsWith('.test') && !host.endsWith('.nx.test')) return Promise.resolve([{ address: '127.0.0.1', family: 4 }]);
    return Promise.reject(Object.assign(new Error(`${host}: no such name`), { code: 'ENOTFOUND' }));
  },
};

let dir: string;
let pki: TestPki;
let server: FakeHttps;
let fetcher: PolicyFetcher;
let counter = 0;

/** A fresh policy domain whose host behaves as given. */
function domainWith(behaviour: HostBehaviour, on: FakeHttps = server): string {
  counter += 1;
  const domain = `d${counter}.test`;
  on.setHost(`mta-sts.${domain}`, behaviour);
  return domain;
}

/**
 * What a fetch of a host that answers costs on this machine, now: a test whose deadline must
 * fall after the TLS handshake (or the headers) and before an answer that never comes (or the
 * end of a trickled body) takes a few times this (a loaded machine is slow for every fetch alike).
 */
async function goodFetchMs(): Promise<number> {
  const start = Date.now();
  const r = await fetcher.fetch(domainWith({ response: { kind: 'body', body: POLICY } }), TIMEOUT);
  assert.equal(r.kind, 'ok', JSON.stringify(r));
  return Date.now() - start;
}

function expectError(result: FetchResult, code: string, message?: RegExp): Extract<FetchResult, { kind: 'error' }> {
  assert.equal(result.kind, 'error', `expected ${code}, got ${JSON.stringify(result)}`);
  if (result.kind !== 'error') throw new Error('unreachable');
  assert.equal(result.code, code, result.message);
  if (message) assert.match(result.message, message);
  return result;
}

function expectOk(result: FetchResult): Extract<FetchResult, { kind: 'ok' }> {
  assert.equal(result.kind, 'ok', JSON.stringify(result));
  if (result.kind !== 'ok') throw new Error('unreachable');
  return result;
}

async function eventually(check: () => boolean, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 20));
  }
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'https-fetcher-'));
  pki = await createTestPki(join(dir, 'pki'));
  server = await FakeHttps.start({ pki, host: '127.0.0.1', port: 0 });
  fetcher = createHttpsFetcher(dnsDouble, { port: server.port, ca: pki.caCertPem });
});

after(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

describe('https fetcher: success', () => {
  it('returns the body, content type, certificate facts and ordered timings', async () => {
    const domain = domainWith({ response: { kind: 'body', body: POLICY } });
    const r = expectOk(await fetcher.fetch(domain, TIMEOUT));
    assert.equal(r.body, POLICY);
    assert.equal(r.status, 200);
    assert.equal(r.contentType, 'text/plain');
    assert.equal(r.url, `https://mta-sts.${domain}:${server.port}${POLICY_PATH}`);
    const cert = r.certificate;
    assert.ok(cert);
    assert.equal(cert.subject, `CN=mta-sts.${domain}`);
    assert.equal(cert.issuer, 'CN=mta-sts-bridge Test Root CA');
    assert.equal(cert.subjectAltName, `DNS:mta-sts.${domain}`);
    assert.ok(Date.parse(cert.validFrom) < Date.now() && Date.now() < Date.parse(cert.validTo));
    assert.match(cert.fingerprint256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    const t = r.timings;
    assert.ok(t.dnsMs !== undefined && t.connectMs !== undefined && t.tlsMs !== undefined && t.firstByteMs !== undefined);
    assert.ok(
      t.dnsMs <= t.connectMs && t.connectMs <= t.tlsMs && t.tlsMs <= t.firstByteMs && t.firstByteMs <= t.totalMs,
      JSON.stringify(t),
    );
  });

  it('sends SNI = the policy host, GET of the well-known path and the documented headers', async () => {
    const domain = domainWith({ response: { kind: 'body', body: POLICY } });
    expectOk(await fetcher.fetch(domain, TIMEOUT));
    const seen = server.requestsFor(`mta-sts.${domain}`);
    assert.equal(seen.length, 1);
    const req = seen[0]!;
    assert.equal(req.sni, `mta-sts.${domain}`);
    assert.ok(server.handshakes.includes(`mta-sts.${domain}`));
    assert.equal(req.host, `mta-sts.${domain}`);
    assert.equal(req.method, 'GET');
    assert.equal(req.path, POLICY_PATH);
    assert.equal(req.headers['accept'], 'text/plain');
    assert.equal(req.headers['cache-control'], 'no-cache');
    assert.equal(req.headers['user-agent'], USER_AGENT);
    assert.match(USER_AGENT, /^mta-sts-bridge\/\d+\.\d+\.\d+/);
    assert.equal(req.headers['accept-encoding'], undefined);
  });

  it('accepts a wildcard certificate whose * is the whole left-most label', async () => {
    counter += 1;
    const domain = `w${counter}.test`;
    server.setHost(`mta-sts.${domain}`, { cert: { names: [`*.${domain}`] }, response: { kind: 'body', body: POLICY } });
    expectOk(await fetcher.fetch(domain, TIMEOUT));
  });

  it('drops a UTF-8 BOM and rejects invalid UTF-8 as EPOLICY_INVALID', async () => {
    const bom = domainWith({
      response: { kind: 'body', bodyBase64: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(POLICY)]).toString('base64') },
    });
    assert.equal(expectOk(await fetcher.fetch(bom, TIMEOUT)).body, POLICY);
    const bad = domainWith({ response: { kind: 'body', bodyBase64: Buffer.from([0x76, 0xff, 0xfe, 0x0a]).toString('base64') } });
    expectError(await fetcher.fetch(bad, TIMEOUT), 'EPOLICY_INVALID', /UTF-8/);
  });

  it('uses only the given root on top of the bundled ones: without it the test CA is untrusted', async () => {
    const domain = domainWith({ response: { kind: 'body', body: POLICY } });
    const plain = createHttpsFetcher(dnsDouble, { port: server.port });
    expectError(await plain.fetch(domain, TIMEOUT), 'EFETCH_TLS', /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED/);
  });
});

describe('https fetcher: media type', () => {
  const cases: Array<{ contentType: string | null; ok: boolean }> = [
    { contentType: 'text/plain', ok: true },
    { contentType: 'text/plain; charset=utf-8', ok: true },
    { contentType: 'TEXT/PLAIN', ok: true },
    { contentType: 'Text/Plain ; charset="us-ascii"', ok: true },
    { contentType: 'text/html', ok: false },
    { contentType: 'text/html; charset=utf-8', ok: false },
    { contentType: 'text/plainx', ok: false },
    { contentType: 'application/octet-stream', ok: false },
    { contentType: '', ok: false },
    // Decision: a missing Content-Type is rejected (see the top of https-fetcher.ts).
    { contentType: null, ok: false },
  ];
  for (const c of cases) {
    it(`${JSON.stringify(c.contentType)} -> ${c.ok ? 'ok' : 'EFETCH_CONTENT_TYPE'}`, async () => {
      const domain = domainWith({ response: { kind: 'body', body: POLICY, contentType: c.contentType } });
      const r = await fetcher.fetch(domain, TIMEOUT);
      if (c.ok) {
        assert.equal(expectOk(r).body, POLICY);
      } else {
        const e = expectError(r, 'EFETCH_CONTENT_TYPE');
        assert.equal(e.status, 200);
        if (c.contentType === null) assert.match(e.message, /no Content-Type/);
      }
    });
  }

  it('rejects an unrequested Content-Encoding', async () => {
    const domain = domainWith({ response: { kind: 'body', body: POLICY, headers: { 'Content-Encoding': 'gzip' } } });
    expectError(await fetcher.fetch(domain, TIMEOUT), 'EFETCH_PROTOCOL', /Content-Encoding gzip/);
  });
});

describe('https fetcher: status', () => {
  for (const status of [201, 204, 403, 404, 500, 503]) {
    it(`${status} -> EFETCH_STATUS`, async () => {
      const domain = domainWith({ response: { kind: 'body', status, body: status === 204 ? '' : POLICY } });
      const e = expectError(await fetcher.fetch(domain, TIMEOUT), 'EFETCH_STATUS', new RegExp(`status ${status}`));
      assert.equal(e.status, status);
    });
  }

  for (const status of [301, 302, 303, 307, 308]) {
    it(`${status} is never followed, even to a valid policy`, async () => {
      const target = domainWith({ response: { kind: 'body', body: POLICY } });
      const location = `https://mta-sts.${target}:${server.port}${POLICY_PATH}`;
      const domain = domainWith({ response: { kind: 'redirect', status, location } });
      const e = expectError(await fetcher.fetch(domain, TIMEOUT), 'EFETCH_STATUS');
      assert.equal(e.status, status);
      assert.ok(e.message.includes(location), e.message);
      assert.equal(server.requestsFor(`mta-sts.${target}`).length, 0);
      assert.equal(server.requestsFor(`mta-sts.${domain}`).length, 1);
    });
  }
});

describe('https fetcher: body size cap', () => {
  for (const framing of ['content-length', 'chunked', 'close'] as const) {
    it(`${framing}: exactly ${MAX_POLICY_BYTES} bytes is accepted`, async () => {
      const body = 'a'.repeat(MAX_POLICY_BYTES);
      const domain = domainWith({ response: { kind: 'body', body, framing } });
      assert.equal(expectOk(await fetcher.fetch(domain, TIMEOUT)).body.length, MAX_POLICY_BYTES);
    });
    it(`${framing}: ${MAX_POLICY_BYTES} + 1 bytes is EFETCH_TOO_LARGE`, async () => {
      const body = 'a'.repeat(MAX_POLICY_BYTES + 1);
      const domain = domainWith({ response: { kind: 'body', body, framing } });
      expectError(await fetcher.fetch(domain, TIMEOUT), 'EFETCH_TOO_LARGE');
    });
  }

  it('a declared Content-Length above the cap fails before the body is read', async () => {
    const domain = domainWith({ response: { kind: 'huge', bytes: 4 * 1024 * 1024, framing: 'content-length' } });
    const e = expectError(await fetcher.fetch(domain, TIMEOUT), 'EFETCH_TOO_LARGE', /Content-Length 4194304/);
    assert.equal(e.status, 200);
  });

  for (const framing of ['chunked', 'close'] as const) {
    it(`${framing}: a 64 MiB body is cut off early, not downloaded`, async () => {
      const bytes = 64 * 1024 * 1024;
      const domain = domainWith({ response: { kind: 'huge', bytes, framing } });
      expectError(await fetcher.fetch(domain, TIMEOUT), 'EFETCH_TOO_LARGE', /exceeds 65536 bytes/);
      const record = server.requestsFor(`mta-sts.${domain}`)[0];
      assert.ok(record);
      await eventually(() => record.closedEarly);
      assert.ok(record.bytesSent < bytes / 4, `server wrote ${record.bytesSent} bytes`);
    });
  }
});

describe('https fetcher: one total deadline', () => {
  it('a server trickling the body at 2 bytes/s fails at the timeout', async () => {
    const domain = domainWith({ response: { kind: 'trickle', bytesPerSecond: 2, body: POLICY } });
    // The policy (66 bytes) takes 33 s at 2 bytes/s: a deadline of at most 20 s cuts the body.
    const deadline = Math.min(20_000, Math.max(1500, 3 * (await goodFetchMs())));
    const start = Date.now();
    const e = expectError(await fetcher.fetch(domain, deadline), 'EFETCH_TIMEOUT', new RegExp(`${deadline} ms`));
    const took = Date.now() - start;
    assert.ok(took >= deadline - 50 && took < deadline + 1500, `took ${took} ms of ${deadline}`);
    assert.ok(e.timings.firstByteMs !== undefined, 'headers arrived before the deadline');
  });

  it('a server trickling its headers fails at the timeout', async () => {
    const domain = domainWith({ response: { kind: 'trickle', bytesPerSecond: 20, body: POLICY, headersToo: true } });
    const start = Date.now();
    const e = expectError(await fetcher.fetch(domain, 1200), 'EFETCH_TIMEOUT');
    assert.ok(Date.now() - start < 1200 + 1500);
    assert.equal(e.timings.firstByteMs, undefined);
  });

  it('a server that never answers fails at the timeout', async () => {
    const domain = domainWith({ response: { kind: 'hang' } });
    const deadline = Math.max(1000, 3 * (await goodFetchMs()));
    const start = Date.now();
    const e = expectError(await fetcher.fetch(domain, deadline), 'EFETCH_TIMEOUT', /during headers/);
    assert.ok(Date.now() - start < deadline + 1500);
    assert.ok(e.timings.tlsMs !== undefined);
    assert.ok(e.certificate, 'certificate recorded before the timeout');
  });

  it('a DNS lookup that never answers fails at the timeout', async () => {
    const start = Date.now();
    const e = expectError(await fetcher.fetch('x.hang.test', 800), 'EFETCH_TIMEOUT', /during dns/);
    assert.ok(Date.now() - start < 800 + 1500);
    assert.equal(e.timings.dnsMs, undefined);
  });

  it('a connection closed mid-body is EFETCH_PROTOCOL', async () => {
    const domain = domainWith({ response: { kind: 'close-mid-body', body: POLICY, sendBytes: 10 } });
    expectError(await fetcher.fetch(domain, TIMEOUT), 'EFETCH_PROTOCOL');
  });
});

describe('https fetcher: certificates and TLS', () => {
  const cases = [
    { kind: 'expired', code: 'EFETCH_TLS', message: /CERT_HAS_EXPIRED/ },
    { kind: 'not-yet-valid', code: 'EFETCH_TLS', message: /CERT_NOT_YET_VALID/ },
    { kind: 'untrusted', code: 'EFETCH_TLS', message: /UNABLE_TO_VERIFY_LEAF_SIGNATURE/ },
    { kind: 'cn-only', code: 'EFETCH_CERT_NAME', message: /no DNS subjectAltName/ },
  ] as const;
  for (const c of cases) {
    it(`${c.kind} certificate -> ${c.code}`, async () => {
      const domain = domainWith({ cert: { kind: c.kind }, response: { kind: 'body', body: POLICY } });
      expectError(await fetcher.fetch(domain, TIMEOUT), c.code, c.message);
      assert.equal(server.requestsFor(`mta-sts.${domain}`).length, 0, 'no HTTP request after a failed handshake');
    });
  }

  it('a certificate for another name -> EFETCH_CERT_NAME, with the certificate recorded', async () => {
    const domain = domainWith({ cert: { names: ['www.other.test', 'unrelated.test'] }, response: { kind: 'body', body: POLICY } });
    const e = expectError(await fetcher.fetch(domain, TIMEOUT), 'EFETCH_CERT_NAME', /www\.other\.test/);
    assert.ok(e.certificate);
    assert.equal(e.certificate.subject, 'CN=www.other.test');
    assert.match(e.certificate.subjectAltName, /DNS:www\.other\.test/);
  });

  it('a partial-label wildcard (mta-*.example) -> EFETCH_CERT_NAME, though Node alone would accept it', async () => {
    counter += 1;
    const domain = `pw${counter}.test`;
    server.setHost(`mta-sts.${domain}`, { cert: { names: [`mta-*.${domain}`] }, response: { kind: 'body', body: POLICY } });
    expectError(await fetcher.fetch(domain, TIMEOUT), 'EFETCH_CERT_NAME', /not among the certificate's DNS names \(mta-\*\./);
  });

  it('a wildcard covering two labels does not match', async () => {
    counter += 1;
    const domain = `x.deep${counter}.test`;
    server.setHost(`mta-sts.${domain}`, { cert: { names: [`*.deep${counter}.test`] }, response: { kind: 'body', body: POLICY } });
    expectError(await fetcher.fetch(domain, TIMEOUT), 'EFETCH_CERT_NAME');
  });

  it('a TLS 1.1-only server is rejected', async () => {
    const old = await FakeHttps.start({
      pki,
      host: '127.0.0.1',
      port: 0,
      minVersion: 'TLSv1',
      maxVersion: 'TLSv1.1',
      ciphers: 'DEFAULT:@SECLEVEL=0',
    });
    try {
      const domain = domainWith({ response: { kind: 'body', body: POLICY } }, old);
      const f = createHttpsFetcher(dnsDouble, { port: old.port, ca: pki.caCertPem });
      const e = expectError(
        await f.fetch(domain, TIMEOUT),
        'EFETCH_TLS',
        /: tlsv1 alert protocol version \((EPROTO|ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION)\)$/,
      );
      assert.doesNotMatch(e.message, /\n|deps\/openssl/);
    } finally {
      await old.close();
    }
  });

  it('plain HTTP where TLS is expected -> EFETCH_TLS with a one-line reason', async () => {
    const plain = createNetServer((c) => {
      c.on('error', () => undefined);
      c.on('data', () => c.end('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n' + POLICY));
    });
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    try {
      const addr = plain.address();
      const f = createHttpsFetcher(dnsDouble, { port: typeof addr === 'object' && addr !== null ? addr.port : 0, ca: pki.caCertPem });
      const e = expectError(
        await f.fetch('plain.test', TIMEOUT),
        'EFETCH_TLS',
        /: wrong version number \((EPROTO|ERR_SSL_WRONG_VERSION_NUMBER)\)$/,
      );
      assert.doesNotMatch(e.message, /\n|deps\/openssl/);
    } finally {
      await new Promise<void>((r) => plain.close(() => r()));
    }
  });

  it('a refused connection -> EFETCH_CONNECT', async () => {
    const probe = createNetServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const addr = probe.address();
    const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
    await new Promise<void>((r) => probe.close(() => r()));
    const f = createHttpsFetcher(dnsDouble, { port, ca: pki.caCertPem });
    const e = expectError(await f.fetch('refused.test', TIMEOUT), 'EFETCH_CONNECT', /ECONNREFUSED/);
    assert.ok(e.timings.dnsMs !== undefined);
    assert.equal(e.timings.connectMs, undefined);
  });

  it('a name that does not resolve -> EFETCH_DNS', async () => {
    const e = expectError(await fetcher.fetch('missing.nx.test', TIMEOUT), 'EFETCH_DNS', /ENOTFOUND/);
    assert.equal(e.timings.connectMs, undefined);
  });

  it('never rejects, even with a nonsensical timeout', async () => {
    const r = await fetcher.fetch('missing.nx.test', Number.NaN);
    assert.equal(r.kind, 'error');
  });
});

describe('https fetcher: pure helpers', () => {
  it('isTextPlain', () => {
    const table: Array<[string | undefined, boolean]> = [
      ['text/plain', true],
      ['text/plain;charset=utf-8', true],
      [' TEXT/Plain ', true],
      ['text/plain ; format=flowed', true],
      ['text/html', false],
      ['text/*', false],
      ['text/plain2', false],
      ['plain/text', false],
      ['', false],
      [undefined, false],
    ];
    for (const [input, expected] of table) assert.equal(isTextPlain(input), expected, String(input));
  });

  it('dnsIdMatches: exact names and whole-label wildcards only', () => {
    const host = 'mta-sts.example.com';
    const table: Array<[string, boolean]> = [
      ['mta-sts.example.com', true],
      ['MTA-STS.Example.COM', true],
      ['mta-sts.example.com.', true],
      ['*.example.com', true],
      ['*.EXAMPLE.com', true],
      ['example.com', false],
      ['*.com', false],
      ['*.*.com', false],
      ['mta-*.example.com', false],
      ['*sts.example.com', false],
      ['m*.example.com', false],
      ['*.mta-sts.example.com', false],
      ['*.other.com', false],
      ['*', false],
      ['*.', false],
      ['*..com', false],
      ['', false],
    ];
    for (const [pattern, expected] of table) assert.equal(dnsIdMatches(host, pattern), expected, pattern);
    assert.equal(dnsIdMatches('a.b.example.com', '*.example.com'), false, 'one label only');
  });

  it('dnsSubjectAltNames keeps DNS entries only and unquotes escaped ones', () => {
    assert.deepEqual(dnsSubjectAltNames(''), []);
    assert.deepEqual(dnsSubjectAltNames('DNS:a.example, DNS:*.b.example'), ['a.example', '*.b.example']);
    assert.deepEqual(dnsSubjectAltNames('IP Address:192.0.2.1, DNS:a.example, email:x@y.example'), ['a.example']);
    assert.deepEqual(dnsSubjectAltNames('DNS:"a, DNS:evil.example", DNS:b.example'), ['a, DNS:evil.example', 'b.example']);
    assert.deepEqual(dnsSubjectAltNames('URI:http://a.example/, DNS:c.example'), ['c.example']);
  });

  it('checkPolicyHostIdentity never uses the CN, which Node alone falls back to', () => {
    const host = 'mta-sts.example.com';
    const cnOnly = { subject: { CN: host }, subjectaltname: undefined } as unknown as PeerCertificate;
    assert.equal(checkServerIdentity(host, cnOnly), undefined, 'Node accepts a CN-only certificate');
    const err = checkPolicyHostIdentity(host, cnOnly);
    assert.ok(err);
    assert.equal((err as Error & { code?: string }).code, 'ERR_TLS_CERT_ALTNAME_INVALID');

    const cnMatchSanNot = { subject: { CN: host }, subjectaltname: 'DNS:www.example.com' } as unknown as PeerCertificate;
    assert.ok(checkPolicyHostIdentity(host, cnMatchSanNot));

    const ipOnly = { subject: { CN: host }, subjectaltname: 'IP Address:127.0.0.1' } as unknown as PeerCertificate;
    assert.ok(checkPolicyHostIdentity(host, ipOnly), 'an IP SAN is not a DNS-ID');

    const good = {
      subject: { CN: 'whatever' },
      subjectaltname: 'DNS:www.example.com, DNS:mta-sts.example.com',
    } as unknown as PeerCertificate;
    assert.equal(checkPolicyHostIdentity(host, good), undefined);

    const partial = { subject: {}, subjectaltname: 'DNS:mta-*.example.com' } as unknown as PeerCertificate;
    assert.equal(checkServerIdentity(host, partial), undefined, 'Node accepts a partial-label wildcard');
    assert.ok(checkPolicyHostIdentity(host, partial));
  });

  it('classifyTransportError maps by phase, name errors first', () => {
    const e = (code: string): Error => Object.assign(new Error(code), { code });
    assert.equal(classifyTransportError('dns', e('ENOTFOUND')), 'EFETCH_DNS');
    assert.equal(classifyTransportError('dns', e('ETIMEOUT')), 'EFETCH_DNS');
    assert.equal(classifyTransportError('connect', e('ECONNREFUSED')), 'EFETCH_CONNECT');
    assert.equal(classifyTransportError('connect', e('EHOSTUNREACH')), 'EFETCH_CONNECT');
    assert.equal(classifyTransportError('tls', e('CERT_HAS_EXPIRED')), 'EFETCH_TLS');
    assert.equal(classifyTransportError('tls', e('ECONNRESET')), 'EFETCH_TLS');
    assert.equal(classifyTransportError('tls', e('ERR_TLS_CERT_ALTNAME_INVALID')), 'EFETCH_CERT_NAME');
    assert.equal(classifyTransportError('headers', e('HPE_INVALID_CONSTANT')), 'EFETCH_PROTOCOL');
    assert.equal(classifyTransportError('headers', e('ECONNRESET')), 'EFETCH_PROTOCOL');
    assert.equal(classifyTransportError('body', e('ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC')), 'EFETCH_TLS');
  });
});

/** Runs `node file` with `env`, collecting output; resolves on exit. */
function runNode(
  file: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const fetcherModule = new URL('../../../src/resolver/https-fetcher.js', import.meta.url).href;

describe('https fetcher: trust store', () => {
  it('`ca` adds to the store without dropping NODE_EXTRA_CA_CERTS', async () => {
    // The untrusted CA becomes trusted through the environment only; `ca` adds the test root.
    const extra = join(dir, 'extra-ca.pem');
    await writeFile(extra, pki.untrustedCaCertPem);
    const root = join(dir, 'root-ca.pem');
    await writeFile(root, pki.caCertPem);
    const viaEnv = domainWith({ cert: { kind: 'untrusted' }, response: { kind: 'body', body: POLICY } });
    const viaCa = domainWith({ response: { kind: 'body', body: POLICY } });
    const script = join(dir, 'extra-ca-probe.mjs');
    await writeFile(
      script,
      [
        `import { readFileSync } from 'node:fs';`,
        `import { createHttpsFetcher } from ${JSON.stringify(fetcherModule)};`,
        `const dns = { resolveTxt: async () => ({ kind: 'nxdomain' }), lookupAddresses: async () => [{ address: '127.0.0.1', family: 4 }] };`,
        `const f = createHttpsFetcher(dns, { port: Number(process.argv[2]), ca: readFileSync(process.argv[3], 'utf8') });`,
        `const out = [];`,
        `for (const d of process.argv.slice(4)) { const r = await f.fetch(d, 5000); out.push(r.kind === 'ok' ? 'ok' : r.code + ' ' + r.message); }`,
        `console.log(JSON.stringify(out));`,
      ].join('\n'),
    );
    const run = await runNode(script, [String(server.port), root, viaEnv, viaCa], { NODE_EXTRA_CA_CERTS: extra });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), ['ok', 'ok']);
  });
});

describe('FakeHttps CLI', () => {
  it('reads its config, prints READY, serves, reloads hosts on SIGHUP and stops on SIGTERM', async () => {
    const configPath = join(dir, 'fake-https.json');
    const write = (body: string): Promise<void> =>
      writeFile(
        configPath,
        JSON.stringify({
          pkiDir: join(dir, 'pki'),
          listeners: [{ host: '127.0.0.1', port: 0 }],
          hosts: { 'mta-sts.cli.test': { response: { kind: 'body', body } } },
        }),
      );
    await write('first\n');
    const cli = fileURLToPath(new URL('../../world/https-server.js', import.meta.url));
    const child = spawn(process.execPath, [cli, configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      await eventually(() => stdout.includes('READY\n'), 10_000);
      const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(stderr)?.[1]);
      assert.ok(port > 0, stderr);
      const f = createHttpsFetcher(dnsDouble, { port, ca: pki.caCertPem });
      assert.equal(expectOk(await f.fetch('cli.test', TIMEOUT)).body, 'first\n');
      await write('second\n');
      child.kill('SIGHUP');
      await eventually(() => stderr.includes('reloaded'), 5000);
      assert.equal(expectOk(await f.fetch('cli.test', TIMEOUT)).body, 'second\n');
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
