/**
 * Repeated keys, as the document index in yaml-source.ts finds them: once per mapping written in the
 * file (not once per alias that reads it), with yaml's key equality (the values, so `1` and `01`
 * are the same key), at the second key's line and column.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfigText } from '../../../src/config/load.js';

function repeated(text: string): [string, number | undefined, number | undefined, string][] {
  const result = parseConfigText(text, 'x.yml');
  assert.equal(result.ok, false);
  if (result.ok) return [];
  return result.problems.filter((p) => p.code === 'ECONFIG_DUPLICATE_KEY').map((p) => [p.path, p.line, p.column, p.message]);
}

describe('repeated keys', () => {
  it('in an anchored mapping: reported once, at the anchor, however many aliases read it', () => {
    assert.deepEqual(repeated('default_zone: &z {timeout: 3, timeout: 4}\nzones:\n  a: *z\n  b: *z\n'), [
      ['default_zone.timeout', 1, 31, '"timeout" appears twice in the same mapping; keep one'],
    ]);
  });

  it('in a list entry: the path names the entry', () => {
    assert.deepEqual(repeated('listeners:\n  - {address: "127.0.0.1:1"}\n  - {address: "127.0.0.1:2", zone: a, zone: b}\n'), [
      ['listeners[1].zone', 3, 39, '"zone" appears twice in the same mapping; keep one'],
    ]);
  });

  it('equal as values though written differently (1 and 01)', () => {
    assert.deepEqual(repeated('zones:\n  1: {}\n  01: {}\n'), [['zones.01', 3, 3, '"01" appears twice in the same mapping; keep one']]);
  });

  it('a key that is not a word (null, twice): the path of its mapping', () => {
    assert.deepEqual(repeated('zones:\n  a:\n    ~: 1\n    ~: 2\n'), [['zones.a', 4, 5, 'a key appears twice in the same mapping']]);
  });
});
