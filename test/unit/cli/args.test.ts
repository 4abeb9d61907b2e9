import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs, type OptionSpec } from '../../../main/cli/args.js';

const specs: OptionSpec[] = [
  { name: 'config', short: 'c', value: true },
  { name: 'log-level', short: 'v', value: true },
  { name: 'zone', value: true },
  { name: 'json', value: false },
  { name: 'help', short: 'h', value: false },
];

type Expect = { options: Record<string, string | true>; positionals: string[] } | { error: RegExp };

const table: Array<[string[], Expect]> = [
  [[], { options: {}, positionals: [] }],
  [['example.com'], { options: {}, positionals: ['example.com'] }],
  [['-c', 'a.yml'], { options: { config: 'a.yml' }, positionals: [] }],
  [['-ca.yml'], { options: { config: 'a.yml' }, positionals: [] }],
  [['--config', 'a.yml'], { options: { config: 'a.yml' }, positionals: [] }],
  [['--config=a.yml'], { options: { config: 'a.yml' }, positionals: [] }],
  [['--config='], { options: { config: '' }, positionals: [] }],
  [['-c', '-weird-name.yml'], { options: { config: '-weird-name.yml' }, positionals: [] }],
  [['x.org', '--json', '--zone', 'z1'], { options: { json: true, zone: 'z1' }, positionals: ['x.org'] }],
  [['--json', 'x.org', '-v', 'debug'], { options: { json: true, 'log-level': 'debug' }, positionals: ['x.org'] }],
  [['-h'], { options: { help: true }, positionals: [] }],
  [['--', '-c', '--json'], { options: {}, positionals: ['-c', '--json'] }],
  [['-'], { options: {}, positionals: ['-'] }],
  [['--bogus'], { error: /unknown option --bogus/ }],
  [['-x'], { error: /unknown option -x/ }],
  [['-c'], { error: /option -c needs a value/ }],
  [['--config'], { error: /option --config needs a value/ }],
  [['--json=yes'], { error: /option --json takes no value/ }],
  [['-hv'], { error: /option -h takes no value/ }],
  [['-c', 'a', '--config', 'b'], { error: /option --config given more than once/ }],
  [['--json', '--json'], { error: /option --json given more than once/ }],
];

describe('parseArgs', () => {
  for (const [argv, expected] of table) {
    it(`${JSON.stringify(argv)} -> ${'error' in expected ? String(expected.error) : JSON.stringify(expected)}`, () => {
      const r = parseArgs(argv, specs);
      if ('error' in expected) {
        assert.equal(r.ok, false);
        if (!r.ok) assert.match(r.message, expected.error);
      } else {
        assert.equal(r.ok, true);
        if (r.ok) {
          assert.deepEqual(Object.fromEntries(r.options), expected.options);
          assert.deepEqual(r.positionals, expected.positionals);
        }
      }
    });
  }
});
