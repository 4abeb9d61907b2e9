/**
 * Warm answers in the lookup service's bookkeeping: each is counted once in the summary (as the
 * resolver's own cache answers are), has its decision line at debug and none at info, and an
 * answer the warm path declines (the full path answers it) is counted by the full path only.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryPolicyCache } from '../../../adapters/cache/memory.js';
import { socketmapAdapter } from '../../../adapters/protocol/socketmap.js';
import { tcpTableAdapter } from '../../../adapters/protocol/tcp-table.js';
import { defaultConfig } from '../../../src/config/load.js';
import type { ZoneConfig } from '../../../src/config/types.js';
import type { WarmNote } from '../../../src/lookup.js';
import { createLookupService } from '../../../src/lookup-service.js';
import type { HandlerContext } from '../../../src/protocol/types.js';
import { Resolver } from '../../../src/resolver/resolver.js';
import { FakeClock, memoryLogger, policyText, ScriptedDns, ScriptedFetcher, testZone } from '../../helpers/fakes.js';

const DAY = 86_400;
const BIG_MX = Array.from({ length: 60 }, (_, i) => `mx${i}.mail-hosts.big.example`);

function world(level: 'debug' | 'info' = 'debug') {
  const clock = new FakeClock();
  const dns = new ScriptedDns();
  const fetcher = new ScriptedFetcher();
  dns.setTxt('a.example', 'v=STSv1; id=one;');
  fetcher.setPolicy('a.example', policyText('enforce', DAY, 'mx.a.example'));
  dns.setTxt('big.example', 'v=STSv1; id=big;');
  fetcher.setPolicy('big.example', policyText('enforce', DAY, ...BIG_MX));
  const { log, lines } = memoryLogger();
  log.level = level;
  const resolver = new Resolver({
    cache: new MemoryPolicyCache(100),
    dns,
    fetcher,
    clock,
    log,
    cacheGraceSec: 60,
    negativeCacheTtlSec: 300,
    negativeCacheSize: 100,
  });
  const tlsrpt: ZoneConfig = { ...testZone, tlsrpt: true };
  const service = createLookupService(resolver, { ...defaultConfig(), zones: { postfix: testZone, tlsrpt } }, log, {
    summaryIntervalMs: 0,
  });
  const ctx: HandlerContext = { lookup: service, log };
  const decisions = (): Array<Record<string, unknown>> => lines.filter((l) => l['message'] === 'decision');
  const summaries = (): Array<Record<string, unknown>> => lines.filter((l) => l['message'] === 'lookup summary');
  return { clock, log, lines, service, ctx, decisions, summaries };
}

describe('warm answers in the lookup summary', () => {
  it('counts each warm hit as policy/cache and each warm absence as no-policy/negative-cache', async () => {
    const w = world('info');
    await socketmapAdapter.handle({ mapName: 'postfix', key: 'a.example' }, w.ctx);
    await socketmapAdapter.handle({ mapName: 'postfix', key: 'nosts.example' }, w.ctx);
    for (let i = 0; i < 250; i++) assert.ok(socketmapAdapter.answerNow?.({ mapName: 'postfix', key: 'a.example' }, w.ctx) !== undefined);
    for (let i = 0; i < 7; i++) assert.ok(socketmapAdapter.answerNow?.({ mapName: 'postfix', key: 'nosts.example' }, w.ctx) !== undefined);
    // Misses of the warm path are not lookups.
    assert.equal(socketmapAdapter.answerNow?.({ mapName: 'postfix', key: 'other.example' }, w.ctx), undefined);
    w.service.stop();
    const s = w.summaries();
    assert.equal(s.length, 1);
    assert.equal(s[0]?.['lookups'], 259);
    assert.equal(s[0]?.['policy/cache'], 250);
    assert.equal(s[0]?.['policy/fetched'], 1);
    assert.equal(s[0]?.['no-policy/negative-cache'], 7);
    assert.equal(s[0]?.['no-policy/lookup'], 1);
  });

  it('the next summary starts from zero', async () => {
    const w = world('info');
    await socketmapAdapter.handle({ mapName: 'postfix', key: 'a.example' }, w.ctx);
    socketmapAdapter.answerNow?.({ mapName: 'postfix', key: 'a.example' }, w.ctx);
    w.service.stop();
    socketmapAdapter.answerNow?.({ mapName: 'postfix', key: 'a.example' }, w.ctx);
    socketmapAdapter.answerNow?.({ mapName: 'postfix', key: 'a.example' }, w.ctx);
    w.service.stop();
    const s = w.summaries();
    assert.equal(s.length, 2);
    assert.equal(s[1]?.['lookups'], 2);
    assert.equal(s[1]?.['policy/cache'], 2);
    assert.equal(s[1]?.['policy/fetched'], undefined);
  });

  it('a warm answer declined by the formatter (the full path answers and logs) is counted once, by the full path', async () => {
    const w = world('info');
    await tcpTableAdapter.handle({ kind: 'get', key: 'big.example' }, { ...w.ctx, listenerZone: 'tlsrpt' });
    const notes: Array<Parameters<WarmNote>> = [];
    const note: WarmNote = (...args) => void notes.push(args);
    // Too large for tcp_table with TLSRPT: the warm formatter gives undefined, the full path answers.
    const ctx: HandlerContext = { ...w.ctx, listenerZone: 'tlsrpt' };
    assert.equal(tcpTableAdapter.answerNow?.({ kind: 'get', key: 'big.example' }, ctx), undefined);
    const declined = w.service.cachedAnswer?.('big.example', 'tlsrpt', () => undefined, note);
    assert.equal(declined, undefined);
    assert.deepEqual(notes, [], 'not reported as answered');
    await tcpTableAdapter.handle({ kind: 'get', key: 'big.example' }, ctx);
    w.service.stop();
    const s = w.summaries()[0];
    assert.equal(s?.['policy/fetched'], 1);
    assert.equal(s?.['policy/cache'], 1, 'the one answered request, not the declined warm tries');
    assert.equal(s?.['lookups'], 2);
  });
});

describe('warm decision lines', () => {
  it('one debug decision line per warm answer at debug, with the fields of a cache answer', async () => {
    const w = world('debug');
    await socketmapAdapter.handle({ mapName: 'postfix', key: 'a.example' }, w.ctx);
    await socketmapAdapter.handle({ mapName: 'postfix', key: 'nosts.example' }, w.ctx);
    const before = w.decisions().length;
    for (let i = 0; i < 3; i++) socketmapAdapter.answerNow?.({ mapName: 'postfix', key: 'a.example' }, w.ctx);
    socketmapAdapter.answerNow?.({ mapName: 'other-map', key: 'nosts.example' }, w.ctx);
    const warm = w.decisions().slice(before);
    assert.equal(warm.length, 4);
    for (const line of warm) assert.equal(line['level'], 'debug');
    const fields = ['domain', 'outcome', 'mode', 'source', 'reason', 'id', 'zone'] as const;
    assert.deepEqual(Object.fromEntries(fields.map((f) => [f, warm[0]?.[f]])), {
      domain: 'a.example',
      outcome: 'policy',
      mode: 'enforce',
      source: 'cache',
      reason: 'grace',
      id: 'one',
      zone: 'postfix',
    });
    assert.equal(warm[0]?.['component'], 'decision');
    assert.equal(warm[3]?.['outcome'], 'no-policy');
    assert.equal(warm[3]?.['source'], 'negative-cache');
    assert.equal(warm[3]?.['zone'], 'default', 'an unknown map name is the default zone');
  });

  it('no decision line for warm answers at info, and again lines when the level goes back to debug', async () => {
    const w = world('info');
    await socketmapAdapter.handle({ mapName: 'postfix', key: 'a.example' }, w.ctx);
    const before = w.decisions().length;
    assert.equal(before, 1, 'the fetch is an info decision');
    for (let i = 0; i < 100; i++) socketmapAdapter.answerNow?.({ mapName: 'postfix', key: 'a.example' }, w.ctx);
    assert.equal(w.decisions().length, before, 'nothing per warm answer at info');
    w.log.level = 'debug';
    socketmapAdapter.answerNow?.({ mapName: 'postfix', key: 'a.example' }, w.ctx);
    assert.equal(w.decisions().length, before + 1);
    w.log.level = 'warn';
    socketmapAdapter.answerNow?.({ mapName: 'postfix', key: 'a.example' }, w.ctx);
    assert.equal(w.decisions().length, before + 1);
  });
});
