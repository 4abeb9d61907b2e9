import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_CODES_PER_METRIC, PrometheusMetrics } from '../../../src/metrics/prometheus.js';
import { Resolver } from '../../../src/resolver/resolver.js';
import { Refresher } from '../../../src/refresh/refresher.js';
import { MemoryPolicyCache } from '../../../adapters/cache/memory.js';
import { FakeClock, ScriptedDns, ScriptedFetcher, memoryLogger, policyText, testZone } from '../../helpers/fakes.js';

/** Sample lines of `name` (with labels), without HELP/TYPE lines. */
async function samples(m: PrometheusMetrics, name: string): Promise<string[]> {
  return (await m.render()).split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}

describe('PrometheusMetrics', () => {
  it('counts lookups in one cached child per label combination and observes their duration', async () => {
    const m = new PrometheusMetrics({ defaultMetrics: false });
    m.lookupAnswered('socketmap', 'default', 'policy', 'cache', 0.0002);
    m.lookupAnswered('socketmap', 'default', 'policy', 'cache', 0.0003);
    m.lookupAnswered('tcp_table', 'strict', 'dns-error', 'lookup', 3);
    assert.deepEqual(await samples(m, 'mta_sts_bridge_lookups_total'), [
      'mta_sts_bridge_lookups_total{protocol="socketmap",zone="default",outcome="policy",source="cache"} 2',
      'mta_sts_bridge_lookups_total{protocol="tcp_table",zone="strict",outcome="dns-error",source="lookup"} 1',
    ]);
    const buckets = await samples(m, 'mta_sts_bridge_lookup_duration_seconds_bucket');
    assert.ok(
      buckets.includes('mta_sts_bridge_lookup_duration_seconds_bucket{le="0.0005",protocol="socketmap",source="cache"} 2'),
      buckets.join('\n'),
    );
    assert.ok(buckets.includes('mta_sts_bridge_lookup_duration_seconds_bucket{le="2.5",protocol="tcp_table",source="lookup"} 0'));
    assert.ok(buckets.includes('mta_sts_bridge_lookup_duration_seconds_bucket{le="5",protocol="tcp_table",source="lookup"} 1'));
  });

  it('keeps error-code labels bounded: odd or too many distinct codes become EOTHER', async () => {
    const m = new PrometheusMetrics({ defaultMetrics: false });
    m.dnsError('ESERVFAIL');
    m.dnsError('some text with spaces');
    for (let i = 0; i < MAX_CODES_PER_METRIC + 10; i++) m.localFault(`ELOCAL_${i}`);
    assert.deepEqual(await samples(m, 'mta_sts_bridge_dns_errors_total'), [
      'mta_sts_bridge_dns_errors_total{code="ESERVFAIL"} 1',
      'mta_sts_bridge_dns_errors_total{code="EOTHER"} 1',
    ]);
    const faults = await samples(m, 'mta_sts_bridge_local_faults_total');
    assert.equal(faults.length, MAX_CODES_PER_METRIC + 1);
    assert.ok(faults.includes('mta_sts_bridge_local_faults_total{code="EOTHER"} 10'));
  });

  it('reads cache and warm-up figures only when scraped', async () => {
    const m = new PrometheusMetrics({ defaultMetrics: false });
    let queued = 3;
    m.watch({ cacheEntries: () => 42, cacheBackendErrors: () => 7, warmQueueLength: () => queued, warmDropped: () => 5 });
    assert.deepEqual(await samples(m, 'mta_sts_bridge_warm_queue_length'), ['mta_sts_bridge_warm_queue_length 3']);
    queued = 0;
    assert.deepEqual(await samples(m, 'mta_sts_bridge_warm_queue_length'), ['mta_sts_bridge_warm_queue_length 0']);
    assert.deepEqual(await samples(m, 'mta_sts_bridge_cache_entries'), ['mta_sts_bridge_cache_entries 42']);
    assert.deepEqual(await samples(m, 'mta_sts_bridge_cache_backend_errors_total'), ['mta_sts_bridge_cache_backend_errors_total 7']);
    assert.deepEqual(await samples(m, 'mta_sts_bridge_warm_dropped_total'), ['mta_sts_bridge_warm_dropped_total 5']);
  });

  it('receives fetch results, DNS errors and refresh outcomes from the resolver and the refresher', async () => {
    const m = new PrometheusMetrics({ defaultMetrics: false });
    const clock = new FakeClock();
    const dns = new ScriptedDns();
    const fetcher = new ScriptedFetcher();
    const cache = new MemoryPolicyCache(100, clock);
    const { log } = memoryLogger();
    const resolver = new Resolver({
      cache,
      dns,
      fetcher,
      clock,
      log,
      cacheGraceSec: 60,
      negativeCacheTtlSec: 300,
      negativeCacheSize: 100,
      metrics: m,
    });
    dns.setTxt('ok.test', 'v=STSv1; id=1');
    fetcher.setPolicy('ok.test', policyText('enforce', 604_800, 'mx.ok.test'));
    dns.setTxt('tls.test', 'v=STSv1; id=1');
    fetcher.setError('tls.test', 'EFETCH_TLS');
    dns.setAnswer('broken.test', { kind: 'error', code: 'ETIMEOUT', message: 'timed out' });
    await resolver.resolve('ok.test', testZone);
    await resolver.resolve('tls.test', testZone);
    await resolver.resolve('broken.test', testZone);

    // A day later the cached policy is due; its host now fails TLS.
    clock.advance(86_400_000);
    fetcher.setError('ok.test', 'EFETCH_TLS');
    const refresher = new Refresher(
      { cache, target: resolver, clock, log, random: () => 0.5, metrics: m },
      { intervalSec: 86_400, concurrencyLimit: 1, graceRatio: 2, jitter: 0, zone: testZone, owner: 't' },
    );
    await refresher.runOnce();

    assert.deepEqual(await samples(m, 'mta_sts_bridge_policy_fetches_total'), [
      'mta_sts_bridge_policy_fetches_total{result="ok",code=""} 1',
      'mta_sts_bridge_policy_fetches_total{result="error",code="EFETCH_TLS"} 2',
    ]);
    assert.deepEqual(await samples(m, 'mta_sts_bridge_dns_errors_total'), ['mta_sts_bridge_dns_errors_total{code="ETIMEOUT"} 1']);
    assert.deepEqual(await samples(m, 'mta_sts_bridge_refreshes_total'), [
      'mta_sts_bridge_refreshes_total{result="failed",code="EFETCH_TLS"} 1',
    ]);
  });

  it('exports process metrics under the prefix', async () => {
    const text = await new PrometheusMetrics().render();
    assert.match(text, /^mta_sts_bridge_process_cpu_user_seconds_total \d/m);
    assert.match(text, /^mta_sts_bridge_nodejs_eventloop_lag_seconds /m);
  });
});
