import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startApp } from '../../../main/app.js';
import { defaultConfig } from '../../../src/config/load.js';
import type { BridgeConfig } from '../../../src/config/types.js';
import { BridgeError } from '../../../src/errors.js';
import { FakeClock, ScriptedDns, ScriptedFetcher, memoryLogger, policyText } from '../../helpers/fakes.js';

function configOnPort(port: number): BridgeConfig {
  const base = defaultConfig();
  return {
    ...base,
    listeners: [{ protocol: 'socketmap', address: { kind: 'tcp', host: '127.0.0.1', port }, reusePort: false, origin: 'test' }],
    // Memory: the default SQLite cache in the state directory would carry policies between runs.
    cache: { type: 'internal', cacheSize: 10_000 },
  };
}

const netstring = (s: string): string => `${Buffer.byteLength(s)}:${s},`;

function ask(port: number, requests: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1');
    let data = '';
    let expected = requests.length;
    c.setEncoding('utf8');
    c.on('data', (d: string) => {
      data += d;
      // Count complete netstrings received.
      let n = 0;
      let rest = data;
      for (let m = /^(\d+):/.exec(rest); m !== null; m = /^(\d+):/.exec(rest)) {
        const len = Number(m[1]);
        if (rest.length < m[0].length + len + 1) break;
        rest = rest.slice(m[0].length + len + 1);
        n++;
      }
      if (n >= expected) {
        expected = Infinity;
        c.end();
        resolve(data);
      }
    });
    c.on('error', reject);
    c.write(requests.map(netstring).join(''));
  });
}

describe('startApp', () => {
  it('wires cache, resolver, lookup service and listeners; stop() closes them', async () => {
    const dns = new ScriptedDns();
    const fetcher = new ScriptedFetcher();
    dns.setTxt('example.com', 'v=STSv1; id=1');
    fetcher.setPolicy('example.com', policyText('enforce', 86400, 'mx.example.com'));
    const { log, lines } = memoryLogger();
    const app = await startApp(configOnPort(0), { log, dns, fetcher, clock: new FakeClock() });
    const port = app.listeners[0]?.port ?? 0;
    const listening = lines.filter((l) => l['message'] === 'listening');
    assert.equal(listening.length, 1);
    assert.equal(listening[0]?.['listener'], `127.0.0.1:${port}`);
    assert.equal(listening[0]?.['protocol'], 'socketmap');
    assert.ok(Number(listening[0]?.['maxConnections']) >= 1, 'the connection cap in force is logged');

    const reply = await ask(port, ['postfix example.com', 'postfix example.com', 'postfix .parent.example']);
    const secure = 'OK secure match=mx.example.com servername=hostname';
    assert.equal(reply, netstring(secure) + netstring(secure) + netstring('NOTFOUND '));
    assert.deepEqual(fetcher.fetches, ['example.com'], 'the second lookup was a cache hit');

    await app.stop();
    await assert.rejects(ask(port, ['postfix example.com']), { code: 'ECONNREFUSED' });
  });

  it('a failed start stops what was started and reports ELISTEN_IN_USE', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const { log } = memoryLogger();
      await assert.rejects(
        startApp(configOnPort(port), { log, dns: new ScriptedDns(), fetcher: new ScriptedFetcher() }),
        (err: unknown) => err instanceof BridgeError && err.code === 'ELISTEN_IN_USE',
      );
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });
});
