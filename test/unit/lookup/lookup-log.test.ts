/**
 * Decision logging scales with change, not with traffic: what changed or went wrong is an info
 * line, what the cache answered as before is a debug line, and a periodic summary counts them.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { defaultConfig } from '../../../src/config/load.js';
import { createLookupService, decisionKind } from '../../../src/lookup-service.js';
import type { Resolution } from '../../../src/resolver/types.js';
import { memoryLogger } from '../../helpers/fakes.js';

const POLICY = { version: 'STSv1', mode: 'enforce', mx: ['mx.example'], maxAge: 86400 } as const;

function policy(source: 'cache' | 'fetched' | 'stale'): Resolution {
  return { kind: 'policy', domain: 'a.example', policy: POLICY, id: '1', source } as unknown as Resolution;
}
function noPolicy(source: 'negative-cache' | 'lookup'): Resolution {
  return { kind: 'no-policy', domain: 'b.example', reason: 'nxdomain', source } as unknown as Resolution;
}
const dnsError = { kind: 'dns-error', domain: 'c.example', code: 'ETIMEOUT', detail: 'timeout' } as unknown as Resolution;

describe('decision log levels', () => {
  it('info for a fetch, a stale policy, a fresh absence and a DNS error; debug for cache answers', () => {
    assert.deepEqual(decisionKind(policy('fetched')), { key: 'policy/fetched', level: 'info' });
    assert.deepEqual(decisionKind(policy('stale')), { key: 'policy/stale', level: 'info' });
    assert.deepEqual(decisionKind(policy('cache')), { key: 'policy/cache', level: 'debug' });
    assert.deepEqual(decisionKind(noPolicy('lookup')), { key: 'no-policy/lookup', level: 'info' });
    assert.deepEqual(decisionKind(noPolicy('negative-cache')), { key: 'no-policy/negative-cache', level: 'debug' });
    assert.deepEqual(decisionKind(dnsError), { key: 'dns-error/lookup', level: 'info' });
  });

  it('1,000 cached lookups write no info line but one summary that counts them', async () => {
    const { log, lines } = memoryLogger();
    log.level = 'info';
    const answers = [policy('fetched'), ...Array.from({ length: 1000 }, () => policy('cache')), noPolicy('negative-cache')];
    let i = 0;
    const service = createLookupService({ resolve: async () => answers[i++] as Resolution }, defaultConfig(), log, {
      summaryIntervalMs: 0,
    });
    for (let n = 0; n < answers.length; n++) await service.lookup('a.example');
    const decisions = lines.filter((l) => l['message'] === 'decision');
    assert.equal(decisions.length, 1, 'only the fetch is an info decision');
    assert.equal(decisions[0]?.['source'], 'fetched');
    service.stop();
    const summary = lines.filter((l) => l['message'] === 'lookup summary');
    assert.equal(summary.length, 1);
    assert.equal(summary[0]?.['lookups'], 1002);
    assert.equal(summary[0]?.['policy/cache'], 1000);
    assert.equal(summary[0]?.['policy/fetched'], 1);
    assert.equal(summary[0]?.['no-policy/negative-cache'], 1);
    service.stop();
    assert.equal(lines.filter((l) => l['message'] === 'lookup summary').length, 1, 'no empty summary');
  });

  it('at debug every lookup has its decision line', async () => {
    const { log, lines } = memoryLogger();
    const service = createLookupService({ resolve: async () => policy('cache') }, defaultConfig(), log, { summaryIntervalMs: 0 });
    for (let n = 0; n < 5; n++) await service.lookup('a.example');
    service.stop();
    assert.equal(lines.filter((l) => l['message'] === 'decision' && l['level'] === 'debug').length, 5);
  });

  it('the summary is written on its interval', async () => {
    const { log, lines } = memoryLogger();
    const service = createLookupService({ resolve: async () => policy('cache') }, defaultConfig(), log, { summaryIntervalMs: 20 });
    await service.lookup('a.example');
    await new Promise((r) => setTimeout(r, 200));
    service.stop();
    assert.equal(lines.filter((l) => l['message'] === 'lookup summary').length, 1);
  });
});
