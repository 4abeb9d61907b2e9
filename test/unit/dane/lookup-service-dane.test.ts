import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultConfig } from '../../../src/config/load.js';
import { createDaneService } from '../../../src/dane/service.js';
import type { LookupResult } from '../../../src/lookup.js';
import { createLookupService } from '../../../src/lookup-service.js';
import type { Resolution } from '../../../src/resolver/types.js';
import { EE, ScriptedDnssec } from '../../helpers/dnssec-fakes.js';
import { FakeClock, memoryLogger } from '../../helpers/fakes.js';

const absent = { kind: 'no-policy', domain: 'dane.test', reason: 'nxdomain', source: 'negative-cache' } as const;

function setup() {
  const dns = new ScriptedDnssec()
    .records('MX', 'dane.test', [{ preference: 10, exchange: 'mx.dane.test' }])
    .records('A', 'mx.dane.test', ['192.0.2.1'])
    .records('TLSA', '_25._tcp.mx.dane.test', [EE]);
  const { log } = memoryLogger();
  const dane = createDaneService({ dns, clock: new FakeClock(), log, resolver: { host: '127.0.0.1', port: 53, family: 4 } });
  const base = defaultConfig();
  const config = {
    ...base,
    zones: { on: { ...base.defaultZone, dane: { enabled: true, level: 'dane', lookupFailure: 'temp' } as const } },
  };
  const resolver = { resolve: async (): Promise<Resolution> => ({ ...absent, source: 'lookup' }), freshAbsence: () => absent };
  const service = createLookupService(resolver, config, log, { summaryIntervalMs: 0, dane });
  return { dns, service };
}

describe('lookup service with DANE', () => {
  it('slow path: DANE looked up beside the resolution; then the warm path answers from the cached finding', async () => {
    const t = setup();
    const seen: LookupResult[] = [];
    const format = (r: LookupResult): string => {
      seen.push(r);
      return r.dane?.kind ?? 'sts';
    };
    assert.equal(t.service.cachedAnswer?.('dane.test', 'on', format), undefined);
    const result = await t.service.lookup('dane.test', 'on');
    assert.equal(result.dane?.kind, 'dane');
    assert.equal(t.service.cachedAnswer?.('dane.test', 'on', format), 'dane');
  });
  it('a zone without dane never asks the DANE side and answers as before', async () => {
    const t = setup();
    const result = await t.service.lookup('dane.test');
    assert.equal(result.dane, undefined);
    assert.equal(
      t.service.cachedAnswer?.('dane.test', undefined, (r) => r.dane?.kind ?? 'sts'),
      'sts',
    );
    assert.deepEqual(t.dns.asked, []);
  });
});
