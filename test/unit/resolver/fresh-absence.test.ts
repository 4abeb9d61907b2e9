/**
 * The warm path for domains without MTA-STS (Resolver.freshAbsence and the lookup service's
 * cachedAnswer): it answers exactly when a resolution would answer from the negative cache, and
 * only over a cache that holds everything in memory.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryPolicyCache } from '../../../adapters/cache/memory.js';
import { socketmapAdapter } from '../../../adapters/protocol/socketmap.js';
import { ResilientPolicyCache } from '../../../src/cache/resilient.js';
import type { PolicyCache } from '../../../src/cache/types.js';
import { defaultConfig } from '../../../src/config/load.js';
import { createLookupService } from '../../../src/lookup-service.js';
import { Resolver } from '../../../src/resolver/resolver.js';
import { FakeClock, memoryLogger, policyText, ScriptedDns, ScriptedFetcher, testZone } from '../../helpers/fakes.js';

function setup(cache: PolicyCache = new MemoryPolicyCache(100)) {
  const clock = new FakeClock();
  const dns = new ScriptedDns();
  const fetcher = new ScriptedFetcher();
  const { log, lines } = memoryLogger();
  const resolver = new Resolver({ cache, dns, fetcher, clock, log, cacheGraceSec: 60, negativeCacheTtlSec: 300, negativeCacheSize: 100 });
  return { clock, dns, fetcher, resolver, log, lines };
}

describe('Resolver.freshAbsence', () => {
  it('answers no-policy from the negative cache while the mark lasts, then no longer', async () => {
    const w = setup();
    assert.equal(w.resolver.freshAbsence('nosts.example'), undefined, 'nothing known yet');
    assert.equal((await w.resolver.resolve('nosts.example', testZone)).kind, 'no-policy');
    assert.deepEqual(w.resolver.freshAbsence('nosts.example'), {
      kind: 'no-policy',
      domain: 'nosts.example',
      reason: 'nxdomain',
      source: 'negative-cache',
    });
    w.clock.advance(299_999);
    assert.notEqual(w.resolver.freshAbsence('nosts.example'), undefined);
    w.clock.advance(1);
    assert.equal(w.resolver.freshAbsence('nosts.example'), undefined, 'the mark lasts negative_cache_ttl');
  });

  it('never answers for a domain with a cached policy, even an expired one', async () => {
    const w = setup();
    w.dns.setTxt('a.example', 'v=STSv1; id=one;');
    w.fetcher.setPolicy('a.example', policyText('enforce', 100, 'mx.a.example'));
    await w.resolver.resolve('a.example', testZone);
    assert.equal(w.resolver.freshAbsence('a.example'), undefined);
  });

  it('is off over a cache with a store behind its memory (a policy may be stored there)', async () => {
    const { log } = memoryLogger();
    const w = setup(new ResilientPolicyCache(new MemoryPolicyCache(100), { memorySize: 100, log }));
    assert.equal((await w.resolver.resolve('nosts.example', testZone)).kind, 'no-policy');
    assert.equal(w.resolver.freshAbsence('nosts.example'), undefined);
  });
});

describe('warm answers for domains without MTA-STS', () => {
  it('socketmap answers NOTFOUND at once, byte for byte the full path, counted as no-policy/negative-cache', async () => {
    const w = setup();
    const service = createLookupService(w.resolver, defaultConfig(), w.log, { summaryIntervalMs: 0 });
    const ctx = { lookup: service, log: w.log };
    const request = { mapName: 'postfix', key: 'nosts.example' };
    assert.equal(socketmapAdapter.answerNow?.(request, ctx), undefined, 'unknown domain: the full path');
    const full = Buffer.from(await socketmapAdapter.handle(request, ctx));
    assert.equal(full.toString(), '9:NOTFOUND ,');
    const warm = socketmapAdapter.answerNow?.(request, ctx);
    assert.equal(typeof warm, 'string');
    assert.deepEqual(Buffer.from(warm as string, 'utf8'), full);
    service.stop();
    const summary = w.lines.find((l) => l['message'] === 'lookup summary');
    assert.equal(summary?.['no-policy/negative-cache'], 1, 'the warm answer');
    assert.equal(summary?.['no-policy/lookup'], 1, 'the full-path lookup');
  });
});
