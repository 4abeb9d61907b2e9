/**
 * `generate` end to end with fakes: scripted DNS and HTTPS, a fake clock, a fake postmap (the
 * real one is in test/integration/generate-postmap.test.ts), the real lock, state and writer.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SqlitePolicyCache } from '../../../adapters/cache/sqlite.js';
import type { PolicyEntry } from '../../../src/cache/types.js';
import { generateCommand, type GenerateCommandDeps } from '../../../main/cli/generate.js';
import { MAP_HEADER } from '../../../adapters/map/map-format.js';
import type { PostfixTools } from '../../../src/generate/postfix-tools.js';
import { sampleEntry } from '../../contract/policy-cache.contract.js';
import { FakeClock, ScriptedDns, ScriptedFetcher, policyText } from '../../helpers/fakes.js';
import { captureIo } from '../cli/capture.js';

const root = mkdtempSync(join(tmpdir(), 'msb-gen-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

const A = 'secure match=mx.a.test:.b.a.test servername=hostname';

class World {
  readonly dir = mkdtempSync(join(root, `w${n++}-`));
  readonly output = join(this.dir, 'mta-sts-policy');
  readonly domainsFile = join(this.dir, 'domains.txt');
  readonly dns = new ScriptedDns();
  readonly fetcher = new ScriptedFetcher();
  readonly clock = new FakeClock();
  postmapCalls = 0;
  postmapFails = false;
  types = ['lmdb', 'cdb', 'hash', 'btree'];
  alive: number[] = [];
  pid = 1000;

  constructor() {
    writeFileSync(this.domainsFile, '# test list\na.test\nt.test\nn.test\nx.test\n');
    this.dns.setTxt('a.test', 'v=STSv1; id=a1;');
    this.fetcher.setPolicy('a.test', policyText('enforce', 604800, 'mx.a.test', '*.b.a.test'));
    this.dns.setTxt('t.test', 'v=STSv1; id=t1;');
    this.fetcher.setPolicy('t.test', policyText('testing', 604800, 'mx.t.test'));
    this.dns.setTxt('n.test', 'v=STSv1; id=n1;');
    this.fetcher.setPolicy('n.test', policyText('none', 604800));
  }

  tools(): PostfixTools {
    return {
      postmap: async (type, path) => {
        this.postmapCalls += 1;
        if (this.postmapFails) throw Object.assign(new Error('postmap: fatal: scripted'), { code: 'EGEN_POSTMAP' });
        writeFileSync(`${path}.${type}`, readFileSync(path));
      },
      mapTypes: async () => this.types,
    };
  }

  deps(extra: Partial<GenerateCommandDeps> = {}): GenerateCommandDeps {
    return {
      dns: this.dns,
      fetcher: this.fetcher,
      clock: this.clock,
      tools: this.tools(),
      lock: { pid: this.pid, isAlive: (p) => this.alive.includes(p), now: () => Date.now() },
      progress: false,
      // The tester's STATE_DIRECTORY and home must not leak into --from-cache.
      env: {},
      homeDir: '/nonexistent',
      ...extra,
    };
  }

  async run(args: string[] = [], extra: Partial<GenerateCommandDeps> = {}): Promise<{ code: number; out: string; err: string }> {
    const io = captureIo();
    const code = await generateCommand(['--domains', this.domainsFile, '--output', this.output, ...args], io, this.deps(extra));
    return { code, out: io.stdout(), err: io.stderr() };
  }

  map(): string {
    return readFileSync(this.output, 'utf8');
  }

  /** A daemon's sqlite cache (what `serve` would have stored) and a config naming it. */
  async daemonCache(entries: readonly PolicyEntry[], file = 'daemon.sqlite'): Promise<string> {
    const stateDir = join(this.dir, 'daemon-state');
    const c = new SqlitePolicyCache({ path: join(stateDir, file), busyTimeoutMs: 1000, clock: this.clock, purgeIntervalMs: 0 });
    await c.open();
    for (const e of entries) await c.set(e);
    await c.close();
    const cfg = join(this.dir, 'daemon.yml');
    writeFileSync(cfg, `state_directory: ${stateDir}\ncache:\n  type: sqlite\n  options:\n    filename: ${file}\n`);
    return cfg;
  }

  /** generate with the given argv only (no --domains added). */
  async runRaw(argv: string[], extra: Partial<GenerateCommandDeps> = {}): Promise<{ code: number; out: string; err: string }> {
    const io = captureIo();
    const code = await generateCommand(argv, io, this.deps(extra));
    return { code, out: io.stdout(), err: io.stderr() };
  }

  /** The policy domains looked up in DNS so far (`_mta-sts.` prefix removed). */
  looked(): string[] {
    return [...new Set(this.dns.queries.map((q) => q.replace(/^_mta-sts\./, '')))].sort();
  }
}

