/**
 * `check-config` refuses what `serve` would refuse at startup, with the code `serve` uses
 * (issue 9, point 6), without binding or creating anything.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqlitePolicyCache, SCHEMA_VERSION } from '../../../adapters/cache/sqlite.js';
import { checkConfigCommand } from '../../../main/cli/check-config.js';
import { openPersistentBackend } from '../../../adapters/cache/registry.js';
import { BridgeError } from '../../../src/errors.js';
import { openListener } from '../../../src/server/listener.js';
import { captureIo } from './capture.js';
import { RedisServer } from '../../integration/harness/redis.js';
import { PostgresServer, postgresServerProblem } from '../../integration/harness/postgres.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'msb-preflight-'));
  await chmod(dir, 0o755);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

let n = 0;
/** Write a config (memory cache unless the text has its own) and run check-config on it. */
async function check(lines: readonly string[]): Promise<{ status: number; stdout: string; stderr: string; path: string }> {
  n += 1;
  const path = join(dir, `c${n}.yml`);
  const text = lines.some((l) => l.startsWith('cache:')) ? lines : [...lines, 'cache:', '  type: internal'];
  await writeFile(path, `${text.join('\n')}\n`);
  const io = captureIo();
  const status = await checkConfigCommand(['-c', path], io);
  // Run as root (the tests need it), check-config also warns that serve would stay root
  // without `user:`; that warning is tested with the privilege drop, not here.
  const stderr = io
    .stderr()
    .split('\n')
    .filter((l) => !l.includes('[EPRIVILEGES_ROOT] (warning)'))
    .join('\n');
  return { status, stdout: io.stdout(), stderr, path };
}

function listener(address: string): string[] {
  return ['listeners:', '  - protocol: socketmap', `    address: "${address}"`];
}

/** Assert exit 2, nothing on stdout, one problem line with `code` matching `message`. */
function refused(r: { status: number; stdout: string; stderr: string; path: string }, code: string, message: RegExp): void {
  assert.equal(r.status, 2, r.stderr + r.stdout);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 2, r.stderr);
  assert.match(lines[0] ?? '', new RegExp(`^mta-sts-bridge: .* \\[${code}\\]$`));
  assert.match(lines[0] ?? '', message);
  assert.equal(lines[1], `${r.path}: serve would not start (1 problem)`);
}

async function serveCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof BridgeError, String(err));
    return err.code;
  }
  return 'none';
}

describe('check-config: listeners serve would refuse', () => {
  it('accepts local TCP addresses (by name too) and leaves their ports free', async () => {
    const servers = (): number => process.getActiveResourcesInfo().filter((k) => k === 'TCPServerWrap').length;
    const before = servers();
    const r = await check(['listeners:', '  - address: "127.0.0.1:18461"', '  - address: "localhost:18462"']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^OK: /);
    // No listening socket left open by the probe, and the configured ports were never taken.
    // A closed handle leaves libuv's list one loop turn after its close callback.
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(servers(), before, 'no TCP server left open');
    const { createServer } = await import('node:net');
    for (const [host, port] of [
      ['127.0.0.1', 18461],
      ['localhost', 18462],
    ] as const) {
      const s = createServer();
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(port, host, () => resolve());
      });
      await new Promise((resolve) => s.close(resolve));
    }
  });

  it('refuses an address of another machine with ELISTEN_ADDRESS, as serve does', async () => {
    const r = await check(listener('192.0.2.1:8461'));
    refused(r, 'ELISTEN_ADDRESS', /listeners\[0\]: cannot bind 192\.0\.2\.1:8461: .*EADDRNOTAVAIL/);
    const code = await serveCode(
      openListener({ protocol: 'socketmap', address: { kind: 'tcp', host: '192.0.2.1', port: 8461 }, reusePort: false, origin: 'x' }, (s) =>
        s.destroy(),
      ),
    );
    assert.equal(code, 'ELISTEN_ADDRESS');
  });

  it('refuses a unix socket in a directory that does not exist, saying so (not EACCES)', async () => {
    const r = await check(listener(`unix:${join(dir, 'no-such-dir', 'm.sock')}`));
    refused(r, 'ELISTEN_FAILED', /the directory .*no-such-dir of .*m\.sock does not exist/);
    assert.doesNotMatch(r.stderr, /EACCES/);
  });

  it('refuses a unix socket in a directory others may write to (ELISTEN_UNSAFE_DIRECTORY) and creates nothing', async () => {
    const open = join(dir, 'open');
    await mkdir(open);
    await chmod(open, 0o777);
    const r = await check([...listener(`unix:${join(open, 'm.sock')}`), '    mode: 0660']);
    refused(r, 'ELISTEN_UNSAFE_DIRECTORY', /open can be written by every user/);
    assert.deepEqual(await readdir(open), []);
  });

  it('refuses a unix socket path taken by a file that is not a socket (ELISTEN_ADDRESS), leaving it alone', async () => {
    const file = join(dir, 'regular');
    await writeFile(file, 'keep');
    const r = await check(listener(`unix:${file}`));
    refused(r, 'ELISTEN_ADDRESS', /exists and is not a socket/);
  });

  it('refuses an owner that does not exist (ELISTEN_FAILED)', async () => {
    const r = await check([...listener(`unix:${join(dir, 'owned.sock')}`), '    owner: no-such-user-msb']);
    refused(r, 'ELISTEN_FAILED', /no user named "no-such-user-msb"/);
  });

  it('accepts a unix socket in a private directory', async () => {
    const ok = join(dir, 'ok');
    await mkdir(ok, { mode: 0o750 });
    const r = await check([...listener(`unix:${join(ok, 'm.sock')}`), '    mode: 0660']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(await readdir(ok), [], 'nothing created');
  });
});

