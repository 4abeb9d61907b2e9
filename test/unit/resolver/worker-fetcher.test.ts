/**
 * The policy fetcher run in a worker thread (worker-fetcher.ts, fetch-worker.ts) against a real
 * HTTPS server with the test PKI: the same outcomes as the in-process fetcher (whose own tests
 * cover every rule) for each class of result, the policy host resolved through the main
 * thread's DNS seam, and the worker's life: started at the first fetch, stopped when idle,
 * replaced after a crash or a hang, whose fetches fail as ELOCAL_FAULT.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { MAX_POLICY_BYTES, POLICY_PATH } from '../../../src/resolver/https-fetcher.js';
import type { DnsPort, FetchResult } from '../../../src/resolver/types.js';
import { createWorkerFetcher, type WorkerPolicyFetcher } from '../../../src/resolver/worker-fetcher.js';
import { FETCH_WORKER_NICENESS } from '../../../src/resolver/fetch-worker-priority.js';
import { FakeDns } from '../../world/dns-server.js';
import { FakeHttps, type HostBehaviour } from '../../world/https-server.js';
import { createTestPki, type TestPki } from '../../world/pki.js';

const POLICY = 'version: STSv1\nmode: enforce\nmx: mail.example.test\nmax_age: 86400\n';
/**
 * The deadline of a fetch that must not time out: generous, since it costs nothing when the
 * fetch succeeds (on a loaded 2-core machine five concurrent fetches through the worker took
 * over 5 s).
 */
const TIMEOUT = 30_000;

/** Every host asked for, in order: the worker must resolve through this seam. */
const asked: string[] = [];
const dnsDouble: DnsPort = {
  resolveTxt: () => Promise.resolve({ kind: 'nxdomain' }),
  lookupAddresses: (host) => {
    asked.push(host);
    if (host.endsWith('.hang.test')) return new Promise(() => undefined);
    if (host.endsWith('.test') && !host.endsWith('.nx.test')) return Promise.resolve([{ address: '127.0.0.1', family: 4 }]);
    return Promise.reject(Object.assign(new Error(`${host}: no such name`), { code: 'ENOTFOUND' }));
  },
};

let dir: string;
let pki: TestPki;
let server: FakeHttps;
let fetcher: WorkerPolicyFetcher;
let counter = 0;

function domainWith(behaviour: HostBehaviour): string {
  counter += 1;
  const domain = `w${counter}.test`;
  server.setHost(`mta-sts.${domain}`, behaviour);
  return domain;
}

function expectError(result: FetchResult, code: string, message?: RegExp): Extract<FetchResult, { kind: 'error' }> {
  assert.equal(result.kind, 'error', `expected ${code}, got ${JSON.stringify(result)}`);
  if (result.kind !== 'error') throw new Error('unreachable');
  assert.equal(result.code, code, result.message);
  if (message) assert.match(result.message, message);
  return result;
}

/**
 * What a fetch of a host that answers costs through the worker on this machine, now: a test
 * whose deadline must fall after the TLS handshake and before an answer that never comes takes
 * a few times this (a loaded machine is slow for every fetch alike).
 */
async function goodFetchMs(): Promise<number> {
  const start = Date.now();
  assert.equal((await fetcher.fetch(domainWith({ response: { kind: 'body', body: POLICY } }), TIMEOUT)).kind, 'ok');
  return Date.now() - start;
}

async function eventually(check: () => boolean, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 20));
  }
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'worker-fetcher-'));
  pki = await createTestPki(join(dir, 'pki'));
  server = await FakeHttps.start({ pki, host: '127.0.0.1', port: 0 });
  fetcher = createWorkerFetcher(dnsDouble, { port: server.port, ca: pki.caCertPem });
});

