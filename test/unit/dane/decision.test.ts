import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DANE_DEFAULTS, decideDane, type DaneSettings } from '../../../src/dane/decision.js';
import type { DaneFinding } from '../../../src/dane/types.js';
import type { StsPolicy } from '../../../src/policy/types.js';
import type { Verdict } from '../../../src/verdict.js';

const policy: StsPolicy = { version: 'STSv1', mode: 'enforce', maxAge: 86400, mx: ['mx.example.test'], lines: [] };
const ENFORCE: Verdict = { kind: 'enforce', domain: 'example.test', policy };
const TESTING: Verdict = { kind: 'testing', domain: 'example.test', policy: { ...policy, mode: 'testing' } };
const NONE: Verdict = { kind: 'none' };
const STS_TEMP: Verdict = { kind: 'dns-temp', domain: 'example.test', code: 'ESERVFAIL' };
const VERDICTS = [ENFORCE, TESTING, NONE, STS_TEMP];

const ON: DaneSettings = { enabled: true, level: 'dane', lookupFailure: 'temp' };
const domain = 'example.test';
const DANE: DaneFinding = { kind: 'dane', domain, hosts: [], ttl: 60 };
const MIXED: DaneFinding = { kind: 'mixed', domain, hosts: [], ttl: 60 };
const NO_DANE: DaneFinding = { kind: 'no-dane', domain, reason: 'mx-insecure', hosts: [], ttl: 60 };
const BOGUS: DaneFinding = {
  kind: 'failed',
  domain,
  code: 'EDANE_DNS_SERVFAIL',
  side: 'remote',
  stage: 'host',
  host: 'mx',
  message: 'bogus',
  hosts: [],
};
const LOCAL: DaneFinding = { kind: 'failed', domain, code: 'EDANE_DNS_NETWORK', side: 'local', stage: 'mx', message: 'refused', hosts: [] };

describe('decideDane', () => {
  it('defaults: off, level dane, lookup failure temp', () => {
    assert.deepEqual(DANE_DEFAULTS, { enabled: false, level: 'dane', lookupFailure: 'temp' });
  });
  it('dane: false answers the MTA-STS verdict unchanged, whatever the finding', () => {
    for (const v of VERDICTS) {
      for (const f of [DANE, MIXED, NO_DANE, BOGUS, LOCAL]) {
        const d = decideDane(DANE_DEFAULTS, v, f);
        assert.equal(d.kind, 'sts');
        assert.equal(d.kind === 'sts' && d.verdict, v);
      }
    }
  });
  it('all MX hosts with DANE: the zone level, whatever MTA-STS says', () => {
    for (const v of VERDICTS) {
      assert.deepEqual(decideDane(ON, v, DANE), { kind: 'dane', domain, level: 'dane', why: 'all-mx-dane' });
      assert.deepEqual(decideDane({ ...ON, level: 'dane-only' }, v, DANE), {
        kind: 'dane',
        domain,
        level: 'dane-only',
        why: 'all-mx-dane',
      });
    }
  });
  it('mixed: an enforced MTA-STS policy stays; otherwise dane, never dane-only', () => {
    assert.deepEqual(decideDane(ON, ENFORCE, MIXED), { kind: 'sts', verdict: ENFORCE, why: 'mixed-sts-enforces' });
    assert.deepEqual(decideDane(ON, STS_TEMP, MIXED), { kind: 'sts', verdict: STS_TEMP, why: 'mixed-sts-enforces' });
    for (const v of [TESTING, NONE]) {
      for (const level of ['dane', 'dane-only'] as const) {
        assert.deepEqual(decideDane({ ...ON, level }, v, MIXED), { kind: 'dane', domain, level: 'dane', why: 'mixed' });
      }
    }
  });
  it('no DANE: MTA-STS as today', () => {
    for (const v of VERDICTS)
      assert.deepEqual(decideDane(ON, v, NO_DANE), { kind: 'sts', verdict: v, why: 'no-dane', noDane: 'mx-insecure' });
  });
  it('a remote failure: temp by default, MTA-STS with dane_lookup_failure: sts', () => {
    for (const v of VERDICTS) {
      assert.deepEqual(decideDane(ON, v, BOGUS), {
        kind: 'temp',
        domain,
        code: 'EDANE_DNS_SERVFAIL',
        side: 'remote',
        why: 'lookup-failed',
      });
      assert.deepEqual(decideDane({ ...ON, lookupFailure: 'sts' }, v, BOGUS), { kind: 'sts', verdict: v, why: 'lookup-failed-sts' });
    }
  });
  it('a local fault: always temp, never "no DANE"', () => {
    for (const v of VERDICTS) {
      for (const lookupFailure of ['temp', 'sts'] as const) {
        assert.deepEqual(decideDane({ ...ON, lookupFailure }, v, LOCAL), {
          kind: 'temp',
          domain,
          code: 'EDANE_DNS_NETWORK',
          side: 'local',
          why: 'local-fault',
        });
      }
    }
  });
});