describe('check-config: the sqlite cache serve would refuse', () => {
  const sqlite = (stateDir: string, filename?: string): string[] => [
    `state_directory: ${stateDir}`,
    'cache:',
    '  type: sqlite',
    ...(filename !== undefined ? ['  options:', `    filename: ${filename}`] : []),
  ];

  it('accepts a state directory still to be created, and creates nothing', async () => {
    const r = await check(sqlite(join(dir, 'new-state', 'deeper')));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /cache: sqlite .*new-state\/deeper\/policy-cache\.sqlite \(from state_directory\)/);
    assert.ok(!(await readdir(dir)).includes('new-state'));
  });

  it('refuses a state directory below a regular file (ECACHE_OPEN)', async () => {
    const file = join(dir, 'a-file');
    await writeFile(file, '');
    const r = await check(sqlite(join(file, 'state')));
    refused(r, 'ECACHE_OPEN', /cannot open sqlite cache: .*a-file is not a directory/);
  });

  it("refuses the Python tool's SQLite file, saying how to move on, with serve's code", async () => {
    const state = join(dir, 'py-state');
    await mkdir(state);
    const path = join(state, 'py.db');
    const db = new Database(path);
    db.exec('create table sts_policy_cache (domain text, ts integer, pol_id text, pol_body text)');
    db.close();
    const r = await check(sqlite(state, 'py.db'));
    refused(r, 'ECACHE_OPEN', /py\.db is the Python postfix-mta-sts-resolver's cache .*set cache\.options\.filename to a new file/);
    const code = await serveCode(openPersistentBackend({ type: 'sqlite', filename: path, timeoutSec: 1, cacheSize: 10 }));
    assert.equal(code, 'ECACHE_OPEN');
  });

  it('refuses a file that is not a database with on_corrupt: refuse (the default moves it aside at start), and one from a newer version', async () => {
    const state = join(dir, 'bad-state');
    await mkdir(state);
    const junk = 'this is not sqlite, just text that is long enough to be read as a header';
    await writeFile(join(state, 'junk.sqlite'), junk);
    refused(
      await check([...sqlite(state, 'junk.sqlite'), '    on_corrupt: refuse']),
      'ECACHE_OPEN',
      /junk\.sqlite: file is not a database \(cache\.options\.on_corrupt: refuse\)/,
    );
    const moving = await check(sqlite(state, 'junk.sqlite'));
    assert.equal(moving.status, 0, moving.stderr);
    assert.deepEqual(await readdir(state), ['junk.sqlite'], 'check-config moves nothing');
    assert.equal(await readFile(join(state, 'junk.sqlite'), 'utf8'), junk);
    const db = new Database(join(state, 'newer.sqlite'));
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    refused(await check(sqlite(state, 'newer.sqlite')), 'ECACHE_OPEN', /written by a newer mta-sts-bridge/);
  });

  it('accepts our own file, also while a daemon has it open (WAL), without changing it', async () => {
    const state = join(dir, 'our-state');
    const cache = new SqlitePolicyCache({ path: join(state, 'policy-cache.sqlite'), busyTimeoutMs: 1000, purgeIntervalMs: 0 });
    await cache.open();
    try {
      const before = (await readdir(state)).sort();
      const r = await check(sqlite(state));
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual((await readdir(state)).sort(), before);
    } finally {
      await cache.close();
    }
    // Closed (no -wal/-shm left by the daemon): the read-only look creates none and changes nothing.
    const listing = (await readdir(state)).sort();
    const file = await stat(join(state, 'policy-cache.sqlite'));
    const closed = await check(sqlite(state));
    assert.equal(closed.status, 0, closed.stderr);
    assert.deepEqual((await readdir(state)).sort(), listing);
    const after = await stat(join(state, 'policy-cache.sqlite'));
    assert.equal(after.mtimeMs, file.mtimeMs);
    assert.equal(after.size, file.size);
  });
});

