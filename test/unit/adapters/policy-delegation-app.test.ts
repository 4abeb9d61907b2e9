/**
 * The policy listener in the running app (real server, resolver and memory cache; scripted
 * DNS and HTTPS): DUNNO at once, the warm-up fills the cache the socketmap listener reads,
 * and a malformed request closes the connection without a reply.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startApp } from '../../../main/app.js';
import { defaultConfig } from '../../../src/config/load.js';
import type { BridgeConfig } from '../../../src/config/types.js';
import { FakeClock, ScriptedDns, ScriptedFetcher, memoryLogger, policyText } from '../../helpers/fakes.js';

function config(): BridgeConfig {
  return {
    ...defaultConfig(),
    listeners: [
      { protocol: 'socketmap', address: { kind: 'tcp', host: '127.0.0.1', port: 0 }, reusePort: false, origin: 'sm' },
      { protocol: 'policy', address: { kind: 'tcp', host: '127.0.0.1', port: 0 }, reusePort: false, origin: 'policy' },
    ],
    policyDelegation: { queueSize: 10, concurrency: 2, skipDomains: ['local.test'] },
    // In memory: a persistent default cache would carry policies from one run into the next.
    cache: { type: 'internal', cacheSize: 100 },
  };
}

/** Send `data`, collect everything until the server closes or `done` says so. */
function talk(port: number, data: string, done: (received: string) => boolean): Promise<{ received: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1');
    let received = '';
    c.setEncoding('utf8');
    c.on('data', (d: string) => {
      received += d;
      if (done(received)) {
        c.end();
        resolve({ received, closed: false });
      }
    });
    c.on('end', () => resolve({ received, closed: true }));
    c.on('error', reject);
    c.write(data);
  });
}

const rcpt = (recipient: string, state = 'RCPT'): string =>
  `request=smtpd_access_policy\nprotocol_state=${state}\nrecipient=${recipient}\nsender=a@b.test\n\n`;

describe('policy listener in the app', () => {
  it('answers DUNNO while DNS hangs, then the socketmap lookup is a cache hit', async () => {
    const dns = new ScriptedDns();
    const fetcher = new ScriptedFetcher();
    dns.setTxt('enforce.test', 'v=STSv1; id=1');
    fetcher.setPolicy('enforce.test', policyText('enforce', 86400, 'mx.enforce.test'));
    let release: () => void = () => undefined;
    dns.gate = new Promise((r) => (release = r));
    const { log } = memoryLogger();
    const app = await startApp(config(), { log, dns, fetcher, clock: new FakeClock() });
    try {
      const [sm, policy] = app.listeners.map((l) => l.port ?? 0);
      assert.ok(sm !== undefined && policy !== undefined);
      // Three requests on one connection, DNS held: every reply still comes back.
      const three = rcpt('bob@Enforce.test') + rcpt('x@local.test') + rcpt('y@enforce.test', 'MAIL');
      const r = await talk(policy, three, (s) => s.split('action=DUNNO\n\n').length === 4);
      assert.equal(r.received, 'action=DUNNO\n\n'.repeat(3));
      assert.deepEqual(fetcher.fetches, [], 'nothing fetched yet: DNS is held');
      for (let i = 0; i < 50 && dns.queries.length === 0; i += 1) await new Promise((res) => setTimeout(res, 10));
      await new Promise((res) => setTimeout(res, 20));
      assert.deepEqual(dns.queries, ['_mta-sts.enforce.test'], 'only the RCPT domain, not the skipped one');

      release();
      for (let i = 0; i < 50 && fetcher.fetches.length === 0; i += 1) await new Promise((res) => setTimeout(res, 10));
      await new Promise((res) => setTimeout(res, 20));
      assert.deepEqual(fetcher.fetches, ['enforce.test']);

      // Now the socketmap lookup: answered from the cache (cache_grace 60 s, fake clock still).
      const reply = await talk(sm, '20:postfix enforce.test,', (s) => s.endsWith(','));
      assert.match(reply.received, /OK secure match=mx\.enforce\.test/);
      assert.deepEqual(fetcher.fetches, ['enforce.test'], 'no second fetch');
      assert.equal(dns.queries.length, 1, 'no second TXT lookup');
    } finally {
      release();
      await app.stop();
    }
  });

  it('closes the connection without a reply on a malformed request, after answering earlier ones', async () => {
    const { log, lines } = memoryLogger();
    const app = await startApp(config(), { log, dns: new ScriptedDns(), fetcher: new ScriptedFetcher(), clock: new FakeClock() });
    try {
      const port = app.listeners[1]?.port ?? 0;
      const r = await talk(port, `${rcpt('a@x.test', 'CONNECT')}this line has no equals sign\n\n`, () => false);
      assert.equal(r.closed, true);
      assert.equal(r.received, 'action=DUNNO\n\n');
      assert.ok(lines.some((l) => l['code'] === 'EDELEGATION_NO_EQUALS'));
    } finally {
      await app.stop();
    }
  });
});
