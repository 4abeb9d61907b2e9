/**
 * Local faults (issue 13 finding 3): EMFILE and friends, c-ares' ECONNREFUSED and internal errors
 * are no DNS answers; they are answered as a temporary failure, logged at error level and counted,
 * never turned into "no policy" (a downgrade).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryPolicyCache } from '../../../adapters/cache/memory.js';
import { classifyTransportError } from '../../../src/resolver/https-fetcher.js';
import { isLocalFault } from '../../../src/resolver/local-fault.js';
import { Resolver } from '../../../src/resolver/resolver.js';
import { verdictOf } from '../../../src/verdict.js';
import { FakeClock, memoryLogger, policyText, ScriptedDns, ScriptedFetcher, testZone } from '../../helpers/fakes.js';

function setup() {
  const clock = new FakeClock();
  const dns = new ScriptedDns();
  const fetcher = new ScriptedFetcher();
  const { log, lines } = memoryLogger();
  const counted: string[] = [];
  const resolver = new Resolver({
    cache: new MemoryPolicyCache(100),
    dns,
    fetcher,
    clock,
    log,
    cacheGraceSec: 60,
    negativeCacheTtlSec: 300,
    negativeCacheSize: 100,
    onLocalFault: (code) => counted.push(code),
  });
  return { clock, dns, fetcher, resolver, lines, counted };
}

describe('local faults', () => {
  it('classifies resource and resolver-unreachable codes as local, DNS rcodes and timeouts not', () => {
    for (const code of ['EMFILE', 'ENFILE', 'ENOMEM', 'ENOBUFS', 'ECONNREFUSED', 'EINTERNAL', 'ELOCAL_FAULT', 'EDNS_UNKNOWN']) {
      assert.equal(isLocalFault(code), true, code);
    }
    for (const code of ['ESERVFAIL', 'EREFUSED', 'ETIMEOUT', 'ENOTIMP', 'EFORMERR', undefined]) {
      assert.equal(isLocalFault(code), false, String(code));
    }
  });

  it('c-ares ECONNREFUSED (what it reports on EMFILE) with nothing cached is TEMP in an RFC-default zone', async () => {
    const w = setup();
    w.dns.setAnswer('enforce.example', { kind: 'error', code: 'ECONNREFUSED', message: 'queryTxt ECONNREFUSED _mta-sts.enforce.example' });
    const r = await w.resolver.resolve('enforce.example', testZone);
    assert.equal(r.kind, 'dns-error');
    const v = verdictOf({ zoneName: 'z', zone: { ...testZone, dnsErrorAnswer: 'no-policy' }, resolution: r });
    assert.equal(v.kind, 'dns-temp', 'never "no policy"');
    assert.deepEqual(w.counted, ['ECONNREFUSED']);
    assert.equal(w.resolver.stats.localFaults, 1);
    const line = w.lines.find((l) => l['level'] === 'error' && l['code'] === 'ECONNREFUSED');
    assert.ok(line, JSON.stringify(w.lines));
    assert.equal(line['domain'], 'enforce.example');
    assert.match(String(line['reason']), /ECONNREFUSED/);
  });

  it('a genuine DNS error still follows dns_error and is not counted', async () => {
    const w = setup();
    w.dns.setAnswer('broken.example', { kind: 'error', code: 'ESERVFAIL', message: 'servfail' });
    const r = await w.resolver.resolve('broken.example', testZone);
    assert.equal(verdictOf({ zoneName: 'z', zone: { ...testZone, dnsErrorAnswer: 'no-policy' }, resolution: r }).kind, 'none');
    assert.deepEqual(w.counted, []);
  });

  it('a fetch that fails with a local fault is TEMP, not "no policy", and sets no five-minute back-off', async () => {
    const w = setup();
    w.dns.setTxt('enforce.example', 'v=STSv1; id=one;');
    w.fetcher.setError('enforce.example', 'ELOCAL_FAULT');
    const r = await w.resolver.resolve('enforce.example', testZone);
    assert.deepEqual(r.kind === 'dns-error' ? r.code : r, 'ELOCAL_FAULT');
    assert.equal(verdictOf({ zoneName: 'z', zone: testZone, resolution: r }).kind, 'dns-temp');
    assert.deepEqual(w.counted, ['ELOCAL_FAULT']);
    // Descriptors are back: the next lookup (after grace) fetches at once, no back-off.
    w.clock.advance(61_000);
    w.fetcher.setPolicy('enforce.example', policyText('enforce', 86400, 'mx.enforce.example'));
    const again = await w.resolver.resolve('enforce.example', testZone);
    assert.equal(again.kind === 'policy' ? again.policy.mode : again.kind, 'enforce');
  });

  it('a local fault while a policy is cached keeps the cached policy (RFC 8461 §3.3)', async () => {
    const w = setup();
    w.dns.setTxt('enforce.example', 'v=STSv1; id=one;');
    w.fetcher.setPolicy('enforce.example', policyText('enforce', 86400, 'mx.enforce.example'));
    await w.resolver.resolve('enforce.example', testZone);
    w.clock.advance(61_000);
    w.dns.setAnswer('enforce.example', { kind: 'error', code: 'ECONNREFUSED', message: 'refused' });
    const r = await w.resolver.resolve('enforce.example', testZone);
    assert.equal(r.kind === 'policy' ? r.source : r.kind, 'stale');
    assert.deepEqual(w.counted, []);
  });

  it('the fetcher maps EMFILE/ENFILE in any phase, and a local DNS fault of the host lookup, to ELOCAL_FAULT', () => {
    const e = (code: string) => Object.assign(new Error(code), { code });
    assert.equal(classifyTransportError('connect', e('EMFILE')), 'ELOCAL_FAULT');
    assert.equal(classifyTransportError('tls', e('ENFILE')), 'ELOCAL_FAULT');
    assert.equal(classifyTransportError('dns', e('ECONNREFUSED')), 'ELOCAL_FAULT');
    assert.equal(classifyTransportError('connect', e('ECONNREFUSED')), 'EFETCH_CONNECT', 'the policy host refusing is remote');
    assert.equal(classifyTransportError('dns', e('ENOTFOUND')), 'EFETCH_DNS');
  });

  it('a throwing metrics hook does not change the answer', async () => {
    const w = setup();
    const { log } = memoryLogger();
    const resolver = new Resolver({
      cache: new MemoryPolicyCache(10),
      dns: w.dns,
      fetcher: w.fetcher,
      clock: w.clock,
      log,
      cacheGraceSec: 60,
      negativeCacheTtlSec: 300,
      negativeCacheSize: 10,
      onLocalFault: () => {
        throw new Error('boom');
      },
    });
    w.dns.setAnswer('x.example', { kind: 'error', code: 'EMFILE', message: 'too many open files' });
    assert.equal((await resolver.resolve('x.example', testZone)).kind, 'dns-error');
  });
});