describe('check-config: a unix socket somebody listens on', () => {
  it("is not judged (systemd's socket with activation, or the running daemon's)", async () => {
    const { createServer } = await import('node:net');
    const open = join(dir, 'activated');
    await mkdir(open);
    await chmod(open, 0o777);
    const path = join(open, 'm.sock');
    const holder = createServer((s) => s.destroy());
    await new Promise<void>((resolve) => holder.listen(path, resolve));
    try {
      const r = await check(listener(`unix:${path}`));
      assert.equal(r.status, 0, r.stderr);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
    // Once nobody listens, the same place is refused.
    refused(await check(listener(`unix:${path}`)), 'ELISTEN_UNSAFE_DIRECTORY', /activated can be written by every user/);
  });
});

describe('check-config: a Redis or PostgreSQL cache serve could not open', () => {
  it('refuses an unreachable server with ECACHE_OPEN naming it, the password hidden', async () => {
    const redis = await check(['cache:', '  type: redis', '  options:', '    url: "redis://:s3cret@127.0.0.1:1/0"']);
    refused(redis, 'ECACHE_OPEN', /cannot open redis cache at redis:\/\/:\*\*\*@127\.0\.0\.1:1\/0: .*ECONNREFUSED/);
    assert.doesNotMatch(redis.stderr, /s3cret/);
    const pg = await check(['cache:', '  type: postgres', '  options:', '    dsn: "postgresql://u:s3cret@127.0.0.1:1/db"']);
    refused(pg, 'ECACHE_OPEN', /cannot open postgres cache at postgresql:\/\/u:\*\*\*@127\.0\.0\.1:1\/db: .*ECONNREFUSED/);
    assert.doesNotMatch(pg.stderr, /s3cret/);
  });

  it('accepts a reachable PostgreSQL without creating its tables, and refuses a foreign table of that name (a real server)', async () => {
    const problem = postgresServerProblem();
    if (problem !== undefined) throw new Error(problem);
    const server = await PostgresServer.start();
    try {
      await server.createDatabase('fresh');
      const tables = async (): Promise<unknown[]> =>
        (await server.sql('fresh', "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")).map(
          (r) => r['tablename'],
        );
      const config = ['cache:', '  type: postgres', '  options:', `    dsn: "${server.dsn('fresh')}"`];
      const r = await check(config);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^OK: /);
      assert.deepEqual(await tables(), [], 'check-config created no table');
      await server.sql('fresh', 'CREATE TABLE mta_sts_policy (name text)');
      refused(await check(config), 'ECACHE_OPEN', /table mta_sts_policy exists but is not an mta-sts-bridge cache/);
      assert.deepEqual(await tables(), ['mta_sts_policy'], 'nothing added next to the foreign table');
    } finally {
      await server.destroy();
    }
  });

  it('accepts a reachable Redis (a real redis-server)', async () => {
    const server = await RedisServer.start();
    try {
      const r = await check(['cache:', '  type: redis', '  options:', `    url: "${server.url}"`]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^OK: /);
    } finally {
      await server.stop();
    }
  });
});
