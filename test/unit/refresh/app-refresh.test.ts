import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryPolicyCache } from '../../../adapters/cache/memory.js';
import { startApp } from '../../../main/app.js';
import { defaultConfig } from '../../../src/config/load.js';
import type { BridgeConfig } from '../../../src/config/types.js';
import { FakeClock, ScriptedDns, ScriptedFetcher, memoryLogger, policyText } from '../../helpers/fakes.js';
import { sampleEntry } from '../../contract/policy-cache.contract.js';
import { HOUR } from './helpers.js';

function config(enabled: boolean): BridgeConfig {
  const base = defaultConfig();
  return {
    ...base,
    listeners: [{ protocol: 'socketmap', address: { kind: 'tcp', host: '127.0.0.1', port: 0 }, reusePort: false, origin: 'test' }],
    cache: { type: 'internal', cacheSize: 100 },
    // A one-second interval: the first run comes after one second of real time.
    proactiveFetching: { enabled, intervalSec: 1, concurrencyLimit: 4, graceRatio: 2, jitter: 0 },
  };
}

describe('startApp with proactive_policy_fetching', () => {
  it('starts the refresher after the listeners and stops it with the app', async () => {
    const clock = new FakeClock();
    const cache = new MemoryPolicyCache(100, clock);
    await cache.set(
      sampleEntry('a.test', {
        fetchedAt: clock.now() - 13 * HOUR,
        checkedAt: clock.now() - 13 * HOUR,
        expiresAt: clock.now() + 5 * 24 * HOUR,
      }),
    );
    const dns = new ScriptedDns();
    dns.setTxt('a.test', 'v=STSv1; id=20260101T000000');
    const fetcher = new ScriptedFetcher();
    fetcher.setPolicy('a.test', policyText('enforce', 604_800, 'mx.a.test'));
    const { log, lines } = memoryLogger();
    const app = await startApp(config(true), { log, dns, fetcher, clock, cache });
    try {
      assert.ok(app.refresher !== undefined);
      const started = lines.findIndex((l) => l['message'] === 'proactive refresh started');
      const listening = lines.findIndex((l) => l['message'] === 'listening');
      assert.ok(listening >= 0 && started > listening, 'refresher started after the listeners');
      for (let i = 0; i < 100 && fetcher.fetches.length === 0; i += 1) await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(fetcher.fetches, ['a.test']);
      for (let i = 0; i < 100 && app.refresher.runs === 0; i += 1) await new Promise((r) => setTimeout(r, 20));
      assert.equal((await cache.get('a.test'))?.fetchedAt, clock.now());
    } finally {
      await app.stop();
    }
    const runs = app.refresher.runs;
    await new Promise((r) => setTimeout(r, 1200));
    assert.equal(app.refresher.runs, runs, 'no run after stop()');
  });

  it('has no refresher when disabled', async () => {
    const app = await startApp(config(false), { log: memoryLogger().log, dns: new ScriptedDns(), fetcher: new ScriptedFetcher() });
    try {
      assert.equal(app.refresher, undefined);
      assert.equal(defaultConfig().proactiveFetching?.enabled, true, 'on by default (RFC 8461 §3.3 SHOULD)');
    } finally {
      await app.stop();
    }
  });
});
