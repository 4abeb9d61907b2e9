import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { closest, didYouMean, editDistanceWithin } from '../../../src/config/suggest.js';

/** The plain quadratic optimal-string-alignment distance: the oracle for the banded one. */
function editDistance(a: string, b: string): number {
  const x = a.toLowerCase().replaceAll('-', '_');
  const y = b.toLowerCase().replaceAll('-', '_');
  const rows: number[][] = [Array.from({ length: y.length + 1 }, (_, j) => j)];
  for (let i = 1; i <= x.length; i++) {
    const row = [i];
    const prev = rows[i - 1] ?? [];
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      let d = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) d = Math.min(d, (rows[i - 2]?.[j - 2] ?? 0) + 1);
      row.push(d);
    }
    rows.push(row);
  }
  return rows[x.length]?.[y.length] ?? 0;
}

describe('did-you-mean suggestions', () => {
  const distances: readonly [string, string, number][] = [
    ['port', 'port', 0],
    ['prot', 'port', 1],
    ['timout', 'timeout', 1],
    ['reuse-port', 'reuse_port', 0],
    ['PORT', 'port', 0],
    ['', 'abc', 3],
    ['kitten', 'sitting', 3],
  ];
  for (const [a, b, d] of distances) {
    it(`distance(${a}, ${b}) = ${d}`, () => {
      assert.equal(editDistanceWithin(a, b, 10), d);
      assert.equal(editDistanceWithin(b, a, 10), d);
      assert.equal(editDistance(a, b), d);
    });
  }

  const keys = ['host', 'port', 'path', 'mode', 'reuse_port', 'shutdown_timeout', 'cache_grace'];
  const hints: readonly [string, string | undefined][] = [
    ['prot', 'port'],
    ['reuseport', 'reuse_port'],
    ['shutdown_timout', 'shutdown_timeout'],
    ['cache-grace', 'cache_grace'],
    ['xyz', undefined],
    ['frobnicate', undefined],
  ];
  for (const [word, want] of hints) {
    it(`${word} → ${String(want)}`, () => {
      assert.equal(closest(word, keys), want);
      assert.equal(didYouMean(word, keys), want === undefined ? '' : ` (did you mean "${want}"?)`);
    });
  }

  it('the banded distance agrees with the full one up to its bound', () => {
    const word = fc.string({ unit: fc.constantFrom('a', 'b', 'c', '-', '_', 'A'), maxLength: 12 });
    fc.assert(
      fc.property(word, word, fc.integer({ min: 0, max: 5 }), (a, b, max) => {
        assert.equal(editDistanceWithin(a, b, max), Math.min(editDistance(a, b), max + 1));
      }),
      { numRuns: 2000, seed: 13 },
    );
  });

  it('a 200,000-character word costs no quadratic work', () => {
    const long = 'x'.repeat(200_000);
    assert.equal(closest(long, [`${long}y`, 'port']), `${long}y`);
    assert.equal(editDistanceWithin(long, `y${long.slice(1)}`, 3), 1);
  });
});
