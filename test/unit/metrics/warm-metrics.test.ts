/**
 * Warm answers reach the metrics: measuredAdapter wraps answerNow, and each warm answer is one
 * sample of mta_sts_bridge_lookups_total with its zone, outcome and source, like a full lookup.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryPolicyCache } from '../../../adapters/cache/memory.js';
import { socketmapAdapter, type SocketmapRequest } from '../../../adapters/protocol/socketmap.js';
import { tcpTableAdapter, type TcpTableRequest } from '../../../adapters/protocol/tcp-table.js';
import { defaultConfig } from '../../../src/config/load.js';
import { createLookupService } from '../../../src/lookup-service.js';
import { measuredAdapter } from '../../../src/metrics/instrument.js';
import { PrometheusMetrics } from '../../../src/metrics/prometheus.js';
import type { HandlerContext } from '../../../src/protocol/types.js';
import { Resolver } from '../../../src/resolver/resolver.js';
import { FakeClock, memoryLogger, policyText, ScriptedDns, ScriptedFetcher, testZone } from '../../helpers/fakes.js';

const BIG_MX = Array.from({ length: 60 }, (_, i) => `mx${i}.mail-hosts.big.example`);

async function samples(m: PrometheusMetrics, name: string): Promise<string[]> {
  return (await m.render()).split('\n').filter((l) => l.startsWith(`${name}{`));
}

function world() {
  const clock = new FakeClock();
  const dns = new ScriptedDns();
  const fetcher = new ScriptedFetcher();
  dns.setTxt('a.example', 'v=STSv1; id=one;');
  fetcher.setPolicy('a.example', policyText('enforce', 86_400, 'mx.a.example'));
  dns.setTxt('big.example', 'v=STSv1; id=big;');
  fetcher.setPolicy('big.example', policyText('enforce', 86_400, ...BIG_MX));
  const { log } = memoryLogger();
  log.level = 'info';
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
  const config = { ...defaultConfig(), zones: { postfix: testZone, tlsrpt: { ...testZone, tlsrpt: true } } };
  const service = createLookupService(resolver, config, log, { summaryIntervalMs: 0 });
  const metrics = new PrometheusMetrics({ defaultMetrics: false });
  const ctx: HandlerContext = { lookup: service, log };
  return { metrics, ctx, service };
}

describe('warm answers in mta_sts_bridge_lookups_total', () => {
  it('counts each warm socketmap answer with source="cache" (and warm absences with source="negative-cache")', async () => {
    const w = world();
    const adapter = measuredAdapter(socketmapAdapter, 'socketmap', w.metrics);
    assert.equal(adapter.protocol, 'socketmap', 'the rest of the adapter is the original');
    const hit: SocketmapRequest = { mapName: 'postfix', key: 'a.example' };
    const absent: SocketmapRequest = { mapName: 'postfix', key: 'nosts.example' };
    await adapter.handle(hit, w.ctx);
    await adapter.handle(absent, w.ctx);
    for (let i = 0; i < 37; i++) assert.equal(typeof adapter.answerNow?.(hit, w.ctx), 'string');
    for (let i = 0; i < 4; i++) assert.equal(typeof adapter.answerNow?.(absent, w.ctx), 'string');
    assert.equal(adapter.answerNow?.({ mapName: 'postfix', key: 'unknown.example' }, w.ctx), undefined);
    assert.equal(adapter.answerNow?.({ mapName: 'postfix', key: 'A.example' }, w.ctx), undefined);
    assert.deepEqual((await samples(w.metrics, 'mta_sts_bridge_lookups_total')).sort(), [
      'mta_sts_bridge_lookups_total{protocol="socketmap",zone="postfix",outcome="no-policy",source="lookup"} 1',
      'mta_sts_bridge_lookups_total{protocol="socketmap",zone="postfix",outcome="no-policy",source="negative-cache"} 4',
      'mta_sts_bridge_lookups_total{protocol="socketmap",zone="postfix",outcome="policy",source="cache"} 37',
      'mta_sts_bridge_lookups_total{protocol="socketmap",zone="postfix",outcome="policy",source="fetched"} 1',
    ]);
    const durations = await samples(w.metrics, 'mta_sts_bridge_lookup_duration_seconds_count');
    assert.ok(
      durations.includes('mta_sts_bridge_lookup_duration_seconds_count{protocol="socketmap",source="cache"} 37'),
      durations.join('\n'),
    );
  });

  it("the warm answer is the unmeasured adapter's, byte for byte", async () => {
    const w = world();
    const adapter = measuredAdapter(socketmapAdapter, 'socketmap', w.metrics);
    const hit: SocketmapRequest = { mapName: 'postfix', key: 'a.example' };
    await adapter.handle(hit, w.ctx);
    assert.equal(adapter.answerNow?.(hit, w.ctx), socketmapAdapter.answerNow?.(hit, w.ctx));
  });

  it('a request the warm path declines is counted once, by the full path', async () => {
    const w = world();
    const adapter = measuredAdapter(tcpTableAdapter, 'tcp_table', w.metrics);
    const ctx: HandlerContext = { ...w.ctx, listenerZone: 'tlsrpt' };
    const req: TcpTableRequest = { kind: 'get', key: 'big.example' };
    await adapter.handle(req, ctx);
    // Postfix's one request: the server tries answerNow, gets nothing, and calls handle.
    assert.equal(adapter.answerNow?.(req, ctx), undefined);
    await adapter.handle(req, ctx);
    assert.deepEqual((await samples(w.metrics, 'mta_sts_bridge_lookups_total')).sort(), [
      'mta_sts_bridge_lookups_total{protocol="tcp_table",zone="tlsrpt",outcome="policy",source="cache"} 1',
      'mta_sts_bridge_lookups_total{protocol="tcp_table",zone="tlsrpt",outcome="policy",source="fetched"} 1',
    ]);
  });

  it('an adapter without answerNow stays without one', () => {
    const { answerNow: _dropped, ...rest } = socketmapAdapter;
    void _dropped;
    const adapter = measuredAdapter(rest, 'socketmap', new PrometheusMetrics({ defaultMetrics: false }));
    assert.equal(adapter.answerNow, undefined);
  });
});
