/**
 * `npm run bench`'s command line (bench/options.ts), parsed without running the bench: a target
 * list that would measure nothing, or glibc with nothing to stand beside, is refused.
 */
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { parseOptions, type Options } from '../../../bench/options.js';

function ok(argv: string[]): Options {
  const o = parseOptions(argv);
  if (o instanceof Error) assert.fail(`${argv.join(' ')}: ${o.message}`);
  return o;
}

function refused(argv: string[]): string {
  const o = parseOptions(argv);
  assert.ok(
    o instanceof Error,
    `${argv.join(' ')} was accepted: ${JSON.stringify(o, (_k, v: unknown) => (v instanceof Set ? [...v] : v))}`,
  );
  return o.message;
}

test('defaults: every target, 8 s (3 with --quick)', () => {
  const o = ok([]);
  assert.deepEqual([...o.only], ['ceiling', 'bridge', 'glibc', 'python']);
  assert.equal(o.seconds, 8);
  assert.equal(o.cpuProf, undefined);
  assert.equal(ok(['--quick']).seconds, 3);
  assert.equal(ok(['--seconds', '15']).seconds, 15);
});

test('--only takes a subset; --cpu-prof a directory', () => {
  assert.deepEqual([...ok(['--only', 'ceiling,bridge']).only], ['ceiling', 'bridge']);
  assert.deepEqual([...ok(['--only', 'bridge,glibc']).only], ['bridge', 'glibc']);
  assert.equal(ok(['--only', 'bridge', '--cpu-prof', 'prof']).cpuProf, resolve('prof'));
});

test('--only glibc without bridge is refused, with the way out', () => {
  assert.match(refused(['--only', 'glibc']), /--only glibc needs bridge as well.*--only bridge,glibc/);
  assert.match(refused(['--only', 'ceiling,glibc,python']), /--only glibc needs bridge as well/);
});

test('unknown or no targets, and unknown options, are refused', () => {
  assert.equal(refused(['--only', 'bridge,jemalloc']), '--only takes targets among ceiling,bridge,glibc,python; found "bridge,jemalloc"');
  assert.match(refused(['--only', '']), /--only takes targets/);
  assert.match(refused(['--only']), /--only takes targets/);
  assert.equal(refused(['--fast']), 'unknown option --fast');
});
