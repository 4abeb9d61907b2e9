/**
 * TLSA matching (RFC 6698 §2.1, RFC 7672 §3.1) against certificates of the test PKI; which
 * records are usable is src/dane/tlsa.ts's `whyUnusable` (tested in test/unit/dane), the one
 * place of that rule.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { associationData, matchTlsa } from '../../../src/check/tlsa.js';
import { formatTlsa, tlsaName } from '../../../src/dane/tlsa.js';
import type { TlsaRecord } from '../../../src/dane/types.js';
import { createTestPki } from '../../world/pki.js';

let leaf: Buffer;
let ca: Buffer;
const rec = (usage: number, selector: number, matchingType: number, data: Buffer): TlsaRecord => ({ usage, selector, matchingType, data });
const sha = (alg: string, b: Buffer): Buffer => createHash(alg).update(b).digest();
const spki = (der: Buffer): Buffer => new X509Certificate(der).publicKey.export({ type: 'spki', format: 'der' });

before(async () => {
  const pki = await createTestPki(mkdtempSync(join(tmpdir(), 'check-tlsa-')));
  leaf = new X509Certificate((await pki.issueLeaf({ names: ['mx.example.test'] })).certPem).raw;
  ca = new X509Certificate(pki.caCertPem).raw;
});

describe('TLSA matching', () => {
  it('DANE-EE (3): every selector and matching type against the leaf', () => {
    for (const [selector, selected] of [
      [0, () => leaf],
      [1, () => spki(leaf)],
    ] as const) {
      for (const [matchingType, data] of [
        [0, selected()],
        [1, sha('sha256', selected())],
        [2, sha('sha512', selected())],
      ] as const) {
        const m = matchTlsa([rec(3, selector, matchingType, data)], [leaf, ca]);
        assert.deepEqual(
          m,
          { kind: 'match', record: formatTlsa(rec(3, selector, matchingType, data)), position: 0 },
          `3 ${selector} ${matchingType}`,
        );
      }
    }
  });
  it('DANE-EE does not match the issuer; DANE-TA (2) matches it but not the leaf', () => {
    assert.equal(matchTlsa([rec(3, 1, 1, sha('sha256', spki(ca)))], [leaf, ca]).kind, 'no-match');
    assert.deepEqual(matchTlsa([rec(2, 0, 1, sha('sha256', ca))], [leaf, ca]), {
      kind: 'match',
      record: formatTlsa(rec(2, 0, 1, sha('sha256', ca))),
      position: 1,
    });
    assert.equal(matchTlsa([rec(2, 1, 1, sha('sha256', spki(leaf)))], [leaf, ca]).kind, 'no-match');
    assert.equal(matchTlsa([rec(2, 0, 1, sha('sha256', ca))], [leaf]).kind, 'no-match', 'the anchor must be sent');
  });
  it('a wrong digest does not match; usable and unusable records are counted', () => {
    assert.deepEqual(matchTlsa([rec(3, 1, 1, Buffer.alloc(32)), rec(0, 0, 1, sha('sha256', leaf))], [leaf]), {
      kind: 'no-match',
      usable: 1,
      unusable: 1,
    });
  });
  it('records src/dane/tlsa.ts calls unusable match nothing, with its reasons', () => {
    assert.deepEqual(matchTlsa([rec(1, 0, 1, sha('sha256', leaf))], [leaf]), { kind: 'unusable', reasons: ['pkix-usage'] });
    assert.deepEqual(matchTlsa([rec(3, 1, 1, sha('sha256', spki(leaf)).subarray(1)), rec(3, 2, 1, Buffer.alloc(32))], [leaf]), {
      kind: 'unusable',
      reasons: ['malformed-data', 'unknown-selector'],
    });
    assert.equal(matchTlsa([rec(3, 1, 2, sha('sha512', spki(leaf)))], [leaf]).kind, 'match', 'SHA-512 of the right length is usable');
  });
  it('association data and names', () => {
    assert.deepEqual(associationData(leaf, 1, 1), sha('sha256', spki(leaf)));
    assert.equal(associationData(leaf, 5, 1), undefined);
    assert.equal(tlsaName('mx.example.test'), '_25._tcp.mx.example.test');
    assert.equal(formatTlsa(rec(3, 1, 1, Buffer.from([0xab, 0x01]))), '3 1 1 ab01');
  });
});
