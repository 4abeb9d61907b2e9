/**
 * Inputs the fuzz runs (test/fuzz/*.test.ts) or their review turned up, kept as fixed cases so
 * they are checked on every run whatever the seed. Add each new counterexample here once fixed.
 */
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { describe, it } from 'node:test';
import { EXIM_MAX_REQUEST_BYTES, newEximDecoder } from '../../adapters/protocol/exim.js';
import { parseConfigText } from '../../src/config/load.js';

describe('fuzz regressions', () => {
  // Seed 1, exim target: 2,035 bytes with seven that are not UTF-8. Each decodes to one U+FFFD,
  // three bytes when encoded again, so a limit checked on re-encoded text looked exceeded. The
  // decoder was right; the invariant now counts code units. Kept: one request, within the limit.
  it('exim: a line of NUL, CRs and bytes that are not UTF-8, just under the limit, is one request', () => {
    const bytes = Buffer.concat([Buffer.from([0]), Buffer.alloc(2025, 13), Buffer.from([128, 128, 128, 128, 0, 0, 128, 128, 128])]);
    const d = newEximDecoder();
    const steps = [...d.push(bytes), ...d.end()];
    assert.equal(steps.length, 1);
    const step = steps[0];
    assert.ok(step?.kind === 'request' && step.request.kind === 'lookup');
    assert.ok(step.request.domain.length <= EXIM_MAX_REQUEST_BYTES);
    assert.ok(step.request.domain.includes('\uFFFD'));
  });

  // The config loader must return problems, never throw, for what stresses the YAML library.
  const configCases: readonly [string, string][] = [
    ['nesting deeper than the parser allows (its stack limit)', `${'['.repeat(5000)}${']'.repeat(5000)}`],
    ['a block mapping nested 1,000 levels', Array.from({ length: 1000 }, (_, i) => `${' '.repeat(i)}a:`).join('\n')],
    ['an alias to an anchor that does not exist', 'zones: *nowhere\n'],
    ['an alias as a key', 'x: &k port\n*k : 1\n'],
    ['a merge key naming itself', 'zones: &z {a: {}, <<: *z}\n'],
    ['two merge keys', 'default_zone: {<<: {timeout: 1}, <<: {timeout: 2}}\n'],
    ['.nan as a key twice', 'zones: {.nan: {}, .nan: {}}\n'],
    ['a document that is only an anchor', '&a\n'],
    ['tabs, NULs and a BOM', '\uFEFFport:\t1\u0000\n'],
  ];
  for (const [name, text] of configCases) {
    it(`config loader: ${name}`, () => {
      const result = parseConfigText(text, 'regression.yml');
      if (!result.ok) assert.ok(result.problems.length > 0);
    });
  }

  it('config loader: a list of 50,000 aliases to one list is read, not expanded into a bomb', () => {
    const text = `a: &a [${Array.from({ length: 100 }, () => 'x').join(', ')}]\npolicy_delegation:\n  skip_domains: [${Array.from({ length: 50_000 }, () => '*a').join(', ')}]\n`;
    const result = parseConfigText(text, 'regression.yml');
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.ok(
      result.problems.some((p) => p.code === 'ECONFIG_TOO_LARGE'),
      JSON.stringify(result.problems.slice(0, 3)),
    );
    // At most one problem per entry written in the file: nothing multiplied.
    assert.ok(result.problems.length <= 50_003, `${result.problems.length} problems`);
  });
});
