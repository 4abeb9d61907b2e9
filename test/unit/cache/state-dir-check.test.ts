/**
 * The state directory check of `check-config`, for this process and for another account (the
 * user the daemon will run as after a privilege drop).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  allowedByMode,
  checkSqliteCache,
  checkStateDirectory,
  currentAccount,
  type RunAccount,
} from '../../../src/cache/state-dir-check.js';
import { preflight } from '../../../main/preflight.js';
import { inspectSqliteCacheFile } from '../../../adapters/cache/registry.js';
import { defaultConfig } from '../../../src/config/load.js';

const NOBODY: RunAccount = { uid: 65534, gid: 65534, groups: [] };
const root = process.getuid?.() === 0;

describe('allowedByMode', () => {
  const st = (mode: number, uid: number, gid: number) => ({ mode: 0o040000 | mode, uid, gid });
  const cases: ReadonlyArray<[string, ReturnType<typeof st>, RunAccount, number, boolean]> = [
    ['owner with rwx', st(0o700, 10, 10), { uid: 10, gid: 99, groups: [] }, 3, true],
    ['owner without w', st(0o500, 10, 10), { uid: 10, gid: 99, groups: [] }, 3, false],
    ['group member by primary group', st(0o070, 1, 20), { uid: 10, gid: 20, groups: [] }, 3, true],
    ['group member by supplementary group', st(0o070, 1, 20), { uid: 10, gid: 99, groups: [20] }, 3, true],
    ['owner bits decide for the owner, even when others may', st(0o507, 10, 10), { uid: 10, gid: 99, groups: [] }, 3, false],
    ['others', st(0o755, 1, 1), { uid: 10, gid: 99, groups: [] }, 1, true],
    ['others without w', st(0o755, 1, 1), { uid: 10, gid: 99, groups: [] }, 3, false],
    ['root writes anywhere', st(0o000, 1, 1), { uid: 0, gid: 0, groups: [] }, 3, true],
  ];
  for (const [name, s, account, want, expected] of cases) {
    it(name, () => assert.equal(allowedByMode(s, account, want), expected));
  }
});

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'msb-statecheck-'));
  await chmod(dir, 0o755);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('checkStateDirectory', () => {
  it('for this process: an existing writable directory and one still to be created pass', async () => {
    assert.equal(await checkStateDirectory(dir), undefined);
    assert.equal(await checkStateDirectory(join(dir, 'a', 'b', 'c'), currentAccount()), undefined);
  });

  it('a path below a regular file is not a directory', async () => {
    await writeFile(join(dir, 'plain'), '');
    assert.match((await checkStateDirectory(join(dir, 'plain', 'state'))) ?? '', /plain is not a directory/);
  });

  it(
    'for another account: a directory it cannot create, enter or write is refused',
    { skip: root ? false : 'files owned by another user need root' },
    async () => {
      // /nonexistent/.local/state/... for a system user whose home does not exist: the nearest
      // existing directory (here the root-owned 0755 test directory) is not writable by nobody.
      assert.match(
        (await checkStateDirectory(join(dir, 'nonexistent', '.local', 'state'), NOBODY)) ?? '',
        /does not exist and cannot be created by uid 65534: .*msb-statecheck-\w+ is not writable/,
      );
      const closed = join(dir, 'closed');
      await mkdir(closed, { mode: 0o700 });
      assert.match((await checkStateDirectory(join(closed, 'state'), NOBODY)) ?? '', /closed cannot be entered by uid 65534/);
      const theirs = join(dir, 'theirs');
      await mkdir(theirs, { mode: 0o700 });
      await chown(theirs, NOBODY.uid, NOBODY.gid);
      assert.equal(await checkStateDirectory(theirs, NOBODY), undefined);
      assert.equal(await checkStateDirectory(join(theirs, 'sub'), NOBODY), undefined);
      const readOnly = join(dir, 'read-only');
      await mkdir(readOnly, { mode: 0o755 });
      await chown(readOnly, NOBODY.uid, NOBODY.gid);
      await chmod(readOnly, 0o555);
      assert.match((await checkStateDirectory(readOnly, NOBODY)) ?? '', /the state directory .*read-only is not writable by uid 65534/);
    },
  );

  it(
    'checkSqliteCache and preflight take the account: ECACHE_OPEN for nobody, fine for this process',
    { skip: root ? false : 'needs root' },
    async () => {
      const config = { type: 'sqlite' as const, filename: join(dir, 'nobody-cannot', 'cache.sqlite'), timeoutSec: 1, cacheSize: 10 };
      const err = await checkSqliteCache(config, inspectSqliteCacheFile, NOBODY);
      assert.equal(err?.code, 'ECACHE_OPEN');
      assert.equal(await checkSqliteCache(config, inspectSqliteCacheFile), undefined);
      const full = { ...defaultConfig(), listeners: [], cache: config };
      assert.deepEqual(
        (await preflight(full, { account: NOBODY })).map((p) => p.code),
        ['ECACHE_OPEN'],
      );
      assert.deepEqual(await preflight(full), []);
    },
  );

  it('no state directory at all (no HOME, nothing configured): ECACHE_OPEN saying how to set one', async () => {
    const err = await checkSqliteCache(
      { type: 'sqlite', filename: 'policy-cache.sqlite', timeoutSec: 1, cacheSize: 10 },
      inspectSqliteCacheFile,
      currentAccount(),
      { env: {}, homeDir: '' },
    );
    assert.equal(err?.code, 'ECACHE_OPEN');
    assert.match(err?.message ?? '', /no state directory: set STATE_DIRECTORY/);
  });
});
