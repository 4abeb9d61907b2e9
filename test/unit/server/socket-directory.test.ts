import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, chown, lstat, mkdir, mkdtemp, readdir, rename, rm, symlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ListenerConfig } from '../../../src/config/types.js';
import { BridgeError } from '../../../src/errors.js';
import { openListener } from '../../../src/server/listener.js';
import { placeSocketFile } from '../../../src/server/unix-socket-file.js';
import {
  checkSocketDirectory,
  describeDirectoryProblem,
  judgeDirectory,
  trustedWriters,
  type DirectoryFacts,
} from '../../../src/server/socket-directory.js';

const NOBODY = 65534;
const root = process.getuid?.() === 0;
const trusted = { uids: [0, 1000], gids: [0] };
const dirFacts = (mode: number, uid = 0, gid = 0): DirectoryFacts => ({ path: '/d', isDirectory: true, mode: 0o040000 | mode, uid, gid });

describe('judgeDirectory', () => {
  const cases: ReadonlyArray<[string, DirectoryFacts, 'safe' | 'writable-by-others' | 'not-directory', RegExp?]> = [
    ['root 0755', dirFacts(0o755), 'safe'],
    ['root 0700', dirFacts(0o700), 'safe'],
    ['owned by the socket owner (postfix private), 0700', dirFacts(0o700, 1000), 'safe'],
    ['sticky and world-writable (/tmp)', dirFacts(0o1777), 'safe'],
    ['sticky, owned by an untrusted user', dirFacts(0o1777, 4242), 'safe'],
    ['world-writable, not sticky', dirFacts(0o777), 'writable-by-others', /every user \(mode 0777, not sticky\)/],
    ['world-writable only (0703)', dirFacts(0o703), 'writable-by-others', /every user/],
    ['group-writable by an untrusted group', dirFacts(0o775, 0, 50), 'writable-by-others', /group 50/],
    ['group-writable by group 0', dirFacts(0o775, 0, 0), 'safe'],
    ['owned by an untrusted user, even 0555', dirFacts(0o555, 4242), 'writable-by-others', /uid 4242/],
    ['not a directory', { path: '/d', isDirectory: false, mode: 0o100644, uid: 0, gid: 0 }, 'not-directory'],
  ];
  for (const [name, facts, want, message] of cases) {
    it(`${name}: ${want}`, () => {
      const verdict = judgeDirectory(facts, trusted);
      assert.equal(verdict.kind, want);
      if (message !== undefined) assert.match(describeDirectoryProblem(verdict, '/d/s.sock') ?? '', message);
    });
  }

  it('trusts root, the daemon itself and the socket owner', () => {
    const t = trustedWriters(NOBODY);
    assert.ok(t.uids.includes(0));
    assert.ok(t.uids.includes(process.geteuid?.() ?? 0));
    assert.ok(t.uids.includes(NOBODY));
    assert.ok(!trustedWriters(undefined).uids.includes(NOBODY));
  });
});

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'msb-sockdir-'));
  await chmod(dir, 0o755);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function subdir(name: string, mode: number): Promise<string> {
  const d = join(dir, name);
  await mkdir(d);
  await chmod(d, mode);
  return d;
}

function unixListener(path: string, extra: Partial<ListenerConfig> = {}): ListenerConfig {
  return { protocol: 'socketmap', address: { kind: 'unix', path }, reusePort: false, origin: 'listeners[0]', ...extra };
}

