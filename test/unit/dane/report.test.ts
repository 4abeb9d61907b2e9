import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideDane } from '../../../src/dane/decision.js';
import { findDane } from '../../../src/dane/finding.js';
import { formatDecision, formatFinding } from '../../../src/dane/report.js';
import { formatTrace, tracingDns } from '../../../src/dane/trace.js';
import { EE, PKIX, ScriptedDnssec } from '../../helpers/dnssec-fakes.js';

const ON = { enabled: true, level: 'dane', lookupFailure: 'temp' } as const;

describe('query report of the DANE side', () => {
  it('traces every query with its AD bit and records, then the finding and decision', async () => {
    const dns = tracingDns(
      new ScriptedDnssec()
        .records('MX', 'mixed.test', [
          { preference: 10, exchange: 'mx1.mixed.test' },
          { preference: 20, exchange: 'mx2.mixed.test' },
        ])
        .records('A', 'mx1.mixed.test', ['192.0.2.1'])
        .records('A', 'mx2.mixed.test', ['192.0.2.2'], false)
        .records('TLSA', '_25._tcp.mx1.mixed.test', [EE, PKIX]),
    );
    const finding = await findDane(dns, 'mixed.test', 1000);
    const trace = formatTrace(dns.queries).map((l) => l.replace(/\(\d+ ms\)/, '(N ms)'));
    assert.deepEqual(trace, [
      'MX mixed.test: validated (AD), ttl 300 (N ms)',
      '  10 mx1.mixed.test',
      '  20 mx2.mixed.test',
      'A mx1.mixed.test: validated (AD), ttl 300 (N ms)',
      '  192.0.2.1',
      'A mx2.mixed.test: not validated (no AD), ttl 300 (N ms)',
      '  192.0.2.2',
      'TLSA _25._tcp.mx1.mixed.test: validated (AD), ttl 300 (N ms)',
      `  3 1 1 ${'ab'.repeat(32)}`,
      `  1 1 1 ${'ab'.repeat(32)}`,
    ]);
    assert.deepEqual(formatFinding(finding), [
      'finding: mixed, some MX hosts have validated usable TLSA records (ttl 300s)',
      '  10 mx1.mixed.test: DANE (_25._tcp.mx1.mixed.test, 1 usable, 1 unusable)',
      `    TLSA 3 1 1 ${'ab'.repeat(32)}`,
      '  20 mx2.mixed.test: no DANE (address-insecure)',
    ]);
    assert.equal(formatDecision(decideDane(ON, { kind: 'none' }, finding)), 'decision: dane (mixed, no enforced MTA-STS policy)');
  });
  it('failures and absences', async () => {
    const dns = tracingDns(
      new ScriptedDnssec().set('MX', 'x.test', { kind: 'error', code: 'EDANE_DNS_SERVFAIL', message: 'SERVFAIL for MX x.test' }),
    );
    const f = await findDane(dns, 'x.test', 1000);
    assert.deepEqual(
      formatTrace(dns.queries).map((l) => l.replace(/\(\d+ ms\)/, '(N ms)')),
      ['MX x.test: failed: SERVFAIL for MX x.test [EDANE_DNS_SERVFAIL] (N ms)'],
    );
    assert.deepEqual(formatFinding(f), ['finding: lookup failed (remote) at mx: SERVFAIL for MX x.test [EDANE_DNS_SERVFAIL]']);
    assert.equal(
      formatDecision(decideDane(ON, { kind: 'none' }, f)),
      'decision: temporary failure (DANE lookup failed, dane_lookup_failure: temp) [EDANE_DNS_SERVFAIL]',
    );
    const g = await findDane(tracingDns(new ScriptedDnssec()), 'gone.test', 1000);
    assert.deepEqual(formatFinding(g), ['finding: no DANE (domain-nxdomain, ttl 600s)']);
    assert.equal(formatDecision(decideDane(ON, { kind: 'none' }, g)), 'decision: MTA-STS answer (no DANE (domain-nxdomain))');
  });
});
