import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SqlitePolicyCache } from '../../../adapters/cache/sqlite.js';
import { cacheCommand, formatTable, isoTime, type CacheDeps } from '../../../main/cli/cache.js';
import { main } from '../../../main/cli/main.js';
import { sampleEntry } from '../../contract/policy-cache.contract.js';
import { FakeClock } from '../../helpers/fakes.js';
import { captureIo } from '../cli/capture.js';

const root = mkdtempSync(join(tmpdir(), 'msb-cli-cache-'));
after(() => rmSync(root, { recursive: true, force: true }));

const state = join(root, 'state');
const configPath = join(root, 'sqlite.yml');
const memoryConfig = join(root, 'memory.yml');
const clock = new FakeClock(Date.UTC(2026, 0, 5));
// STATE_DIRECTORY of whoever runs the tests must not leak in: the config key decides here.
const deps: CacheDeps = { env: {}, homeDir: '/nonexistent', clock };

const enforce = sampleEntry('enforce.example', { expiresAt: Date.UTC(2026, 6, 1) });
const expired = sampleEntry('expired.example', {
  fetchedAt: Date.UTC(2026, 0, 1),
  expiresAt: Date.UTC(2026, 0, 2),
  checkedAt: Date.UTC(2026, 0, 1, 12),
});
const testing = sampleEntry('testing.example', {
  id: 't1',
  expiresAt: Date.UTC(2026, 6, 1),
  policy: { ...sampleEntry('testing.example').policy, mode: 'testing' },
});

before(async () => {
  writeFileSync(configPath, `state_directory: ${state}\ncache:\n  type: sqlite\n  options:\n    filename: cli.sqlite\n`);
  writeFileSync(memoryConfig, 'cache:\n  type: internal\n');
  const c = new SqlitePolicyCache({ path: join(state, 'cli.sqlite'), busyTimeoutMs: 1000, clock, purgeIntervalMs: 0 });
  await c.open();
  for (const e of [testing, expired, enforce]) await c.set(e);
  await c.close();
});

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = captureIo();
  const code = await cacheCommand(argv, io, deps);
  return { code, out: io.stdout(), err: io.stderr() };
}

