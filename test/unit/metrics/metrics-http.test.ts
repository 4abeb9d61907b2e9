import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { startApp, type App } from '../../../main/app.js';
import { defaultConfig } from '../../../src/config/load.js';
import type { BridgeConfig } from '../../../src/config/types.js';
import type { PolicyCache } from '../../../src/cache/types.js';
import { ResilientPolicyCache } from '../../../src/cache/resilient.js';
import { MemoryPolicyCache } from '../../../adapters/cache/memory.js';
import { FakeClock, ScriptedDns, ScriptedFetcher, memoryLogger, policyText } from '../../helpers/fakes.js';

function config(): BridgeConfig {
  const base = defaultConfig();
  return {
    ...base,
    listeners: [{ protocol: 'socketmap', address: { kind: 'tcp', host: '127.0.0.1', port: 0 }, reusePort: false, origin: 'test' }],
    cache: { type: 'internal', cacheSize: 10_000 },
    zones: { strict: { ...base.defaultZone, strictTesting: true } },
    metrics: { host: '127.0.0.1', port: 0 },
  };
}

const netstring = (s: string): string => `${Buffer.byteLength(s)}:${s},`;

/** One socketmap request over a real socket; resolves with the raw reply. */
function socketmap(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1');
    let data = '';
    c.setEncoding('utf8');
    c.on('data', (d: string) => {
      data += d;
      const m = /^(\d+):/.exec(data);
      if (m !== null && data.length >= m[0].length + Number(m[1]) + 1) {
        c.end();
        resolve(data);
      }
    });
    c.on('error', reject);
    c.write(netstring(request));
  });
}

interface Reply {
  status: number;
  body: string;
  contentType: string | undefined;
}

