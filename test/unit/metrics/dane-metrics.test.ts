import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultConfig } from '../../../src/config/load.js';
import { createDaneService } from '../../../src/dane/service.js';
import type { DaneFinding } from '../../../src/dane/types.js';
import type { LookupResult } from '../../../src/lookup.js';
import { createLookupService } from '../../../src/lookup-service.js';
import { daneAnswerOutcome, daneLookupOutcome, daneResolverState } from '../../../src/metrics/dane.js';
import { measuredLookup } from '../../../src/metrics/instrument.js';
import { PrometheusMetrics } from '../../../src/metrics/prometheus.js';
import type { Resolution } from '../../../src/resolver/types.js';
import { EE, ScriptedDnssec } from '../../helpers/dnssec-fakes.js';
import { FakeClock, memoryLogger } from '../../helpers/fakes.js';

async function samples(m: PrometheusMetrics, name: string): Promise<string[]> {
  return (await m.render()).split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}

function world(): ScriptedDnssec {
  return new ScriptedDnssec()
    .records('MX', 'dane.test', [{ preference: 10, exchange: 'mx.dane.test' }])
    .records('A', 'mx.dane.test', ['192.0.2.1'])
    .records('TLSA', '_25._tcp.mx.dane.test', [EE])
    .records('MX', 'mixed.test', [
      { preference: 10, exchange: 'mx.dane.test' },
      { preference: 20, exchange: 'mx2.mixed.test' },
    ])
    .records('A', 'mx2.mixed.test', ['192.0.2.2'])
    .set('TLSA', '_25._tcp.mx2.mixed.test', { kind: 'nxdomain', secure: true, owner: 'mixed.test', ttl: 60 })
    .set('MX', 'nx.test', { kind: 'nxdomain', secure: true, owner: 'test', ttl: 60 })
    .records('MX', 'plain.test', [{ preference: 10, exchange: 'mx.plain.test' }], false)
    .set('MX', 'broken.test', { kind: 'error', code: 'EDANE_DNS_SERVFAIL', message: 'bogus' })
    .set('MX', 'slow.test', { kind: 'error', code: 'EDANE_DNS_TIMEOUT', message: 'no answer' })
    .set('MX', 'local.test', { kind: 'error', code: 'EDANE_DNS_NETWORK', message: 'ECONNREFUSED' })
    .records('NS', '.', ['a.root-servers.test']);
}

const RESOLVER = { host: '127.0.0.1', port: 53, family: 4 } as const;

