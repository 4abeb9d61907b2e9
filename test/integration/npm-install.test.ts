/**
 * A real install: `npm pack` (which builds dist/ and the man pages through `prepare`), then
 * `npm install -g` of the tarball into a temporary prefix, then the installed binary: `-V`,
 * the man pages where npm links them, and `serve` answering a socketmap lookup on a TCP port.
 *
 * The install fetches the dependencies from the npm registry (or npm's cache: --prefer-offline)
 * and compiles the two native addons, better-sqlite3 and unix-dgram, which is most of the time
 * this test takes. `--allow-scripts` lets their install scripts run under npm 12's default.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { freePort } from '../helpers/free-port.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('../../../', import.meta.url).pathname;
const INSTALL_TIMEOUT_MS = 10 * 60_000;

function npm(args: readonly string[], cwd: string): string {
  const r = spawnSync('npm', [...args, '--no-audit', '--no-fund'], { cwd, encoding: 'utf8', timeout: INSTALL_TIMEOUT_MS });
  assert.equal(r.status, 0, `npm ${args.join(' ')}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** One socketmap request as a netstring; resolves with the raw reply once a netstring is complete. */
function socketmapLookup(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let got = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no complete reply within 15 s (got ${JSON.stringify(got)})`));
    }, 15_000);
    sock.on('connect', () => sock.write(`${Buffer.byteLength(request)}:${request},`));
    sock.on('data', (d) => {
      got += d.toString('utf8');
      const m = /^(\d+):/.exec(got);
      if (m !== null && got.length >= m[0].length + Number(m[1]) + 1) {
        clearTimeout(timer);
        sock.end();
        resolve(got);
      }
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

describe('npm pack + npm install -g + the installed mta-sts-bridge', { timeout: 2 * INSTALL_TIMEOUT_MS }, () => {
  let dir = '';
  let bin = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mta-sts-install-'));
    npm(['pack', '--pack-destination', dir], ROOT);
    const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
    assert.ok(tarball !== undefined);
    npm(
      [
        'install',
        '-g',
        '--prefix',
        join(dir, 'prefix'),
        '--prefer-offline',
        '--allow-scripts=better-sqlite3,unix-dgram',
        join(dir, tarball),
      ],
      dir,
    );
    bin = join(dir, 'prefix', 'bin', 'mta-sts-bridge');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the tarball installs dist/ (nothing to compile but the native addons) and the man pages', () => {
    const pkgDir = join(dir, 'prefix', 'lib', 'node_modules', 'mta-sts-bridge');
    assert.ok(existsSync(join(pkgDir, 'dist', 'main', 'cli', 'main.js')));
    assert.ok(!existsSync(join(pkgDir, 'src')), 'TypeScript sources are not shipped');
    assert.ok(!existsSync(join(pkgDir, 'node_modules', 'typescript')), 'no dev dependency installed');
    assert.ok(existsSync(join(dir, 'prefix', 'share', 'man', 'man8', 'mta-sts-bridge.8')));
    assert.ok(existsSync(join(dir, 'prefix', 'share', 'man', 'man5', 'mta-sts-bridge.yml.5')));
  });

  it('mta-sts-bridge --version and -V print the version', () => {
    for (const flag of ['--version', '-V']) {
      const r = spawnSync(bin, [flag], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^mta-sts-bridge \d+\.\d+\.\d+\n$/);
    }
  });

  it('the installed serve answers a socketmap lookup and stops on SIGTERM', async () => {
    const port = await freePort();
    const config = join(dir, 'mta-sts-bridge.yml');
    writeFileSync(
      config,
      [`host: 127.0.0.1`, `port: ${port}`, 'reuse_port: false', 'cache: {type: internal}', 'default_zone: {timeout: 2}', ''].join('\n'),
    );
    const child = spawn(bin, ['serve', '-c', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    try {
      // Wait until the port answers.
      const deadline = Date.now() + 20_000;
      for (;;) {
        const up = await new Promise<boolean>((resolve) => {
          const s = connect(port, '127.0.0.1');
          s.on('connect', () => (s.destroy(), resolve(true)));
          s.on('error', () => resolve(false));
        });
        if (up) break;
        assert.ok(Date.now() < deadline && child.exitCode === null, `serve did not listen:\n${log}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      // An IP literal is refused before any network access: a PERM answer, at once.
      const reply = await socketmapLookup(port, 'postfix 192.0.2.1');
      assert.match(reply, /^\d+:(NOTFOUND|PERM|TEMP|OK)\b[^,]*,$/, reply);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    assert.equal(child.exitCode, 0, log);
  });

  it('npm ci --omit=dev works in a checkout whose dist/ is built (prepare skips the build without TypeScript)', () => {
    // The checkout: the packed files (bin/, dist/, scripts/prepare.mjs, package.json) and the lockfile.
    const checkout = join(dir, 'checkout');
    mkdirSync(checkout);
    const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz')) as string;
    const untar = spawnSync('tar', ['xzf', join(dir, tarball), '-C', checkout, '--strip-components=1'], { encoding: 'utf8' });
    assert.equal(untar.status, 0, untar.stderr);
    copyFileSync(join(ROOT, 'package-lock.json'), join(checkout, 'package-lock.json'));
    const r = spawnSync('npm', ['ci', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund'], {
      cwd: checkout,
      encoding: 'utf8',
      timeout: INSTALL_TIMEOUT_MS,
    });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /keeping the built dist\//);
    assert.ok(!existsSync(join(checkout, 'node_modules', 'typescript')));
    const v = spawnSync(process.execPath, [join(checkout, 'bin', 'mta-sts-bridge.js'), '--version'], { encoding: 'utf8' });
    assert.equal(v.status, 0, v.stderr);
    assert.match(v.stdout, /^mta-sts-bridge \d+\.\d+\.\d+\n$/);
  });
});