describe('checkSocketDirectory on real directories', () => {
  it('accepts a private directory and a sticky one', async () => {
    assert.equal((await checkSocketDirectory(join(await subdir('private', 0o700), 's.sock'), trustedWriters(undefined))).kind, 'safe');
    assert.equal((await checkSocketDirectory(join(await subdir('sticky', 0o1777), 's.sock'), trustedWriters(undefined))).kind, 'safe');
  });

  it('refuses a world-writable directory, and one below it', async () => {
    const open = await subdir('open', 0o777);
    const check = await checkSocketDirectory(join(open, 's.sock'), trustedWriters(undefined));
    assert.deepEqual([check.kind, 'path' in check ? check.path : ''], ['writable-by-others', open]);
    const below = join(open, 'below');
    await mkdir(below, { mode: 0o700 });
    const deep = await checkSocketDirectory(join(below, 's.sock'), trustedWriters(undefined));
    assert.deepEqual([deep.kind, 'path' in deep ? deep.path : ''], ['writable-by-others', open]);
  });

  it('judges a symlinked directory by where the link lives and where it leads', async () => {
    const open = await subdir('links', 0o777);
    const target = await subdir('target', 0o700);
    await symlink(target, join(open, 'to-target'));
    const check = await checkSocketDirectory(join(open, 'to-target', 's.sock'), trustedWriters(undefined));
    assert.equal(check.kind, 'writable-by-others');
  });

  it('says a missing directory is missing', async () => {
    const check = await checkSocketDirectory(join(dir, 'nope', 's.sock'), trustedWriters(undefined));
    assert.equal(check.kind, 'missing');
    assert.match(describeDirectoryProblem(check, join(dir, 'nope', 's.sock')) ?? '', /nope of .* does not exist/);
  });

  it(
    'accepts a directory owned by the socket owner only when that owner is configured',
    { skip: root ? false : 'creating a directory owned by another user needs root' },
    async () => {
      const spool = await subdir('spool', 0o700);
      await chown(spool, NOBODY, NOBODY);
      assert.equal((await checkSocketDirectory(join(spool, 's.sock'), trustedWriters(NOBODY))).kind, 'safe');
      const refused = await checkSocketDirectory(join(spool, 's.sock'), trustedWriters(undefined));
      assert.equal(refused.kind, 'writable-by-others');
      assert.match(describeDirectoryProblem(refused, join(spool, 's.sock')) ?? '', /make uid 65534 the socket's owner/);
    },
  );
});

describe('openListener and the socket directory', () => {
  async function rejectsWith(p: Promise<unknown>, code: string): Promise<BridgeError> {
    try {
      await p;
    } catch (err) {
      assert.ok(err instanceof BridgeError, `a BridgeError, got ${String(err)}`);
      assert.equal(err.code, code, err.message);
      return err;
    }
    assert.fail(`expected ${code}`);
  }

  it('refuses a world-writable directory with ELISTEN_UNSAFE_DIRECTORY and creates nothing', async () => {
    const open = await subdir('listen-open', 0o777);
    const err = await rejectsWith(
      openListener(unixListener(join(open, 's.sock'), { mode: 0o660 }), (s) => s.destroy()),
      'ELISTEN_UNSAFE_DIRECTORY',
    );
    assert.match(err.message, /listeners\[0\]: refusing to create .*s\.sock: .*listen-open can be written by every user/);
    assert.deepEqual(await readdir(open), []);
  });

  it('accepts a sticky world-writable directory', async () => {
    const sticky = await subdir('listen-sticky', 0o1777);
    const l = await openListener(unixListener(join(sticky, 's.sock')), (s) => s.destroy());
    await l.close();
  });

  it('a missing directory is ELISTEN_FAILED saying so, not EACCES or ENOENT from bind', async () => {
    const err = await rejectsWith(
      openListener(unixListener(join(dir, 'absent', 's.sock')), (s) => s.destroy()),
      'ELISTEN_FAILED',
    );
    assert.match(err.message, /directory .*absent of .*s\.sock does not exist/);
  });

  it('leaves no private directory behind, and the socket has its mode from the start', async () => {
    const d = await subdir('listen-clean', 0o755);
    const path = join(d, 's.sock');
    const l = await openListener(unixListener(path, { mode: 0o620 }), (s) => s.destroy());
    try {
      assert.deepEqual(await readdir(d), ['s.sock']);
      const st = await lstat(path);
      assert.ok(st.isSocket());
      assert.equal(st.mode & 0o777, 0o620);
    } finally {
      await l.close();
    }
    assert.deepEqual(await readdir(d), []);
  });

  it('close leaves alone what replaced its socket (a symlink is neither followed nor removed)', async () => {
    const d = await subdir('listen-replaced', 0o755);
    const path = join(d, 's.sock');
    const l = await openListener(unixListener(path), (s) => s.destroy());
    await rm(path);
    await symlink('/etc/hostname', path);
    await l.close();
    assert.ok((await lstat(path)).isSymbolicLink());
  });
});

describe('unix socket creation without procfs', () => {
  it(
    'fails with ELISTEN_FAILED naming /proc and creates nothing (a mount namespace without /proc)',
    { skip: root ? false : 'unshare -m needs root' },
    async () => {
      const d = await subdir('no-proc', 0o755);
      const listener = fileURLToPath(new URL('../../../src/server/listener.js', import.meta.url));
      const script = [
        `import { openListener } from ${JSON.stringify(listener)};`,
        'try {',
        `  await openListener({ protocol: 'socketmap', address: { kind: 'unix', path: ${JSON.stringify(join(d, 's.sock'))} }, reusePort: false, origin: 'listeners[0]' }, (s) => s.destroy());`,
        "  console.log('listened');",
        '} catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }',
      ].join('\n');
      const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        execFile(
          'unshare',
          [
            '-m',
            '--propagation',
            'private',
            'sh',
            '-c',
            'umount -l /proc && exec "$0" --input-type=module -e "$1"',
            process.execPath,
            script,
          ],
          (err, stdout, stderr) => {
            resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
          },
        );
      });
      assert.equal(out.code, 0, out.stderr);
      const result = JSON.parse(out.stdout.trim()) as { code: string; message: string };
      assert.equal(result.code, 'ELISTEN_FAILED', result.message);
      assert.match(result.message, /needs \/proc \(procfs\) mounted/);
      assert.deepEqual(await readdir(d), []);
    },
  );
});

