/**
 * `cache: {type: sqlite}` and `state_directory` in the config file, and the persistent default.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultConfig } from '../../../src/config/load.js';
import { expectConfig, expectProblems } from '../config/config-helpers.js';

const DEFAULT_SQLITE = { type: 'sqlite', filename: 'policy-cache.sqlite', timeoutSec: 5, cacheSize: 10_000, onCorrupt: 'move' };

describe('config: the sqlite cache', () => {
  it('is the default without a cache block (embedded defaults and files alike)', () => {
    assert.deepEqual(defaultConfig().cache, DEFAULT_SQLITE);
    assert.deepEqual(expectConfig('port: 8461\n').config.cache, DEFAULT_SQLITE);
  });

  it('cache: {type: internal} and a block without type still mean memory (the Python tool)', () => {
    assert.deepEqual(expectConfig('cache:\n  type: internal\n').config.cache, { type: 'internal', cacheSize: 10_000 });
    assert.deepEqual(expectConfig('cache:\n  options:\n    cache_size: 5\n').config.cache, { type: 'internal', cacheSize: 5 });
  });

  const GOOD: ReadonlyArray<{ yaml: string; want: object; warnings?: number }> = [
    { yaml: 'cache:\n  type: sqlite\n', want: DEFAULT_SQLITE },
    { yaml: 'cache:\n  type: sqlite\n  options:\n', want: DEFAULT_SQLITE },
    // The Python tool's example (config_examples/mta-sts-daemon.yml.sqlite).
    {
      yaml: 'cache:\n  type: sqlite\n  options:\n    filename: "/var/lib/mta-sts/cache.db"\n',
      want: { ...DEFAULT_SQLITE, filename: '/var/lib/mta-sts/cache.db' },
    },
    {
      yaml: 'cache:\n  type: sqlite\n  options:\n    filename: cache.db\n    timeout: 2.5\n    cache_size: 100\n',
      want: { ...DEFAULT_SQLITE, filename: 'cache.db', timeoutSec: 2.5, cacheSize: 100 },
    },
    { yaml: 'cache:\n  type: sqlite\n  options:\n    threads: 4\n', want: DEFAULT_SQLITE, warnings: 1 },
    { yaml: 'cache:\n  type: sqlite\n  options:\n    on_corrupt: refuse\n', want: { ...DEFAULT_SQLITE, onCorrupt: 'refuse' } },
    { yaml: 'cache:\n  type: sqlite\n  options:\n    on_corrupt: move\n', want: DEFAULT_SQLITE },
    { yaml: 'state_directory: /var/lib/msb\n', want: { ...DEFAULT_SQLITE, stateDirectory: '/var/lib/msb' } },
    {
      yaml: 'state_directory: /srv/x\ncache:\n  type: sqlite\n  options:\n    filename: c.sqlite\n',
      want: { ...DEFAULT_SQLITE, filename: 'c.sqlite', stateDirectory: '/srv/x' },
    },
    // Accepted with a memory cache too: nothing else uses it yet, and it is not wrong.
    { yaml: 'state_directory: /srv/x\ncache:\n  type: internal\n', want: { type: 'internal', cacheSize: 10_000 } },
  ];
  for (const g of GOOD) {
    it(`accepts ${JSON.stringify(g.yaml)}`, () => {
      const { config, warnings } = expectConfig(g.yaml);
      assert.deepEqual(config.cache, g.want);
      assert.equal(warnings.length, g.warnings ?? 0);
      if (g.warnings !== undefined) assert.equal(warnings[0]?.code, 'ECONFIG_IGNORED');
    });
  }

  it('refuses bad values with the key path and line', () => {
    expectProblems('cache:\n  type: sqlite\n  options:\n    timeout: 0\n', [
      { code: 'ECONFIG_RANGE', path: 'cache.options.timeout', line: 4, message: 'greater than 0 and at most 30' },
    ]);
    expectProblems('cache:\n  type: sqlite\n  options:\n    timeout: 31\n', [
      { code: 'ECONFIG_RANGE', path: 'cache.options.timeout', line: 4 },
    ]);
    expectProblems('cache:\n  type: sqlite\n  options:\n    filename: ":memory:"\n', [
      { code: 'ECONFIG_BAD_VALUE', path: 'cache.options.filename', line: 4, message: 'type: internal' },
    ]);
    expectProblems('cache:\n  type: sqlite\n  options:\n    filename: ""\n', [
      { code: 'ECONFIG_BAD_VALUE', path: 'cache.options.filename', line: 4 },
    ]);
    expectProblems('cache:\n  type: sqlite\n  options:\n    filenme: x\n', [
      { code: 'ECONFIG_UNKNOWN_KEY', path: 'cache.options.filenme', line: 4, message: 'did you mean "filename"?' },
    ]);
    expectProblems('cache:\n  type: sqlite\n  options:\n    threads: 0\n', [
      { code: 'ECONFIG_RANGE', path: 'cache.options.threads', line: 4 },
    ]);
    expectProblems('state_directory: relative/dir\n', [
      { code: 'ECONFIG_BAD_VALUE', path: 'state_directory', line: 1, message: 'must be an absolute path' },
    ]);
    expectProblems('cache:\n  type: sqlite\n  options:\n    on_corrupt: delete\n', [
      { code: 'ECONFIG_BAD_VALUE', path: 'cache.options.on_corrupt', line: 4, message: 'must be one of "move", "refuse"' },
    ]);
    expectProblems('state_directory: 5\n', [{ code: 'ECONFIG_TYPE', path: 'state_directory', line: 1 }]);
  });

  it('a redis cache without options says what it needs instead of falling back silently', () => {
    expectProblems('cache:\n  type: redis\n', [{ code: 'ECONFIG_MISSING_KEY', path: 'cache.options', line: 2, message: '"url"' }]);
  });
});