describe('DANE metrics', () => {
  it('a finding counts as its outcome: dane, mixed, absent, unsigned, servfail, timeout, local-fault', async () => {
    const { log } = memoryLogger();
    const findings: DaneFinding[] = [];
    const dane = createDaneService({ dns: world(), clock: new FakeClock(), log, resolver: RESOLVER, onFinding: (f) => findings.push(f) });
    const domains = ['dane.test', 'mixed.test', 'nx.test', 'plain.test', 'broken.test', 'slow.test', 'local.test'];
    for (const d of domains) await dane.finding(d, 1000);
    // A cached finding reused is not a lookup.
    await dane.finding('dane.test', 1000);
    assert.deepEqual(
      findings.map((f) => [f.domain, daneLookupOutcome(f)]),
      [
        ['dane.test', 'dane'],
        ['mixed.test', 'mixed'],
        ['nx.test', 'absent'],
        ['plain.test', 'unsigned'],
        ['broken.test', 'servfail'],
        ['slow.test', 'timeout'],
        ['local.test', 'local-fault'],
      ],
    );
  });

  it('the probe: validating, no AD, failed', async () => {
    const { log } = memoryLogger();
    const states: string[] = [];
    const probeOf = (name: string) =>
      createDaneService({
        dns: world(),
        clock: new FakeClock(),
        log,
        resolver: RESOLVER,
        probe: { type: 'MX', name },
        onProbe: (r) => states.push(daneResolverState(r)),
      }).probe();
    await probeOf('dane.test');
    await probeOf('plain.test');
    await probeOf('broken.test');
    assert.deepEqual(states, ['validating', 'no-ad', 'failed']);
  });

  it('Prometheus: dane_lookups_total by outcome and the resolver gauge', async () => {
    const m = new PrometheusMetrics({ defaultMetrics: false });
    assert.deepEqual(await samples(m, 'mta_sts_bridge_dane_resolver_validating'), ['mta_sts_bridge_dane_resolver_validating 0']);
    m.daneLookup('dane');
    m.daneLookup('dane');
    m.daneLookup('servfail');
    m.daneResolver('failed');
    assert.deepEqual(await samples(m, 'mta_sts_bridge_dane_lookups_total'), [
      'mta_sts_bridge_dane_lookups_total{outcome="dane"} 2',
      'mta_sts_bridge_dane_lookups_total{outcome="servfail"} 1',
    ]);
    assert.deepEqual(await samples(m, 'mta_sts_bridge_dane_resolver_validating'), ['mta_sts_bridge_dane_resolver_validating -1']);
    m.daneResolver('validating');
    assert.deepEqual(await samples(m, 'mta_sts_bridge_dane_resolver_validating'), ['mta_sts_bridge_dane_resolver_validating 1']);
    m.daneResolver('no-ad');
    assert.deepEqual(await samples(m, 'mta_sts_bridge_dane_resolver_validating'), ['mta_sts_bridge_dane_resolver_validating 0']);
  });

  it('lookups_total counts a DANE answer as outcome dane (slow and warm path), a DANE TEMP as dane-temp, STS as before', async () => {
    assert.equal(daneAnswerOutcome(undefined), undefined);
    assert.equal(daneAnswerOutcome({ kind: 'sts', verdict: { kind: 'none' }, why: 'no-dane' }), undefined);
    assert.equal(daneAnswerOutcome({ kind: 'dane', domain: 'd.test', level: 'dane-only', why: 'all-mx-dane' }), 'dane');
    assert.equal(
      daneAnswerOutcome({ kind: 'temp', domain: 'd.test', code: 'EDANE_DNS_SERVFAIL', side: 'remote', why: 'lookup-failed' }),
      'dane-temp',
    );

    const { log } = memoryLogger();
    const dane = createDaneService({ dns: world(), clock: new FakeClock(), log, resolver: RESOLVER });
    const base = defaultConfig();
    const config = {
      ...base,
      zones: { on: { ...base.defaultZone, dane: { enabled: true, level: 'dane', lookupFailure: 'temp' } as const } },
    };
    const absent = (domain: string) => ({ kind: 'no-policy', domain, reason: 'nxdomain', source: 'negative-cache' }) as const;
    const resolver = {
      resolve: async (domain: string): Promise<Resolution> => ({ ...absent(domain), source: 'lookup' }),
      freshAbsence: (domain: string) => absent(domain),
    };
    const inner = createLookupService(resolver, config, log, { summaryIntervalMs: 0, dane });
    const m = new PrometheusMetrics({ defaultMetrics: false });
    const measured = measuredLookup(inner, 'socketmap', m);
    await measured.lookup('dane.test', 'on');
    await measured.lookup('broken.test', 'on');
    await measured.lookup('plain.test', 'on');
    await measured.lookup('dane.test');
    const format = (r: LookupResult): string => r.dane?.kind ?? 'sts';
    assert.equal(measured.cachedAnswer?.('dane.test', 'on', format), 'dane');
    assert.deepEqual(await samples(m, 'mta_sts_bridge_lookups_total'), [
      'mta_sts_bridge_lookups_total{protocol="socketmap",zone="on",outcome="dane",source="lookup"} 1',
      'mta_sts_bridge_lookups_total{protocol="socketmap",zone="on",outcome="dane-temp",source="lookup"} 1',
      'mta_sts_bridge_lookups_total{protocol="socketmap",zone="on",outcome="no-policy",source="lookup"} 1',
      'mta_sts_bridge_lookups_total{protocol="socketmap",zone="default",outcome="no-policy",source="lookup"} 1',
      'mta_sts_bridge_lookups_total{protocol="socketmap",zone="on",outcome="dane",source="negative-cache"} 1',
    ]);
  });
});