/** A daemon cache entry for `domain`, fresh unless `expired`, relative to the World's clock. */
function daemonEntry(domain: string, now: number, expired = false): PolicyEntry {
  return expired
    ? sampleEntry(domain, { fetchedAt: now - 2 * 86_400_000, expiresAt: now - 86_400_000, checkedAt: now - 2 * 86_400_000 })
    : sampleEntry(domain, { fetchedAt: now - 60_000, expiresAt: now + 86_400_000, checkedAt: now - 60_000 });
}

describe('generate command', () => {
  it('first run: writes the map (enforce only), the index and the SQLite state; prints one summary', async () => {
    const w = new World();
    const r = await w.run();
    assert.equal(r.code, 0, r.err);
    assert.equal(r.err, '');
    assert.equal(w.map(), `${MAP_HEADER}\na.test ${A}\n`);
    assert.equal(readFileSync(`${w.output}.lmdb`, 'utf8'), w.map());
    assert.ok(existsSync(`${w.output}.state.sqlite`), 'default state next to the map');
    assert.equal(existsSync(`${w.output}.lock`), false, 'lock released');
    assert.match(
      r.out,
      /^generate: domains=4 enforced=1 unchanged=0 added=1 removed=0 changed=0 failed=0 seconds=[0-9.]+ result=written\n$/,
    );
  });

  it('second run with unchanged ids: quiet, no fetch, map untouched', async () => {
    const w = new World();
    await w.run();
    const fetches = w.fetcher.fetches.length;
    const calls = w.postmapCalls;
    w.clock.advance(3_600_000);
    const r = await w.run();
    assert.equal(r.code, 0);
    assert.equal(r.out, '', 'cron mails nothing when nothing changed');
    assert.equal(r.err, '');
    assert.equal(w.fetcher.fetches.length, fetches, 'same TXT id: no fetch');
    assert.equal(w.postmapCalls, calls, 'identical map: not rebuilt');
  });

  it('a new id is fetched and the entry changes', async () => {
    const w = new World();
    await w.run();
    w.dns.setTxt('a.test', 'v=STSv1; id=a2;');
    w.fetcher.setPolicy('a.test', policyText('enforce', 604800, 'mx9.a.test'));
    const r = await w.run();
    assert.equal(r.code, 0);
    assert.match(r.out, /changed=1/);
    assert.equal(w.map(), `${MAP_HEADER}\na.test secure match=mx9.a.test servername=hostname\n`);
  });

  it('policy host down: the entry stays until max_age, the domain is listed as failed; then it leaves', async () => {
    const w = new World();
    w.fetcher.setPolicy('a.test', policyText('enforce', 7200, 'mx.a.test', '*.b.a.test'));
    await w.run();
    w.dns.setTxt('a.test', 'v=STSv1; id=a2;');
    w.fetcher.setError('a.test', 'EFETCH_CONNECT');
    w.clock.advance(3_600_000);
    const kept = await w.run();
    assert.equal(kept.code, 1);
    assert.match(kept.err, /a\.test: fetch-failed EFETCH_CONNECT \(last-known-good policy kept\)/);
    assert.match(kept.out, /enforced=1 unchanged=1 .*failed=1/);
    assert.equal(w.map(), `${MAP_HEADER}\na.test ${A}\n`);
    w.clock.advance(3_600_001);
    const gone = await w.run();
    assert.equal(gone.code, 1);
    assert.match(gone.out, /enforced=0 .*removed=1 .*failed=1/);
    assert.equal(w.map(), `${MAP_HEADER}\n`);
  });

  it('a policy due for refresh is fetched again even with the same id (RFC 8461 §3.3)', async () => {
    const w = new World();
    await w.run();
    const before = w.fetcher.fetches.filter((d) => d === 'a.test').length;
    w.clock.advance(86_400_000);
    w.fetcher.setError('a.test');
    const r = await w.run();
    assert.equal(w.fetcher.fetches.filter((d) => d === 'a.test').length, before + 1);
    assert.equal(r.code, 1, 'a failed refresh is reported');
    assert.equal(w.map(), `${MAP_HEADER}\na.test ${A}\n`, 'and the policy stays');
  });

  it('reaching nothing with an empty state never empties an existing map: exit 2, map kept', async () => {
    const w = new World();
    await w.run();
    const old = w.map();
    for (const d of ['a.test', 't.test', 'n.test', 'x.test']) w.dns.setAnswer(d, { kind: 'error', code: 'ETIMEOUT', message: 'timeout' });
    const r = await w.run(['--state', join(w.dir, 'empty-state.sqlite')]);
    assert.equal(r.code, 2);
    assert.match(r.err, /EGEN_NOTHING_REACHED/);
    assert.equal(w.map(), old);
  });

  it('the same outage with the state kept: the map keeps its entries (exit 1)', async () => {
    const w = new World();
    await w.run();
    for (const d of ['a.test', 't.test', 'n.test', 'x.test']) w.dns.setAnswer(d, { kind: 'error', code: 'ETIMEOUT', message: 'timeout' });
    const r = await w.run();
    assert.equal(r.code, 1);
    assert.equal(w.map(), `${MAP_HEADER}\na.test ${A}\n`);
  });

  it('a live lock holder makes a second run exit 2 without touching anything', async () => {
    const w = new World();
    writeFileSync(`${w.output}.lock`, '4242\n');
    w.alive = [4242];
    const r = await w.run();
    assert.equal(r.code, 2);
    assert.match(r.err, /another generate run \(pid 4242\) holds .*\.lock.*\[EGEN_LOCKED\]/);
    assert.equal(existsSync(w.output), false);
    assert.equal(readFileSync(`${w.output}.lock`, 'utf8'), '4242\n');
  });

  it('a stale lock and temp files of a killed run are cleaned up', async () => {
    const w = new World();
    writeFileSync(`${w.output}.lock`, '4242\n');
    writeFileSync(join(w.dir, '.mta-sts-policy.tmp-4242'), 'half');
    writeFileSync(join(w.dir, '.mta-sts-policy.tmp-4242.lmdb'), 'half');
    const r = await w.run();
    assert.equal(r.code, 0, r.err);
    assert.equal(existsSync(join(w.dir, '.mta-sts-policy.tmp-4242')), false);
    assert.equal(existsSync(join(w.dir, '.mta-sts-policy.tmp-4242.lmdb')), false);
    assert.equal(existsSync(`${w.output}.lock`), false);
  });

  it('--dry-run prints the diff and writes no map', async () => {
    const w = new World();
    const r = await w.run(['--dry-run']);
    assert.equal(r.code, 0);
    assert.equal(r.out.split('\n')[0], `+ a.test ${A}`);
    assert.match(r.out, /result=dry-run/);
    assert.equal(existsSync(w.output), false);
    assert.equal(w.postmapCalls, 0);
  });

  it('postmap failing: exit 2, EGEN_POSTMAP, the old map stays', async () => {
    const w = new World();
    await w.run();
    const old = w.map();
    w.dns.setTxt('a.test', 'v=STSv1; id=a2;');
    w.fetcher.setPolicy('a.test', policyText('enforce', 604800, 'mx9.a.test'));
    w.postmapFails = true;
    const r = await w.run();
    assert.equal(r.code, 2);
    assert.match(r.err, /EGEN_POSTMAP/);
    assert.equal(w.map(), old);
    assert.equal(existsSync(`${w.output}.lock`), false);
  });

  it('a map type this Postfix lacks is a clear error before anything runs', async () => {
    const w = new World();
    w.types = ['lmdb', 'hash'];
    const r = await w.run(['--type', 'cdb']);
    assert.equal(r.code, 2);
    assert.match(r.err, /does not support cdb tables .*\[EGEN_MAP_TYPE\]/);
    assert.equal(w.dns.queries.length, 0);
  });

  it('testing is written in a strict_testing zone; tlsrpt format adds the attributes', async () => {
    const w = new World();
    const cfg = join(w.dir, 'c.yml');
    writeFileSync(cfg, 'zones:\n  strict:\n    strict_testing: true\n');
    const r = await w.run(['-c', cfg, '--zone', 'strict', '--format', 'postfix-tlsrpt', '--type', 'cdb']);
    assert.equal(r.code, 0, r.err);
    assert.match(w.map(), /^t\.test secure match=mx\.t\.test servername=hostname policy_type=sts policy_domain=t\.test /m);
    assert.match(w.map(), /^a\.test secure .* policy_type=sts /m);
    assert.ok(existsSync(`${w.output}.cdb`));
  });

  it('exim-lsearch and json write a text file only', async () => {
    const w = new World();
    assert.equal((await w.run(['--format', 'exim-lsearch'])).code, 0);
    // The value format is the Exim adapter's (map-format.test.ts checks it equals formatEximAnswer).
    assert.match(w.map(), new RegExp(`^${MAP_HEADER}\\na\\.test: enforce \\S[^\\n]*\\n$`));
    const j = new World();
    assert.equal((await j.run(['--format', 'json', '--state', join(j.dir, 's.json')])).code, 0);
    assert.deepEqual(JSON.parse(j.map()), { 'a.test': { mode: 'enforce', mx: ['mx.a.test', '*.b.a.test'], postfix: A } });
    assert.equal(j.postmapCalls + w.postmapCalls, 0);
    assert.ok(existsSync(join(j.dir, 's.json')), 'a .json --state selects the JSON-file state');
  });

  it('--offline rebuilds from the state without DNS or HTTPS', async () => {
    const w = new World();
    await w.run();
    const queries = w.dns.queries.length;
    const io = captureIo();
    const code = await generateCommand(
      ['--offline', '--output', join(w.dir, 'other'), '--state', `${w.output}.state.sqlite`, '--type', 'texthash'],
      io,
      w.deps(),
    );
    assert.equal(code, 0, io.stderr());
    assert.equal(readFileSync(join(w.dir, 'other'), 'utf8'), w.map());
    assert.equal(w.dns.queries.length, queries);
  });

  it('--offline with --domains takes only the listed domains from the state', async () => {
    const w = new World();
    await w.run();
    const queries = w.dns.queries.length;
    writeFileSync(w.domainsFile, 't.test\n');
    const r = await w.runRaw([
      '--offline',
      '--domains',
      w.domainsFile,
      '--output',
      join(w.dir, 'other'),
      '--state',
      `${w.output}.state.sqlite`,
      '--type',
      'texthash',
    ]);
    assert.equal(r.code, 0, r.err);
    assert.equal(readFileSync(join(w.dir, 'other'), 'utf8'), `${MAP_HEADER}\n`, 't.test is testing: no entry, and a.test is not listed');
    assert.equal(w.dns.queries.length, queries);
  });

  it("--from-cache: the domains are every domain in the daemon's sqlite cache (expired ones too), resolved normally", async () => {
    const w = new World();
    const now = w.clock.now();
    const cfg = await w.daemonCache([daemonEntry('a.test', now), daemonEntry('t.test', now, true)]);
    const before = readFileSync(join(w.dir, 'daemon-state', 'daemon.sqlite'));
    const r = await w.runRaw(['--from-cache', '-c', cfg, '--output', w.output]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^generate: domains=2 enforced=1 /);
    // Resolved with DNS and HTTPS, not copied from the daemon's entries (mx1.a.test there).
    assert.deepEqual(w.looked(), ['a.test', 't.test']);
    assert.equal(w.map(), `${MAP_HEADER}\na.test ${A}\n`);
    assert.ok(existsSync(`${w.output}.state.sqlite`), 'the generator keeps its own state');
    assert.deepEqual(readFileSync(join(w.dir, 'daemon-state', 'daemon.sqlite')), before, "the daemon's cache is not written");
  });

  it('--from-cache without -c: the default sqlite cache in the state directory', async () => {
    const w = new World();
    const stateDir = join(w.dir, 'daemon-state');
    await w.daemonCache([daemonEntry('a.test', w.clock.now())], 'policy-cache.sqlite');
    const r = await w.runRaw(['--from-cache', '--output', w.output], { env: { STATE_DIRECTORY: stateDir } });
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(w.looked(), ['a.test']);
    assert.equal(w.map(), `${MAP_HEADER}\na.test ${A}\n`);
  });

  it('--from-cache with --domains: the union of both lists, each domain once', async () => {
    const w = new World();
    const now = w.clock.now();
    writeFileSync(w.domainsFile, 'a.test\nn.test\n');
    const cfg = await w.daemonCache([daemonEntry('a.test', now), daemonEntry('t.test', now)]);
    const r = await w.run(['--from-cache', '-c', cfg]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^generate: domains=3 /);
    assert.deepEqual(w.looked(), ['a.test', 'n.test', 't.test']);
  });

  it('--from-cache with a strict_testing zone of the same config', async () => {
    const w = new World();
    const cfg = await w.daemonCache([daemonEntry('t.test', w.clock.now())]);
    writeFileSync(cfg, `${readFileSync(cfg, 'utf8')}zones:\n  strict:\n    strict_testing: true\n`);
    const r = await w.runRaw(['--from-cache', '-c', cfg, '--zone', 'strict', '--output', w.output]);
    assert.equal(r.code, 0, r.err);
    assert.match(w.map(), /^t\.test secure match=mx\.t\.test /m);
  });

  it('--from-cache with a memory (internal) cache is refused: ECACHE_NOT_PERSISTENT, exit 2, nothing looked up', async () => {
    const w = new World();
    const cfg = join(w.dir, 'memory.yml');
    writeFileSync(cfg, 'cache:\n  type: internal\n');
    const r = await w.runRaw(['--from-cache', '-c', cfg, '--output', w.output]);
    assert.equal(r.code, 2);
    assert.match(r.err, /"internal" \(in memory\).*only inside a running daemon.*\[ECACHE_NOT_PERSISTENT\]/);
    assert.equal(w.dns.queries.length, 0);
    assert.equal(existsSync(w.output), false);
    assert.equal(existsSync(`${w.output}.lock`), false);
    // The same with --domains: the flag asks for the daemon's list, which does not exist here.
    assert.equal((await w.run(['--from-cache', '-c', cfg])).code, 2);
  });

  it('--from-cache: a missing daemon cache file is ECACHE_OPEN (exit 2) and is not created', async () => {
    const w = new World();
    const stateDir = join(w.dir, 'no-daemon');
    const cfg = join(w.dir, 'c.yml');
    writeFileSync(cfg, `state_directory: ${stateDir}\n`);
    const r = await w.runRaw(['--from-cache', '-c', cfg, '--output', w.output]);
    assert.equal(r.code, 2);
    assert.match(r.err, /policy-cache\.sqlite does not exist.*\[ECACHE_OPEN\]/);
    assert.equal(existsSync(stateDir), false);
    assert.equal(existsSync(w.output), false);
  });

  it('--from-cache with an empty daemon cache and no --domains writes nothing (EGEN_NO_DOMAINS)', async () => {
    const w = new World();
    const cfg = await w.daemonCache([]);
    const r = await w.runRaw(['--from-cache', '-c', cfg, '--output', w.output]);
    assert.equal(r.code, 2);
    assert.match(r.err, /daemon's cache .*daemon\.sqlite holds no domain; nothing written \[EGEN_NO_DOMAINS\]/);
    assert.equal(existsSync(w.output), false);
  });

  it("--from-cache with --offline: the daemon's domains, from the generator's state, no DNS", async () => {
    const w = new World();
    await w.run();
    const queries = w.dns.queries.length;
    const now = w.clock.now();
    const cfg = await w.daemonCache([daemonEntry('a.test', now)]);
    const r = await w.runRaw([
      '--from-cache',
      '--offline',
      '-c',
      cfg,
      '--output',
      join(w.dir, 'other'),
      '--state',
      `${w.output}.state.sqlite`,
      '--type',
      'texthash',
    ]);
    assert.equal(r.code, 0, r.err);
    assert.equal(readFileSync(join(w.dir, 'other'), 'utf8'), `${MAP_HEADER}\na.test ${A}\n`);
    assert.match(r.out, /domains=1 /);
    assert.equal(w.dns.queries.length, queries);
  });

  it('invalid lines are reported and skipped; a list of nothing valid is refused', async () => {
    const w = new World();
    writeFileSync(w.domainsFile, 'a.test\nbad_name..test\n');
    const r = await w.run();
    assert.equal(r.code, 0);
    assert.match(r.err, /domains\.txt:2: .*line skipped \[EDOMAIN_INVALID\]/);
    writeFileSync(w.domainsFile, '# none\nbad..x\n');
    const none = await w.run();
    assert.equal(none.code, 2);
    assert.match(none.err, /EGEN_NO_DOMAINS/);
  });

  it('reads the list from stdin with --domains -', async () => {
    const w = new World();
    const io = captureIo();
    const code = await generateCommand(['--domains', '-', '--output', w.output], io, w.deps({ readStdin: () => 'a.test\n' }));
    assert.equal(code, 0, io.stderr());
    assert.match(w.map(), /^a\.test /m);
  });

  it('draws a progress bar only when asked (a TTY)', async () => {
    const w = new World();
    let drawn = '';
    await w.run([], { progress: true, progressWrite: (t) => void (drawn += t) });
    assert.match(drawn, /\[#+\] 4\/4/);
  });

  const usage: ReadonlyArray<[string, string[], RegExp]> = [
    ['no --output', ['--domains', 'x'], /needs --output/],
    ['no --domains', ['--output', 'x'], /needs --domains FILE \(or - for stdin\), --from-cache or --offline/],
    ['bad format', ['--domains', 'x', '--output', 'y', '--format', 'xml'], /--format must be one of/],
    ['bad type', ['--domains', 'x', '--output', 'y', '--type', 'dbm'], /--type must be one of/],
    [
      'type with a text format',
      ['--domains', 'x', '--output', 'y', '--format', 'json', '--type', 'lmdb'],
      /applies to the postfix formats only/,
    ],
    ['bad concurrency', ['--domains', 'x', '--output', 'y', '--concurrency', '0'], /--concurrency must be/],
    ['unknown zone', ['--domains', 'x', '--output', 'y', '--zone', 'nope'], /unknown zone/],
    ['positional', ['extra', '--domains', 'x', '--output', 'y'], /unexpected argument/],
  ];
  for (const [name, argv, re] of usage) {
    it(`usage error: ${name} (exit 2)`, async () => {
      const io = captureIo();
      assert.equal(await generateCommand(argv, io, { progress: false }), 2);
      assert.match(io.stderr(), re);
      assert.match(io.stderr(), /EUSAGE/);
    });
  }
});
