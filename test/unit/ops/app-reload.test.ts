import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startApp } from '../../../main/app.js';
import { defaultConfig } from '../../../src/config/load.js';
import type { BridgeConfig } from '../../../src/config/types.js';
import { ScriptedDns, ScriptedFetcher, memoryLogger, policyText } from '../../helpers/fakes.js';

const netstring = (s: string): string => `${Buffer.byteLength(s)}:${s},`;

function ask(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1');
    let data = '';
    c.setEncoding('utf8');
    c.on('connect', () => c.write(netstring(request)));
    c.on('data', (d: string) => {
      data += d;
      if (data.endsWith(',')) c.end();
    });
    c.on('close', () => resolve(data));
    c.on('error', reject);
  });
}

function config(cacheGraceSec: number, extra: Partial<BridgeConfig> = {}): BridgeConfig {
  return {
    ...defaultConfig(),
    listeners: [{ protocol: 'socketmap', address: { kind: 'tcp', host: '127.0.0.1', port: 0 }, reusePort: false, origin: 'test' }],
    cache: { type: 'internal', cacheSize: 100 },
    cacheGraceSec,
    ...extra,
  };
}

describe('App.reload', () => {
  it('a new cache_grace applies to the next lookup; cached policies stay', async () => {
    const dns = new ScriptedDns();
    const fetcher = new ScriptedFetcher();
    dns.setTxt('example.com', 'v=STSv1; id=1');
    fetcher.setPolicy('example.com', policyText('enforce', 86400, 'mx.example.com'));
    const { log } = memoryLogger();
    const first = config(3600);
    const app = await startApp(first, { log, dns, fetcher });
    try {
      const port = app.listeners[0]?.port as number;
      const secure = netstring('OK secure match=mx.example.com servername=hostname');
      assert.equal(await ask(port, 'postfix example.com'), secure);
      assert.equal(await ask(port, 'postfix example.com'), secure);
      const txtQueries = dns.queries.length;
      assert.equal(txtQueries, 1, 'within cache_grace: no DNS query');

      // Same listener (port 0 is matched by its configured address), shorter grace.
      const outcome = await app.reload({ ...first, cacheGraceSec: 0 });
      assert.deepEqual(outcome.applied, ['cache_grace']);
      assert.equal(app.config.cacheGraceSec, 0);
      assert.equal(await ask(port, 'postfix example.com'), secure);
      assert.ok(dns.queries.length > txtQueries, 'cache_grace 0: the TXT record is checked again');
      assert.equal(fetcher.fetches.length, 1, 'the cached policy was kept (id unchanged, no refetch)');
    } finally {
      await app.stop();
    }
  });

  it('an added listener that cannot be opened is reported; the rest applies', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const taken = (blocker.address() as net.AddressInfo).port;
    const { log } = memoryLogger();
    const first = config(60);
    const app = await startApp(first, { log, dns: new ScriptedDns(), fetcher: new ScriptedFetcher() });
    try {
      const outcome = await app.reload({
        ...first,
        listeners: [
          ...first.listeners,
          { protocol: 'socketmap', address: { kind: 'tcp', host: '127.0.0.1', port: taken }, reusePort: false, origin: 'listeners[1]' },
        ],
        zones: { strict: { ...first.defaultZone, strictTesting: true } },
      });
      assert.equal(outcome.failed.length, 1);
      assert.match(outcome.failed[0]?.reason ?? '', /ELISTEN_IN_USE/);
      assert.ok(outcome.applied.includes('zones'));
      assert.equal(app.listeners.length, 1);
      assert.equal(app.config.listeners.length, 1, 'the listener that failed is not in force');
    } finally {
      await app.stop();
      await new Promise((r) => blocker.close(r));
    }
  });
});
