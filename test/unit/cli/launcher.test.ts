/**
 * bin/mta-sts-bridge.js is two programs in one file: a sh launcher (its `':' //;` lines) that sets
 * the allocator and Node's flags and execs node on the same file, which Node then reads as strings
 * and comments. These run the real file both ways and look at the running daemon from outside
 * (/proc/PID/maps, environ, cmdline): docs/operations.md, "Memory settings".
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startServe } from '../../helpers/serve-process.js';
import { installedJemalloc, LAUNCHER as BIN, launcherJemallocDirs, launcherSearchCode } from '../../helpers/jemalloc.js';

const JEMALLOC = installedJemalloc();
const noJemalloc = JEMALLOC === undefined ? 'libjemalloc.so.2 not installed (apt-get install libjemalloc2; .ci/run does)' : false;
/** `sh -c SCRIPT` in a mount namespace whose /proc is mounted as systemd's ProcSubset=pid mounts it. */
const UNDER_PROC_SUBSET = ['-m', '--propagation', 'private', '/bin/sh', '-c', 'mount -t proc -o subset=pid proc /proc && exec "$@"', 'sh'];
const noProcSubset =
  noJemalloc ||
  (process.getuid?.() !== 0
    ? 'needs root (a mount namespace)'
    : spawnSync('unshare', [...UNDER_PROC_SUBSET, '/bin/sh', '-c', 'test -e /proc/self/maps && ! test -e /proc/sys']).status !== 0
      ? 'cannot mount /proc with subset=pid here (unshare, Linux >= 5.8)'
      : false);

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
  for (const k of [
    'LD_PRELOAD',
    'MALLOC_CONF',
    'MALLOC_ARENA_MAX',
    'MTA_STS_BRIDGE_MALLOC',
    'MTA_STS_BRIDGE_LAUNCHER_SET',
    'NOTIFY_SOCKET',
  ])
    delete env[k];
  return { ...env, ...extra };
}

interface Seen {
  readonly maps: string;
  readonly environ: Map<string, string>;
  readonly cmdline: string[];
  readonly output: string;
  /** The environment of a program the daemon ran (systemd-notify), with `childEnv`. */
  readonly child?: Map<string, string>;
}