after(async () => {
  await fetcher.close();
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

describe('worker fetcher: the same outcomes as the in-process fetcher', () => {
  it('starts no thread before the first fetch', () => {
    assert.equal(createWorkerFetcher(dnsDouble).running, false);
    assert.equal(fetcher.running, false);
  });

  it('returns the body, certificate facts and timings; the host is resolved by the main thread', async () => {
    const domain = domainWith({ response: { kind: 'body', body: POLICY } });
    const r = await fetcher.fetch(domain, TIMEOUT);
    assert.equal(r.kind, 'ok', JSON.stringify(r));
    if (r.kind !== 'ok') return;
    assert.equal(fetcher.running, true);
    assert.equal(r.body, POLICY);
    assert.equal(r.url, `https://mta-sts.${domain}:${server.port}${POLICY_PATH}`);
    assert.equal(r.certificate?.subject, `CN=mta-sts.${domain}`);
    assert.ok(r.timings.tlsMs !== undefined && r.timings.tlsMs <= r.timings.totalMs);
    assert.ok(asked.includes(`mta-sts.${domain}`), asked.join(' '));
    assert.equal(server.requestsFor(`mta-sts.${domain}`)[0]?.sni, `mta-sts.${domain}`);
  });

  it('runs fetches concurrently and answers each with its own result', async () => {
    const good = [1, 2, 3, 4].map(() => domainWith({ response: { kind: 'body', body: POLICY } }));
    const bad = domainWith({ response: { kind: 'body', status: 404, body: 'no' } });
    const results = await Promise.all([...good, bad].map((d) => fetcher.fetch(d, TIMEOUT)));
    for (const [i, d] of good.entries()) {
      const r = results[i];
      assert.equal(r?.kind, 'ok', JSON.stringify(r));
      assert.ok(r?.url.includes(`mta-sts.${d}:`));
    }
    assert.equal(expectError(results[4] as FetchResult, 'EFETCH_STATUS').status, 404);
  });

  it('never follows a redirect', async () => {
    const target = domainWith({ response: { kind: 'body', body: POLICY } });
    const domain = domainWith({
      response: { kind: 'redirect', status: 302, location: `https://mta-sts.${target}:${server.port}${POLICY_PATH}` },
    });
    expectError(await fetcher.fetch(domain, TIMEOUT), 'EFETCH_STATUS', /redirects are not followed/);
    assert.equal(server.requestsFor(`mta-sts.${target}`).length, 0);
  });

  it('caps the body and checks the media type', async () => {
    const big = domainWith({ response: { kind: 'body', body: 'a'.repeat(MAX_POLICY_BYTES + 1), framing: 'chunked' } });
    expectError(await fetcher.fetch(big, TIMEOUT), 'EFETCH_TOO_LARGE');
    const html = domainWith({ response: { kind: 'body', body: POLICY, contentType: 'text/html' } });
    expectError(await fetcher.fetch(html, TIMEOUT), 'EFETCH_CONTENT_TYPE');
  });

  it('verifies the certificate chain and name', async () => {
    const untrusted = domainWith({ cert: { kind: 'untrusted' }, response: { kind: 'body', body: POLICY } });
    expectError(await fetcher.fetch(untrusted, TIMEOUT), 'EFETCH_TLS', /UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
    const other = domainWith({ cert: { names: ['www.other.test'] }, response: { kind: 'body', body: POLICY } });
    const e = expectError(await fetcher.fetch(other, TIMEOUT), 'EFETCH_CERT_NAME', /www\.other\.test/);
    assert.equal(e.certificate?.subject, 'CN=www.other.test');
  });

  it('keeps the DNS error code of the main thread seam, and the one deadline', async () => {
    expectError(await fetcher.fetch('gone.nx.test', TIMEOUT), 'EFETCH_DNS', /ENOTFOUND/);
    const start = Date.now();
    expectError(await fetcher.fetch('x.hang.test', 800), 'EFETCH_TIMEOUT', /during dns/);
    assert.ok(Date.now() - start < 800 + 1500);
    const hang = domainWith({ response: { kind: 'hang' } });
    expectError(await fetcher.fetch(hang, Math.max(700, 3 * (await goodFetchMs()))), 'EFETCH_TIMEOUT', /during headers/);
  });
});

describe('worker fetcher: the system resolver in the worker', () => {
  it('resolves the policy host with its own system resolver, not through the main thread', async () => {
    const domain = domainWith({ response: { kind: 'body', body: POLICY } });
    const world = new FakeDns({ zones: ['test'], records: { [`mta-sts.${domain}`]: { A: ['127.0.0.1'] } } });
    const { port: dnsPort } = await world.start();
    const f = createWorkerFetcher(dnsDouble, { port: server.port, ca: pki.caCertPem, systemDns: { servers: [`127.0.0.1:${dnsPort}`] } });
    try {
      const before = asked.length;
      const r = await f.fetch(domain, TIMEOUT);
      assert.equal(r.kind, 'ok', JSON.stringify(r));
      assert.equal(asked.length, before, 'the main thread seam was not asked');
      assert.ok(
        world.queries.some((q) => q.name === `mta-sts.${domain}` && q.type === 'A'),
        JSON.stringify(world.queries),
      );
      expectError(await f.fetch('missing.test', TIMEOUT), 'EFETCH_DNS', /ENOTFOUND/);
    } finally {
      await f.close();
      await world.stop();
    }
  });
});

/** Nice value of every thread of this process, by thread id (Linux /proc; field 19 of stat). */
async function threadNiceness(): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const tid of await readdir('/proc/self/task')) {
    try {
      const stat = await readFile(`/proc/self/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(tid), Number(fields[16]));
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

describe('worker fetcher: the thread', () => {
  it('runs at a lower priority than the main thread (Linux: nice is per thread)', { skip: process.platform !== 'linux' }, async () => {
    const own = getPriority();
    const before = await threadNiceness();
    const f = createWorkerFetcher(dnsDouble, { port: server.port, ca: pki.caCertPem, idleMs: 60_000 });
    try {
      assert.equal((await f.fetch(domainWith({ response: { kind: 'body', body: POLICY } }), TIMEOUT)).kind, 'ok');
      const during = await threadNiceness();
      const lowered = [...during].filter(([tid, nice]) => !before.has(tid) && nice === Math.min(19, own + FETCH_WORKER_NICENESS));
      assert.equal(lowered.length, 1, `one new thread at nice ${own + FETCH_WORKER_NICENESS}: ${JSON.stringify([...during])}`);
      assert.equal(during.get(process.pid), own, 'the main thread keeps its priority');
      assert.equal(getPriority(), own);
    } finally {
      await f.close();
    }
  });

  it('stops after idleMs without a fetch and starts again at the next one', async () => {
    const f = createWorkerFetcher(dnsDouble, { port: server.port, ca: pki.caCertPem, idleMs: 150 });
    try {
      const d1 = domainWith({ response: { kind: 'body', body: POLICY } });
      assert.equal((await f.fetch(d1, TIMEOUT)).kind, 'ok');
      assert.equal(f.running, true);
      await eventually(() => !f.running);
      const d2 = domainWith({ response: { kind: 'body', body: POLICY } });
      assert.equal((await f.fetch(d2, TIMEOUT)).kind, 'ok');
    } finally {
      await f.close();
    }
    assert.equal(f.running, false);
  });

  it('a worker that exits fails its fetches with ELOCAL_FAULT and is replaced', async () => {
    const script = join(dir, 'exits.mjs');
    await writeFile(
      script,
      "import { parentPort } from 'node:worker_threads';\nparentPort.on('message', () => process.exit(7));\nparentPort.postMessage({ kind: 'ready' });\n",
    );
    const f = createWorkerFetcher(dnsDouble, { workerUrl: pathToFileURL(script) });
    try {
      const e = expectError(await f.fetch('a.test', TIMEOUT), 'ELOCAL_FAULT', /exited \(code 7\)/);
      assert.match(e.url, /^https:\/\/mta-sts\.a\.test\//);
      expectError(await f.fetch('b.test', TIMEOUT), 'ELOCAL_FAULT', /exited/);
    } finally {
      await f.close();
    }
  });

  it('a worker that never answers is given up after the deadline and the grace period', async () => {
    const script = join(dir, 'silent.mjs');
    await writeFile(
      script,
      "import { parentPort } from 'node:worker_threads';\nparentPort.on('message', () => undefined);\nparentPort.postMessage({ kind: 'ready' });\n",
    );
    const f = createWorkerFetcher(dnsDouble, { workerUrl: pathToFileURL(script), graceMs: 100 });
    try {
      const start = Date.now();
      expectError(await f.fetch('a.test', 200), 'ELOCAL_FAULT', /did not answer within 300 ms/);
      const took = Date.now() - start;
      assert.ok(took >= 290 && took < 3000, `took ${took} ms`);
      await eventually(() => !f.running);
    } finally {
      await f.close();
    }
  });

  it('a worker that cannot load its code: the fetches run on the main thread, with every check', async () => {
    const script = join(dir, 'broken.mjs');
    await writeFile(script, "throw new Error('cannot load');\n");
    const f = createWorkerFetcher(dnsDouble, { port: server.port, ca: pki.caCertPem, workerUrl: pathToFileURL(script) });
    try {
      const domain = domainWith({ response: { kind: 'body', body: POLICY } });
      const r = await f.fetch(domain, TIMEOUT);
      assert.equal(r.kind, 'ok', JSON.stringify(r));
      assert.equal(f.running, false);
      const other = domainWith({ cert: { names: ['www.other.test'] }, response: { kind: 'body', body: POLICY } });
      expectError(await f.fetch(other, TIMEOUT), 'EFETCH_CERT_NAME');
    } finally {
      await f.close();
    }
  });

  it('close() fails what is pending and stops the thread', async () => {
    const f = createWorkerFetcher(dnsDouble, { port: server.port, ca: pki.caCertPem });
    const pending = f.fetch('y.hang.test', TIMEOUT);
    await eventually(() => asked.includes('mta-sts.y.hang.test'));
    await f.close();
    expectError(await pending, 'ELOCAL_FAULT', /stopped/);
    assert.equal(f.running, false);
  });
});
