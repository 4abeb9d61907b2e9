/**
 * The protocol-neutral verdict: every Resolution variant x policy mode x the zone options that
 * change it (strict_testing, dns_error).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ZoneConfig } from '../../src/config/types.js';
import type { StsPolicy } from '../../src/policy/types.js';
import type { Resolution } from '../../src/resolver/types.js';
import { verdictOf } from '../../src/verdict.js';
import { testZone } from '../helpers/fakes.js';

function policy(mode: StsPolicy['mode']): StsPolicy {
  return { version: 'STSv1', mode, maxAge: 86400, mx: mode === 'none' ? [] : ['mx.example.com'], lines: [] };
}

function withPolicy(mode: StsPolicy['mode']): Resolution {
  return { kind: 'policy', domain: 'example.com', id: '1', policy: policy(mode), source: 'fetched', fetchedAt: 0, expiresAt: 1 };
}

const dnsError: Resolution = { kind: 'dns-error', domain: 'example.com', code: 'ESERVFAIL', detail: 'servfail' };
const noPolicy: Resolution = { kind: 'no-policy', domain: 'example.com', reason: 'nxdomain', source: 'lookup' };

describe('verdictOf', () => {
  const cases: ReadonlyArray<[string, Resolution, Partial<ZoneConfig>, string]> = [
    ['enforce', withPolicy('enforce'), {}, 'enforce'],
    ['enforce, strict zone', withPolicy('enforce'), { strictTesting: true }, 'enforce'],
    ['testing', withPolicy('testing'), {}, 'testing'],
    ['testing, strict_testing zone', withPolicy('testing'), { strictTesting: true }, 'enforce'],
    ['none', withPolicy('none'), {}, 'none'],
    ['none, strict zone', withPolicy('none'), { strictTesting: true }, 'none'],
    ['no policy', noPolicy, { dnsErrorAnswer: 'temp' }, 'none'],
    ['DNS error, RFC default', dnsError, {}, 'none'],
    ['DNS error, dns_error: temp', dnsError, { dnsErrorAnswer: 'temp' }, 'dns-temp'],
  ];
  for (const [name, resolution, zone, want] of cases) {
    it(`${name} -> ${want}`, () => {
      const v = verdictOf({ zoneName: 'z', zone: { ...testZone, ...zone }, resolution });
      assert.equal(v.kind, want);
      if (v.kind === 'enforce' || v.kind === 'testing') assert.deepEqual(v.policy.mx, ['mx.example.com']);
      if (v.kind === 'dns-temp') assert.deepEqual([v.domain, v.code], ['example.com', 'ESERVFAIL']);
    });
  }
});
