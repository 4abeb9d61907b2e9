/**
 * bin/mta-sts-bridge.js is two programs in one file: a sh launcher (its `':' //;` lines) that sets
 * the allocator and Node's flags and execs node on the same file, which Node then reads as strings
 * and comments. These run the real file both ways and look at the running daemon from outside
 * (/proc/PID/maps, environ, cmdline): docs/operations.md, "Memory settings".
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../helpers/free-port.js';
import { installedJemalloc, LAUNCHER as BIN, launcherJemallocDirs } from '../../helpers/jemalloc.js';

const JEMALLOC = installedJemalloc();
const noJemalloc = JEMALLOC === undefined ? 'libjemalloc.so.2 not installed (apt-get install libjemalloc2; .ci/run does)' : false;

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'msb-launcher-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The environment without what the launcher decides, plus `extra`. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of ['LD_PRELOAD', 'MALLOC_CONF', 'MALLOC_ARENA_MAX', 'MTA_STS_BRIDGE_MALLOC']) delete env[k];
  return { ...env, ...extra };
}

interface Seen {
  readonly maps: string;
  readonly environ: Map<string, string>;
  readonly cmdline: string[];
  readonly output: string;
}

/** Start `serve` through the shebang (as a user or systemd would), read /proc, stop it. */
async function startAndLook(extra: Record<string, string>): Promise<Seen> {
  const port = await freePort();
  const config = join(dir, `launcher-${port}.yml`);
  writeFileSync(config, `listeners:\n  - address: 127.0.0.1:${port}\ncache:\n  type: internal\n`);
  const child: ChildProcess = spawn(BIN, ['serve', '-c', config], { env: cleanEnv(extra), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const deadline = Date.now() + 20_000;
    while (!/listening/.test(output)) {
      if (child.exitCode !== null || child.signalCode !== null)
        assert.fail(`serve ended (${child.exitCode ?? child.signalCode}) before listening:\n${output}`);
      if (Date.now() > deadline) assert.fail(`serve did not listen within 20 s:\n${output}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    // sh execs node: the child's pid is the daemon's.
    const pid = child.pid as number;
    const environ = new Map(
      readFileSync(`/proc/${pid}/environ`, 'utf8')
        .split('\0')
        .filter((kv) => kv.includes('='))
        .map((kv): [string, string] => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    );
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    return { maps: readFileSync(`/proc/${pid}/maps`, 'utf8'), environ, cmdline, output };
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

describe('bin/mta-sts-bridge.js as a launcher', () => {
  it('runs node on itself with a 1 MiB young generation and MALLOC_ARENA_MAX=2', async () => {
    const seen = await startAndLook({ MTA_STS_BRIDGE_MALLOC: 'system' });
    assert.equal(seen.cmdline.includes('--max-semi-space-size=1'), true, seen.cmdline.join(' '));
    assert.deepEqual(seen.cmdline.slice(-5, -3), ['--', BIN], 'the file after --: never taken for a node option');
    assert.deepEqual(seen.cmdline.slice(-3, -1), ['serve', '-c']);
    assert.match(seen.cmdline[0] ?? '', /(^|\/)node$/);
    assert.equal(seen.environ.get('MALLOC_ARENA_MAX'), '2');
  });

  it('keeps glibc malloc with MTA_STS_BRIDGE_MALLOC=system', async () => {
    const seen = await startAndLook({ MTA_STS_BRIDGE_MALLOC: 'system' });
    assert.doesNotMatch(seen.maps, /libjemalloc/);
    assert.equal(seen.environ.has('LD_PRELOAD'), false);
    assert.equal(seen.environ.has('MALLOC_CONF'), false);
  });

  it('preloads the installed jemalloc by default, with its MALLOC_CONF; ld.so says nothing', { skip: noJemalloc }, async () => {
    const seen = await startAndLook({});
    assert.equal(seen.environ.get('LD_PRELOAD'), JEMALLOC);
    assert.equal(seen.environ.get('MALLOC_CONF'), 'narenas:2,lg_tcache_max:12,background_thread:true,dirty_decay_ms:1000');
    assert.match(seen.maps, /\/libjemalloc\.so\.2$/m);
    // jemalloc prints `<jemalloc>: Invalid conf pair` for a setting its version does not know.
    assert.doesNotMatch(seen.output, /ld\.so|cannot be preloaded|<jemalloc>/);
  });

  it("leaves an operator's LD_PRELOAD and MALLOC_CONF alone", { skip: noJemalloc }, async () => {
    // The operator's own spelling of the library (a link to it): kept as written, and no
    // MALLOC_CONF added, since the launcher did not choose the allocator.
    const link = join(dir, 'my-jemalloc.so.2');
    symlinkSync(JEMALLOC ?? '', link);
    const mine = await startAndLook({ LD_PRELOAD: link });
    assert.equal(mine.environ.get('LD_PRELOAD'), link);
    assert.equal(mine.environ.has('MALLOC_CONF'), false);
    assert.match(mine.maps, /\/libjemalloc\.so\.2$/m);
    const conf = await startAndLook({ MALLOC_CONF: 'narenas:1', MALLOC_ARENA_MAX: '4' });
    assert.equal(conf.environ.get('LD_PRELOAD'), JEMALLOC);
    assert.equal(conf.environ.get('MALLOC_CONF'), 'narenas:1');
    assert.equal(conf.environ.get('MALLOC_ARENA_MAX'), '4');
  });

  it('looks for jemalloc only in the system library directories', () => {
    assert.deepEqual(launcherJemallocDirs(), ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib']);
  });

  it('takes an empty MTA_STS_BRIDGE_MALLOC (systemd `Environment=MTA_STS_BRIDGE_MALLOC=`) as the default', () => {
    const r = spawnSync(BIN, ['--version'], { env: cleanEnv({ MTA_STS_BRIDGE_MALLOC: '' }), encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^mta-sts-bridge \d+\.\d+\.\d+/);
  });

  it('says so when node is not on PATH', () => {
    const r = spawnSync('/bin/sh', [BIN, '--version'], { env: { ...cleanEnv({}), PATH: '/nonexistent' }, encoding: 'utf8' });
    assert.equal(r.status, 127);
    assert.equal(r.stderr, 'mta-sts-bridge: node not found on PATH (/nonexistent)\n');
  });

  it('refuses an unknown MTA_STS_BRIDGE_MALLOC before starting anything', () => {
    const r = spawnSync(BIN, ['--version'], { env: cleanEnv({ MTA_STS_BRIDGE_MALLOC: 'glibc' }), encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, 'mta-sts-bridge: MTA_STS_BRIDGE_MALLOC must be jemalloc or system, found "glibc"\n');
    // printf, not echo: a backslash in the value is printed as it is.
    const odd = spawnSync(BIN, ['--version'], { env: cleanEnv({ MTA_STS_BRIDGE_MALLOC: 'a\\cb' }), encoding: 'utf8' });
    assert.equal(odd.stderr, 'mta-sts-bridge: MTA_STS_BRIDGE_MALLOC must be jemalloc or system, found "a\\cb"\n');
  });

  it('is plain JavaScript to node: the launcher lines do nothing there', () => {
    const r = spawnSync(process.execPath, [BIN, '--version'], { env: cleanEnv({ MTA_STS_BRIDGE_MALLOC: 'glibc' }), encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^mta-sts-bridge \d+\.\d+\.\d+/);
    assert.equal(r.stderr, '');
  });
});