describe('mta-sts-bridge cache', () => {
  it('list prints a table sorted by domain, times in UTC, expired ones marked', async () => {
    const r = await run('list', '-c', configPath);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^DOMAIN\s+MODE\s+ID\s+FETCHED\s+EXPIRES\s+CHECKED$/);
    assert.match(
      lines[1] ?? '',
      /^enforce\.example\s+enforce\s+20260101T000000\s+2026-01-01T00:00:00Z\s+2026-07-01T00:00:00Z\s+2026-01-01T00:01:00Z$/,
    );
    assert.match(lines[2] ?? '', /^expired\.example\s+enforce\s+.*2026-01-02T00:00:00Z \(expired\)\s+2026-01-01T12:00:00Z$/);
    assert.match(lines[3] ?? '', /^testing\.example\s+testing\s+t1\s/);
    assert.equal(lines[4], `3 policies (1 expired) in ${join(state, 'cli.sqlite')}`);
  });

  it('list --json gives the stored times as numbers', async () => {
    const r = await run('list', '--json', '-c', configPath);
    assert.equal(r.code, 0);
    const items = JSON.parse(r.out) as Array<Record<string, unknown>>;
    assert.deepEqual(
      items.map((i) => [i['domain'], i['mode'], i['expired']]),
      [
        ['enforce.example', 'enforce', false],
        ['expired.example', 'enforce', true],
        ['testing.example', 'testing', false],
      ],
    );
    assert.equal(items[0]?.['fetchedAt'], enforce.fetchedAt);
  });

  it('show prints the entry and the policy text; the domain is normalized', async () => {
    const r = await run('show', 'Enforce.Example.', '-c', configPath);
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      /^domain: +enforce\.example\nmode: +enforce\nid: +20260101T000000\nmx: +mx1\.enforce\.example \*\.backup\.enforce\.example\nmax_age: +604800\n/,
    );
    assert.match(
      r.out,
      /\n\nversion: STSv1\nmode: enforce\nmx: mx1\.enforce\.example\nmx: \*\.backup\.enforce\.example\nmax_age: 604800\n$/,
    );
    assert.doesNotMatch(r.out, /\r/);
  });

  it('show --json prints the stored entry', async () => {
    const r = await run('show', 'testing.example', '--json', '-c', configPath);
    assert.equal(r.code, 0);
    assert.deepEqual(JSON.parse(r.out), testing);
  });

  it('show and evict of an absent domain exit 1', async () => {
    const shown = await run('show', 'absent.example', '-c', configPath);
    assert.equal(shown.code, 1);
    assert.match(shown.err, /absent\.example is not in /);
    const evicted = await run('evict', 'absent.example', '-c', configPath);
    assert.equal(evicted.code, 1);
  });

  it('evict deletes (exit 0), and the entry is gone from the file', async () => {
    const r = await run('evict', 'expired.example', '-c', configPath);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^evicted expired\.example from /);
    assert.equal((await run('show', 'expired.example', '-c', configPath)).code, 1);
    assert.equal((await run('evict', 'expired.example', '-c', configPath, '--json')).out, '{"domain":"expired.example","evicted":false}\n');
  });

  it('a memory cache is a clear error: nothing to list outside a running daemon', async () => {
    const r = await run('list', '-c', memoryConfig);
    assert.equal(r.code, 2);
    assert.match(r.err, /"internal" \(in memory\).*only inside a running daemon.*\[ECACHE_NOT_PERSISTENT\]/);
  });

  it('a missing cache file is an error and is not created', async () => {
    const dir = join(root, 'empty-state');
    mkdirSync(dir);
    const cfg = join(root, 'empty.yml');
    writeFileSync(cfg, `state_directory: ${dir}\n`);
    const r = await run('list', '-c', cfg);
    assert.equal(r.code, 2);
    assert.match(r.err, /policy-cache\.sqlite does not exist.*\[ECACHE_OPEN\]/);
  });

  const USAGE_ERRORS: ReadonlyArray<[string[], RegExp]> = [
    [[], /missing subcommand/],
    [['frob'], /unknown cache subcommand "frob"/],
    [['list', 'extra'], /unexpected argument "extra"/],
    [['show'], /cache show needs one DOMAIN/],
    [['evict', 'a.example', 'b.example'], /cache evict needs one DOMAIN/],
    [['show', '192.0.2.1'], /is an IP address/],
    [['list', '--bogus'], /unknown option --bogus/],
  ];
  for (const [argv, message] of USAGE_ERRORS) {
    it(`usage error: ${JSON.stringify(argv)}`, async () => {
      const r = await run(...argv);
      assert.equal(r.code, 2);
      assert.match(r.err, message);
      assert.match(r.err, /\[EUSAGE\]/);
    });
  }

  it('is reachable from main and listed in help', async () => {
    const io = captureIo();
    assert.equal(await main(['cache', '--help'], io), 0);
    assert.match(io.stdout(), /cache list\|show DOMAIN\|evict DOMAIN/);
    const help = captureIo();
    await main(['help'], help);
    assert.match(help.stdout(), /cache list\|show DOMAIN\|evict DOMAIN \[-c FILE\] \[--json\]/);
  });

  it('helpers: isoTime to the second, formatTable aligned', () => {
    assert.equal(isoTime(Date.UTC(2026, 1, 3, 4, 5, 6, 789)), '2026-02-03T04:05:06Z');
    assert.equal(
      formatTable([
        ['a', 'bb', 'c'],
        ['ccc', 'd', 'eeee'],
      ]),
      'a    bb  c\nccc  d   eeee\n',
    );
  });
});