function request(port: number, path: string, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, contentType: res.headers['content-type'] }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The value of one sample line `name{labels} value` in a Prometheus text exposition (0 when absent). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const have = new Map([...(m[2] ?? '').matchAll(/([a-z_]+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) return Number(m[3]);
  }
  return 0;
}

function metricsPort(app: App): number {
  assert.ok(app.metricsHttp !== undefined, 'the metrics listener runs');
  return app.metricsHttp.port;
}

describe('metrics HTTP listener', () => {
  it('/metrics counts real socketmap lookups by protocol, zone, outcome and source', async () => {
    const dns = new ScriptedDns();
    const fetcher = new ScriptedFetcher();
    dns.setTxt('example.com', 'v=STSv1; id=1');
    fetcher.setPolicy('example.com', policyText('enforce', 86400, 'mx.example.com'));
    const { log } = memoryLogger();
    const app = await startApp(config(), { log, dns, fetcher, clock: new FakeClock() });
    try {
      const port = app.listeners[0]?.port ?? 0;
      const mport = metricsPort(app);
      const before = await request(mport, '/metrics');
      assert.equal(before.status, 200);
      assert.match(before.contentType ?? '', /^text\/plain; version=0\.0\.4/);
      assert.equal(sample(before.body, 'mta_sts_bridge_lookups_total', { protocol: 'socketmap' }), 0);

      assert.match(await socketmap(port, 'postfix example.com'), /OK secure/);
      assert.match(await socketmap(port, 'postfix example.com'), /OK secure/);
      assert.match(await socketmap(port, 'strict example.com'), /OK secure/);
      await socketmap(port, 'postfix nothing.example');

      const after = (await request(mport, '/metrics')).body;
      const lookups = (labels: Record<string, string>): number => sample(after, 'mta_sts_bridge_lookups_total', labels);
      assert.equal(lookups({ protocol: 'socketmap', zone: 'default', outcome: 'policy', source: 'fetched' }), 1);
      assert.equal(lookups({ protocol: 'socketmap', zone: 'default', outcome: 'policy', source: 'cache' }), 1);
      assert.equal(lookups({ protocol: 'socketmap', zone: 'strict', outcome: 'policy', source: 'cache' }), 1);
      assert.equal(lookups({ protocol: 'socketmap', zone: 'default', outcome: 'no-policy', source: 'lookup' }), 1);
      assert.doesNotMatch(after, /example\.com|nothing\.example/, 'no domain is ever a label');
      assert.equal(sample(after, 'mta_sts_bridge_lookup_duration_seconds_count', { protocol: 'socketmap', source: 'cache' }), 2);
      assert.equal(sample(after, 'mta_sts_bridge_policy_fetches_total', { result: 'ok' }), 1);
      assert.equal(sample(after, 'mta_sts_bridge_cache_entries'), 1);
      assert.ok(sample(after, 'mta_sts_bridge_process_cpu_seconds_total') > 0, 'process metrics carry the prefix');
    } finally {
      await app.stop();
    }
  });

  it('/healthz is 200 "ok"; other paths 404, other methods 405; stop() closes the listener', async () => {
    const { log } = memoryLogger();
    const app = await startApp(config(), { log, dns: new ScriptedDns(), fetcher: new ScriptedFetcher() });
    const mport = metricsPort(app);
    try {
      const health = await request(mport, '/healthz');
      assert.deepEqual([health.status, health.body], [200, 'ok\n']);
      assert.equal((await request(mport, '/nope')).status, 404);
      assert.equal((await request(mport, '/')).status, 404);
      assert.equal((await request(mport, '/metrics', 'POST')).status, 405);
      assert.equal((await request(mport, '/healthz', 'HEAD')).status, 200);
      // Headers over the 8 KiB bound: refused, and the listener goes on.
      const raw = await new Promise<string>((resolve, reject) => {
        const c = net.connect(mport, '127.0.0.1');
        let data = '';
        c.setEncoding('utf8');
        c.on('data', (d: string) => (data += d));
        c.on('end', () => resolve(data));
        c.on('error', reject);
        c.write(`GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(10_000)}\r\n\r\n`);
      });
      assert.match(raw, /^HTTP\/1\.1 400 /);
      assert.equal((await request(mport, '/healthz')).status, 200);
    } finally {
      await app.stop();
    }
    await assert.rejects(request(mport, '/healthz'), { code: 'ECONNREFUSED' });
  });

  it('/healthz is 503 with the reason when the cache fails; lookups still answer and errors are counted', async () => {
    const failing: PolicyCache = {
      kind: 'failing',
      async open(): Promise<void> {},
      async get(): Promise<undefined> {
        throw new Error('disk on fire');
      },
      async set(): Promise<void> {
        throw new Error('disk on fire');
      },
      async delete(): Promise<boolean> {
        throw new Error('disk on fire');
      },
      // eslint-disable-next-line require-yield
      async *entries(): AsyncIterable<never[]> {
        throw new Error('disk on fire');
      },
      async close(): Promise<void> {},
    };
    const dns = new ScriptedDns();
    dns.setTxt('example.com', 'v=STSv1; id=1');
    const fetcher = new ScriptedFetcher();
    fetcher.setPolicy('example.com', policyText('enforce', 86400, 'mx.example.com'));
    const { log } = memoryLogger();
    const app = await startApp(config(), { log, dns, fetcher, cache: failing, clock: new FakeClock() });
    try {
      const health = await request(metricsPort(app), '/healthz');
      assert.equal(health.status, 503);
      assert.match(health.body, /^unhealthy: cache read failed: disk on fire/);
      assert.match(await socketmap(app.listeners[0]?.port ?? 0, 'postfix example.com'), /OK secure/);
      const text = (await request(metricsPort(app), '/metrics')).body;
      // One failed read and one failed write.
      assert.equal(sample(text, 'mta_sts_bridge_cache_backend_errors_total'), 2);
      assert.equal(sample(text, 'mta_sts_bridge_lookups_total', { outcome: 'policy', source: 'fetched' }), 1);
    } finally {
      await app.stop();
    }
  });

  it('counts policy-delegation warm-ups as protocol "warm" and shows the warm-up queue', async () => {
    const dns = new ScriptedDns();
    const fetcher = new ScriptedFetcher();
    dns.setTxt('example.com', 'v=STSv1; id=1');
    fetcher.setPolicy('example.com', policyText('enforce', 86400, 'mx.example.com'));
    const base = config();
    const { log } = memoryLogger();
    const app = await startApp(
      {
        ...base,
        listeners: [{ protocol: 'policy', address: { kind: 'tcp', host: '127.0.0.1', port: 0 }, reusePort: false, origin: 'test' }],
      },
      { log, dns, fetcher, clock: new FakeClock() },
    );
    try {
      const reply = await new Promise<string>((resolve, reject) => {
        const c = net.connect(app.listeners[0]?.port ?? 0, '127.0.0.1');
        let data = '';
        c.setEncoding('utf8');
        c.on('data', (d: string) => {
          data += d;
          if (data.endsWith('\n\n')) {
            c.end();
            resolve(data);
          }
        });
        c.on('error', reject);
        c.write('request=smtpd_access_policy\nprotocol_state=RCPT\nrecipient=user@example.com\n\n');
      });
      assert.equal(reply, 'action=DUNNO\n\n');
      const labels = { protocol: 'warm', zone: 'default', outcome: 'policy', source: 'fetched' };
      let text = '';
      for (let i = 0; i < 100 && sample(text, 'mta_sts_bridge_lookups_total', labels) === 0; i++) {
        text = (await request(metricsPort(app), '/metrics')).body;
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.equal(sample(text, 'mta_sts_bridge_lookups_total', labels), 1);
      assert.match(text, /^mta_sts_bridge_warm_queue_length 0$/m);
      assert.match(text, /^mta_sts_bridge_warm_dropped_total 0$/m);
    } finally {
      await app.stop();
    }
  });

  it('a taken metrics port stops the start with ELISTEN_IN_USE, and the listeners opened before are closed', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const taken = (blocker.address() as net.AddressInfo).port;
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const socketmapPort = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    try {
      const base = config();
      const { log } = memoryLogger();
      await assert.rejects(
        startApp(
          {
            ...base,
            listeners: [
              { protocol: 'socketmap', address: { kind: 'tcp', host: '127.0.0.1', port: socketmapPort }, reusePort: false, origin: 'test' },
            ],
            metrics: { host: '127.0.0.1', port: taken },
          },
          { log, dns: new ScriptedDns(), fetcher: new ScriptedFetcher() },
        ),
        (err: Error & { code?: string }) => err.code === 'ELISTEN_IN_USE' && err.message.startsWith('metrics.address: '),
      );
      await assert.rejects(socketmap(socketmapPort, 'postfix example.com'), { code: 'ECONNREFUSED' });
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
    }
  });

  it('/healthz is 503 while a persistent backend behind the memory layer fails, 200 once it recovers', async () => {
    let broken = true;
    const backend = new MemoryPolicyCache(100);
    const flaky: PolicyCache = {
      kind: 'flaky',
      open: () => backend.open(),
      get: async (d) => {
        if (broken) throw new Error('connection reset');
        return backend.get(d);
      },
      set: (e) => backend.set(e),
      delete: (d) => backend.delete(d),
      entries: (n) => backend.entries(n),
      close: () => backend.close(),
    };
    const { log } = memoryLogger();
    const cache = new ResilientPolicyCache(flaky, { memorySize: 100, log, retryInitialMs: 60_000 });
    await cache.open();
    const app = await startApp(config(), { log, dns: new ScriptedDns(), fetcher: new ScriptedFetcher(), cache });
    try {
      const health = await request(metricsPort(app), '/healthz');
      assert.deepEqual([health.status, health.body], [503, 'unhealthy: cache backend failing (answers come from the memory layer)\n']);
      broken = false;
      assert.equal(await cache.probe(), true);
      assert.equal((await request(metricsPort(app), '/healthz')).status, 200);
      const text = (await request(metricsPort(app), '/metrics')).body;
      assert.equal(sample(text, 'mta_sts_bridge_cache_backend_errors_total'), 1);
    } finally {
      await app.stop();
      await cache.close();
    }
  });

  it('without metrics: no HTTP listener', async () => {
    const { log } = memoryLogger();
    const { metrics: _omitted, ...rest } = config();
    const app = await startApp(rest, { log, dns: new ScriptedDns(), fetcher: new ScriptedFetcher() });
    try {
      assert.equal(app.metricsHttp, undefined);
    } finally {
      await app.stop();
    }
  });
});
