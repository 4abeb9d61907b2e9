/**
 * Shared assertions for the config tests.
 */
import assert from 'node:assert/strict';
import { parseConfigText, type ConfigProblem } from '../../../src/config/load.js';
import type { BridgeConfig } from '../../../src/config/types.js';

/** What a test expects of one problem; message is matched as a substring or regex. */
export interface ExpectedProblem {
  code: ConfigProblem['code'];
  path: string;
  line: number;
  message?: string | RegExp;
}

/** Parses `yaml`, asserts it failed with exactly the expected problems (in line order). */
export function expectProblems(yaml: string, expected: readonly ExpectedProblem[]): ConfigProblem[] {
  const result = parseConfigText(yaml, 'test.yml');
  assert.equal(result.ok, false, `expected problems, the config loaded:\n${yaml}`);
  if (result.ok) throw new Error('unreachable');
  const got = result.problems.map((p) => ({ code: p.code, path: p.path, line: p.line }));
  assert.deepEqual(
    got,
    expected.map((e) => ({ code: e.code, path: e.path, line: e.line })),
    `problems for:\n${yaml}\n${JSON.stringify(result.problems, null, 1)}`,
  );
  expected.forEach((e, i) => {
    const message = result.problems[i]?.message ?? '';
    if (typeof e.message === 'string') assert.ok(message.includes(e.message), `"${message}" should contain "${e.message}"`);
    else if (e.message !== undefined) assert.match(message, e.message);
  });
  for (const p of result.problems) {
    if (p.code !== 'ECONFIG_SYNTAX' && p.path !== '')
      assert.ok(typeof p.line === 'number' && p.line >= 1, `problem without a line: ${JSON.stringify(p)}`);
  }
  return result.problems;
}

/** Parses `yaml`, asserts it loaded; returns the config and warnings. */
export function expectConfig(yaml: string): { config: BridgeConfig; warnings: ConfigProblem[] } {
  const result = parseConfigText(yaml, 'test.yml');
  if (!result.ok) assert.fail(`expected a config, got problems:\n${yaml}\n${JSON.stringify(result.problems, null, 1)}`);
  return { config: result.config, warnings: result.warnings };
}