describe('placeSocketFile and a directory swapped after its check', () => {
  const noop = async (): Promise<void> => undefined;

  it('refuses a directory that became a symlink elsewhere after the check, creating nothing on either side', async () => {
    const checked = await subdir('swap-checked', 0o755);
    const elsewhere = await subdir('swap-elsewhere', 0o755);
    const link = join(dir, 'swap-link');
    await symlink(checked, link);
    const verdict = await checkSocketDirectory(join(link, 's.sock'), trustedWriters(undefined));
    assert.equal(verdict.kind, 'safe');
    const real = verdict.kind === 'safe' && 'real' in verdict ? verdict.real : assert.fail('the real directory');
    // The swap: the checked name now leads elsewhere.
    await rm(link);
    await symlink(elsewhere, link);
    let listened = false;
    await assert.rejects(
      placeSocketFile(
        join(link, 's.sock'),
        { origin: 'listeners[0]', uid: -1, gid: -1, directory: real },
        async () => {
          listened = true;
        },
        noop,
      ),
      (err: unknown) =>
        err instanceof BridgeError && err.code === 'ELISTEN_UNSAFE_DIRECTORY' && /changed after it was checked/.test(err.message),
    );
    assert.equal(listened, false);
    assert.deepEqual(await readdir(checked), []);
    assert.deepEqual(await readdir(elsewhere), []);
  });

  it('removes its socket at close in the directory it was created in, even after that directory was renamed', async () => {
    const d = await subdir('rename-before', 0o755);
    const server = createServer((s) => s.destroy());
    const path = join(d, 's.sock');
    const placed = await placeSocketFile(
      path,
      { origin: 'listeners[0]', uid: -1, gid: -1, directory: d },
      (p) =>
        new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(p, () => resolve());
        }),
      () => new Promise<void>((resolve) => server.close(() => resolve())),
    );
    const moved = join(dir, 'rename-after');
    await rename(d, moved);
    // A new directory at the old name, with a socket file of the same name that is not ours.
    await mkdir(d, { mode: 0o755 });
    const other = createServer((s) => s.destroy());
    await new Promise<void>((resolve) => other.listen(path, () => resolve()));
    try {
      assert.deepEqual(await readdir(moved), ['s.sock']);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await placed.release();
      assert.deepEqual(await readdir(moved), [], 'our socket removed where it is now');
      assert.ok((await lstat(path)).isSocket(), 'the other socket at the old name left alone');
    } finally {
      await new Promise<void>((resolve) => other.close(() => resolve()));
    }
  });
});
