import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatTlsa, isUsable, tlsaName, tlsaVerdict, whyUnusable } from '../../../src/dane/tlsa.js';
import type { TlsaRecord } from '../../../src/dane/types.js';

const rec = (usage: number, selector: number, matchingType: number, octets: number): TlsaRecord => ({
  usage,
  selector,
  matchingType,
  data: Buffer.alloc(octets, 0xab),
});

describe('TLSA usable rules (RFC 7672 §3.1)', () => {
  it('DANE-TA(2) and DANE-EE(3) with known selectors and matching types are usable', () => {
    for (const usage of [2, 3]) {
      for (const selector of [0, 1]) {
        assert.equal(isUsable(rec(usage, selector, 1, 32)), true);
        assert.equal(isUsable(rec(usage, selector, 2, 64)), true);
        assert.equal(isUsable(rec(usage, selector, 0, 300)), true);
      }
    }
  });
  it('PKIX-TA(0) and PKIX-EE(1) are unusable for SMTP', () => {
    assert.equal(whyUnusable(rec(0, 1, 1, 32)), 'pkix-usage');
    assert.equal(whyUnusable(rec(1, 1, 1, 32)), 'pkix-usage');
  });
  it('unknown usages, selectors and matching types are unusable', () => {
    assert.equal(whyUnusable(rec(4, 1, 1, 32)), 'unknown-usage');
    assert.equal(whyUnusable(rec(255, 1, 1, 32)), 'unknown-usage');
    assert.equal(whyUnusable(rec(3, 2, 1, 32)), 'unknown-selector');
    assert.equal(whyUnusable(rec(3, 1, 3, 32)), 'unknown-matching-type');
    assert.equal(whyUnusable(rec(3, 1, 255, 32)), 'unknown-matching-type');
  });
  it('a digest of the wrong length or empty full data is malformed', () => {
    assert.equal(whyUnusable(rec(3, 1, 1, 31)), 'malformed-data');
    assert.equal(whyUnusable(rec(3, 1, 1, 64)), 'malformed-data');
    assert.equal(whyUnusable(rec(3, 1, 2, 32)), 'malformed-data');
    assert.equal(whyUnusable(rec(3, 0, 0, 0)), 'malformed-data');
  });
  it('an RRset is usable when one record is', () => {
    assert.deepEqual(tlsaVerdict([rec(1, 1, 1, 32), rec(3, 1, 1, 32)]), { kind: 'usable', usable: [rec(3, 1, 1, 32)], unusable: 1 });
    assert.deepEqual(tlsaVerdict([rec(0, 0, 1, 32), rec(3, 1, 9, 32)]), { kind: 'unusable', unusable: 2 });
    assert.deepEqual(tlsaVerdict([]), { kind: 'unusable', unusable: 0 });
  });
  it('formats and names', () => {
    assert.equal(formatTlsa({ usage: 3, selector: 1, matchingType: 1, data: Buffer.from([0, 255]) }), '3 1 1 00ff');
    assert.equal(tlsaName('mx.example.net'), '_25._tcp.mx.example.net');
  });
});
