import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { closest, didYouMean, editDistance } from '../../../src/config/suggest.js';

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
      assert.equal(editDistance(a, b), d);
      assert.equal(editDistance(b, a), d);
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
});
