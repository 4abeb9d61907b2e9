import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DaneSettings } from '../../../src/dane/decision.js';
import { DANE_MAX_TTL_S } from '../../../src/dane/finding-cache.js';
import { createDaneService } from '../../../src/dane/service.js';
import type { Verdict } from '../../../src/verdict.js';
import { EE, ScriptedDnssec } from '../../helpers/dnssec-fakes.js';
import { FakeClock, memoryLogger } from '../../helpers/fakes.js';

const ON: DaneSettings = { enabled: true, level: 'dane', lookupFailure: 'temp' };
const NONE: Verdict = { kind: 'none' };

function world(): ScriptedDnssec {
  return new ScriptedDnssec()
    .records('MX', 'dane.test', [{ preference: 10, exchange: 'mx.dane.test' }])
    .records('A', 'mx.dane.test', ['192.0.2.1'])
    .records('TLSA', '_25._tcp.mx.dane.test', [EE])
    .records('MX', 'plain.test', [{ preference: 10, exchange: 'mx.plain.test' }], false)
    .set('MX', 'broken.test', { kind: 'error', code: 'EDANE_DNS_SERVFAIL', message: 'bogus' })
    .set('MX', 'local.test', { kind: 'error', code: 'EDANE_DNS_NETWORK', message: 'ECONNREFUSED' })
    .records('NS', '.', ['a.root-servers.test']);
}

function setup(dns = world()) {
  const clock = new FakeClock();
  const { log, lines } = memoryLogger();
  const service = createDaneService({ dns, clock, log, resolver: { host: '127.0.0.1', port: 53, family: 4 } });
  return { dns, clock, lines, service };
}

describe('DaneService', () => {
  it('no cached finding: no warm decision; after a lookup the warm path decides', async () => {
    const t = setup();
    assert.equal(t.service.cachedDecision('dane.test', ON, NONE, 1000), undefined);
    assert.equal((await t.service.finding('dane.test', 1000)).kind, 'dane');
    assert.deepEqual(t.service.cachedDecision('dane.test', ON, NONE, 1000), {
      kind: 'dane',
      domain: 'dane.test',
      level: 'dane',
      why: 'all-mx-dane',
    });
    assert.deepEqual(t.service.stats(), { findings: 1, inFlight: 0 });
  });
  it('a stale finding answers at once and is refreshed in the background', async () => {
    const t = setup();
    await t.service.finding('dane.test', 1000);
    const asked = t.dns.asked.length;
    t.clock.advance((DANE_MAX_TTL_S + 1) * 1000);
    assert.equal(t.service.cachedDecision('dane.test', ON, NONE, 1000)?.kind, 'dane');
    assert.equal(t.service.stats().inFlight, 1);
    await new Promise((r) => setTimeout(r, 10));
    assert.ok(t.dns.asked.length > asked);
    assert.equal(t.service.stats().inFlight, 0);
  });
  it('logs what changed: dane at info, no-dane at debug, remote failure at info, local fault at error', async () => {
    const t = setup();
    await t.service.finding('dane.test', 1000);
    await t.service.finding('plain.test', 1000);
    await t.service.finding('broken.test', 1000);
    await t.service.finding('local.test', 1000);
    const byDomain = new Map(t.lines.filter((l) => l.message === 'dane finding').map((l) => [l.domain, l]));
    assert.equal(byDomain.get('dane.test')?.level, 'info');
    assert.equal(byDomain.get('plain.test')?.level, 'debug');
    assert.equal(byDomain.get('broken.test')?.level, 'info');
    assert.equal(byDomain.get('broken.test')?.code, 'EDANE_DNS_SERVFAIL');
    assert.equal(byDomain.get('local.test')?.level, 'error');
    // A cached finding logs nothing more.
    const before = t.lines.length;
    await t.service.finding('dane.test', 1000);
    assert.equal(t.lines.length, before);
  });
  it('the probe: validating, not validating (warning), failed (warning)', async () => {
    const t = setup();
    assert.deepEqual(await t.service.probe(), { kind: 'validating' });
    const plain = setup(world().records('NS', '.', ['a.root-servers.test'], false));
    assert.equal((await plain.service.probe()).kind, 'not-validating');
    assert.ok(plain.lines.some((l) => l.level === 'warn' && /does not validate/.test(String(l.message))));
    const far = createDaneService({
      dns: world(),
      clock: new FakeClock(),
      log: memoryLogger().log,
      resolver: { host: '192.0.2.53', port: 53, family: 4 },
    });
    assert.equal((await far.probe()).kind, 'validating');
  });
});