/** `NAME=value` lines or NUL-separated entries as a map. */
function envMap(text: string, sep: string): Map<string, string> {
  return new Map(
    text
      .split(sep)
      .filter((kv) => kv.includes('='))
      .map((kv): [string, string] => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
}

/**
 * Start `serve` through the shebang (as a user or systemd would), read /proc, stop it. With
 * `childEnv`, the daemon is told of an abstract NOTIFY_SOCKET, so it runs `systemd-notify` at
 * READY=1: a stand-in first on PATH writes down the environment it was given.
 */
async function startAndLook(extra: Record<string, string>, childEnv = false): Promise<Seen> {
  const env = cleanEnv(extra);
  const tag = `${process.pid}-${++started}`;
  const childEnvFile = join(dir, `notify-env-${tag}`);
  if (childEnv) {
    const fake = join(dir, `fake-bin-${tag}`);
    mkdirSync(fake);
    writeFileSync(join(fake, 'systemd-notify'), `#!/bin/sh\nenv > '${childEnvFile}.tmp' && mv '${childEnvFile}.tmp' '${childEnvFile}'\n`);
    chmodSync(join(fake, 'systemd-notify'), 0o755);
    Object.assign(env, { PATH: `${fake}:${env['PATH'] ?? '/usr/bin:/bin'}`, NOTIFY_SOCKET: `@msb-launcher-test-${tag}` });
  }
  const daemon = await startServe(BIN, dir, env);
  try {
    // sh execs node: the child's pid is the daemon's.
    const pid = daemon.pid;
    const environ = envMap(readFileSync(`/proc/${pid}/environ`, 'utf8'), '\0');
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    const seen = { maps: readFileSync(`/proc/${pid}/maps`, 'utf8'), environ, cmdline, output: daemon.output() };
    if (!childEnv) return seen;
    const deadline = Date.now() + 20_000;
    while (!existsSync(childEnvFile)) {
      if (Date.now() > deadline) assert.fail(`the daemon did not run systemd-notify within 20 s:\n${daemon.output()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return { ...seen, child: envMap(readFileSync(childEnvFile, 'utf8'), '\n') };
  } finally {
    await daemon.stop();
  }
}
/** Numbers the daemons startAndLook starts (their fake bin directories and notify sockets). */
let started = 0;

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

  it('looks for jemalloc in the multiarch directory of its own C library, then /usr/lib64 and /usr/lib', () => {
    // The one list, in the launcher.
    assert.equal(launcherSearchCode().list, '${msb_arch:+"/usr/lib/$msb_arch"} /usr/lib64 /usr/lib');
    // /proc/PID/maps of the launcher's shell, as the kernel writes it, with its C library at `libc`.
    const maps = (libc: string | undefined): string =>
      [
        '55d0c3a00000-55d0c3a04000 r--p 00000000 fe:00 260101                     /usr/bin/dash',
        '55d0c3a04000-55d0c3a18000 r-xp 00004000 fe:00 260101                     /usr/bin/dash',
        '55d0c4e2e000-55d0c4e4f000 rw-p 00000000 00:00 0                          [heap]',
        '7f3a1c200000-7f3a1c228000 r--p 00000000 00:00 0 ',
        ...(libc === undefined
          ? []
          : [
              `7f3a1c228000-7f3a1c24e000 r--p 00000000 fe:00 339380                     ${libc}`,
              `7f3a1c24e000-7f3a1c3a4000 r-xp 00026000 fe:00 339380                     ${libc}`,
            ]),
        '7f3a1c400000-7f3a1c401000 r--p 00000000 fe:00 339362                     /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2',
        '7ffd5a1e0000-7ffd5a201000 rw-p 00000000 00:00 0                          [stack]',
        '',
      ].join('\n');
    const fallback = ['/usr/lib64', '/usr/lib'];
    const cases: [string, string | null, string[]][] = [
      ['x86_64 (amd64)', maps('/usr/lib/x86_64-linux-gnu/libc.so.6'), ['/usr/lib/x86_64-linux-gnu', ...fallback]],
      // Only its own architecture: an amd64 copy installed beside it is never tried.
      ['aarch64 (arm64)', maps('/usr/lib/aarch64-linux-gnu/libc.so.6'), ['/usr/lib/aarch64-linux-gnu', ...fallback]],
      // Before merged /usr, libc is in /lib/TRIPLET and libjemalloc2 in /usr/lib/TRIPLET.
      ['armv7 (armhf), /lib', maps('/lib/arm-linux-gnueabihf/libc.so.6'), ['/usr/lib/arm-linux-gnueabihf', ...fallback]],
      ['ppc64le', maps('/usr/lib/powerpc64le-linux-gnu/libc.so.6'), ['/usr/lib/powerpc64le-linux-gnu', ...fallback]],
      ['s390x', maps('/usr/lib/s390x-linux-gnu/libc.so.6'), ['/usr/lib/s390x-linux-gnu', ...fallback]],
      ['riscv64', maps('/usr/lib/riscv64-linux-gnu/libc.so.6'), ['/usr/lib/riscv64-linux-gnu', ...fallback]],
      // An optimised libc in a subdirectory (old Debian i386: libc6-i686).
      ['i386, i686/cmov', maps('/lib/i386-linux-gnu/i686/cmov/libc.so.6'), ['/usr/lib/i386-linux-gnu', ...fallback]],
      ['no multiarch (Fedora)', maps('/usr/lib64/libc.so.6'), fallback],
      ['musl (Alpine)', maps('/lib/ld-musl-x86_64.so.1'), fallback],
      ['a static shell (no libc mapped)', maps(undefined), fallback],
      ['/proc not mounted', null, fallback],
    ];
    for (const [name, text, dirs] of cases) assert.deepEqual(launcherJemallocDirs(text), dirs, name);
  });

  it("finds the same jemalloc under systemd's ProcSubset=pid (no /proc/sys), and nothing warns", { skip: noProcSubset }, () => {
    const fake = join(dir, 'fake-node-subset');
    mkdirSync(fake);
    writeFileSync(join(fake, 'node'), '#!/bin/sh\nprintf "%s" "$LD_PRELOAD"\n');
    chmodSync(join(fake, 'node'), 0o755);
    const env = cleanEnv({});
    const chosen = spawnSync('unshare', [...UNDER_PROC_SUBSET, BIN], {
      env: { ...env, PATH: `${fake}:${env['PATH'] ?? ''}` },
      encoding: 'utf8',
    });
    assert.equal(chosen.status, 0, chosen.stderr);
    assert.equal(chosen.stdout, JEMALLOC);
    // The real node on it: jemalloc prints nothing for the overcommit setting it cannot read.
    const real = spawnSync('unshare', [...UNDER_PROC_SUBSET, BIN, '--version'], { env, encoding: 'utf8' });
    assert.equal(real.status, 0, real.stderr);
    assert.match(real.stdout, /^mta-sts-bridge \d+\.\d+\.\d+/);
    assert.equal(real.stderr, '');
  });

  it("on this machine, looks first in the multiarch directory of node's own architecture (Debian layout)", () => {
    const triplet = (
      {
        x64: 'x86_64-linux-gnu',
        arm64: 'aarch64-linux-gnu',
        arm: 'arm-linux-gnueabihf',
        ppc64: 'powerpc64le-linux-gnu',
        s390x: 's390x-linux-gnu',
        ia32: 'i386-linux-gnu',
        riscv64: 'riscv64-linux-gnu',
      } as Partial<Record<string, string>>
    )[process.arch];
    const dirs = launcherJemallocDirs();
    if (triplet !== undefined && (existsSync(`/usr/lib/${triplet}/libc.so.6`) || existsSync(`/lib/${triplet}/libc.so.6`))) {
      assert.deepEqual(dirs, [`/usr/lib/${triplet}`, '/usr/lib64', '/usr/lib']);
    } else {
      // Not a Debian multiarch layout: the two fallbacks only.
      assert.deepEqual(dirs, ['/usr/lib64', '/usr/lib'], `${process.arch}: no /usr/lib/TRIPLET/libc.so.6`);
    }
  });

  it('keeps its own settings from the programs the daemon runs (systemd-notify here)', async () => {
    // MALLOC_ARENA_MAX is the launcher's: the daemon has it, systemd-notify does not.
    const system = await startAndLook({ MTA_STS_BRIDGE_MALLOC: 'system' }, true);
    assert.equal(system.environ.get('MALLOC_ARENA_MAX'), '2');
    assert.ok(system.child, 'systemd-notify ran');
    assert.equal(system.child.has('MALLOC_ARENA_MAX'), false, 'MALLOC_ARENA_MAX');
    assert.equal(system.child.has('MTA_STS_BRIDGE_LAUNCHER_SET'), false, 'MTA_STS_BRIDGE_LAUNCHER_SET');
    assert.equal(system.child.get('MTA_STS_BRIDGE_MALLOC'), 'system', "the operator's own variables are passed on");
  });

  it('runs the programs it starts without the jemalloc it preloaded', { skip: noJemalloc }, async () => {
    const seen = await startAndLook({}, true);
    assert.match(seen.maps, /\/libjemalloc\.so\.2$/m, 'the daemon runs on jemalloc');
    assert.equal(seen.environ.get('LD_PRELOAD'), JEMALLOC);
    assert.ok(seen.child, 'systemd-notify ran');
    for (const k of ['LD_PRELOAD', 'MALLOC_CONF', 'MALLOC_ARENA_MAX', 'MTA_STS_BRIDGE_LAUNCHER_SET'])
      assert.equal(seen.child.has(k), false, `${k}=${seen.child.get(k) ?? ''} passed on`);
  });

  it("passes an operator's LD_PRELOAD, MALLOC_CONF and MALLOC_ARENA_MAX on to the programs it starts", { skip: noJemalloc }, async () => {
    const link = join(dir, 'operator-jemalloc.so.2');
    symlinkSync(JEMALLOC ?? '', link);
    const seen = await startAndLook({ LD_PRELOAD: link, MALLOC_CONF: 'narenas:1', MALLOC_ARENA_MAX: '4' }, true);
    assert.ok(seen.child, 'systemd-notify ran');
    assert.equal(seen.child.get('LD_PRELOAD'), link);
    assert.equal(seen.child.get('MALLOC_CONF'), 'narenas:1');
    assert.equal(seen.child.get('MALLOC_ARENA_MAX'), '4');
    assert.equal(seen.child.has('MTA_STS_BRIDGE_LAUNCHER_SET'), false);
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
