/**
 * Issue 13, finding 1: the root daemon must never give another file its unix socket's mode and
 * owner. A racer running as the socket's owner (`nobody` here, `postfix` in the documented
 * setup), who may write to the socket's directory, polls that directory and renames a prepared
 * symlink to a victim file over the socket path the moment it appears; it also replaces any
 * private directory of the daemon by a symlink to a directory of its own. The real daemon is
 * started and stopped again and again; the victim file must keep its mode, owner and content.
 *
 * Against the old listener (bind, then chmod(path) and chown(path)) this test fails: the racer
 * wins within a few starts and the victim becomes 0666 and owned by nobody.
 *
 * Needs root (the daemon changes the socket's owner, the racer runs as nobody).
 */
import { integrationGate } from './harness/gate.js';
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, stopChild } from './harness/world.js';

const NOBODY = 65534;
/** Daemon starts; the old code lost on the first or second one in every trial run. */
const STARTS = 12;

const gate = integrationGate((): string | undefined =>
  process.getuid?.() !== 0 ? 'needs root (the daemon sets the socket owner; the racer runs as nobody)' : undefined,
);

/** The racer: busy-polls lstat and swaps in symlinks, as the finding describes. CommonJS, no deps. */
const RACER = String.raw`
const fs = require('node:fs');
const path = require('node:path');
const [sock, victim] = process.argv.slice(2);
const dir = path.dirname(sock);
const evil = sock + '.evil';
const trap = path.join(dir, 'trap');
fs.mkdirSync(trap, { recursive: true });
try { fs.symlinkSync(victim, path.join(trap, 's')); } catch {}
const prepare = () => { try { fs.unlinkSync(evil); } catch {} fs.symlinkSync(victim, evil); };
prepare();
let swaps = 0, dirSwaps = 0, n = 0;
const report = () => { try { fs.writeFileSync(path.join(dir, 'racer.json'), JSON.stringify({ swaps, dirSwaps })); } catch {} };
process.on('SIGTERM', () => { report(); process.exit(0); });
for (;;) {
  n++;
  let st;
  try { st = fs.lstatSync(sock); } catch { st = undefined; }
  if (st !== undefined && st.isSocket()) {
    try { fs.renameSync(evil, sock); swaps++; prepare(); } catch {}
  }
  if (n % 16 === 0) {
    let names = [];
    try { names = fs.readdirSync(dir); } catch {}
    for (const name of names) {
      if (!name.startsWith('.mta-sts-bridge-')) continue;
      const p = path.join(dir, name);
      try {
        if (!fs.lstatSync(p).isDirectory()) continue;
        fs.renameSync(p, path.join(dir, 'stolen-' + dirSwaps));
        fs.symlinkSync(trap, p);
        dirSwaps++;
      } catch {}
    }
  }
  if (n % 4096 === 0) report();
}
`;

describe('unix socket creation against a symlink racer', { skip: gate.skip }, () => {
  let base = '';
  let spool = '';
  let victim = '';
  let sock = '';
  let configPath = '';
  let racer: ChildProcess | undefined;

  before(() => {
    gate.assertReady();
    base = mkdtempSync(join(tmpdir(), 'msb-race-'));
    chmodSync(base, 0o755);
    // Like /var/spool/postfix/private: a directory owned by the socket's owner.
    spool = join(base, 'spool');
    mkdirSync(spool, { mode: 0o755 });
    chownSync(spool, NOBODY, NOBODY);
    victim = join(base, 'victim');
    writeFileSync(victim, 'secret\n', { mode: 0o600 });
    sock = join(spool, 'bridge.sock');
    configPath = join(base, 'config.yml');
    writeFileSync(
      configPath,
      [
        'listeners:',
        '  - protocol: socketmap',
        `    address: unix:${sock}`,
        '    mode: 0666',
        `    owner: "${NOBODY}"`,
        `    group: "${NOBODY}"`,
        'cache:',
        '  type: internal',
        '',
      ].join('\n'),
    );
    const racerPath = join(base, 'racer.cjs');
    writeFileSync(racerPath, RACER, { mode: 0o644 });
    racer = spawn(process.execPath, [racerPath, sock, victim], { uid: NOBODY, gid: NOBODY, stdio: 'ignore', cwd: '/' });
  });

  after(async () => {
    if (racer !== undefined) await stopChild(racer, 2000);
    if (base !== '') rmSync(base, { recursive: true, force: true });
  });

  it(`leaves the victim file untouched over ${STARTS} daemon starts`, { timeout: 240_000 }, async (t) => {
    // Let the racer get going (its first lstat calls).
    await new Promise((r) => setTimeout(r, 500));
    let listened = 0;
    const failures: string[] = [];
    for (let i = 0; i < STARTS; i += 1) {
      const out = await runDaemonOnce(configPath);
      if (out.listened) listened += 1;
      else failures.push(out.log);
      const v = statSync(victim);
      assert.equal(v.mode & 0o7777, 0o600, `start ${i + 1}: the victim's mode changed to ${(v.mode & 0o7777).toString(8)}\n${out.log}`);
      assert.equal(v.uid, 0, `start ${i + 1}: the victim's owner changed to ${v.uid}\n${out.log}`);
      assert.equal(v.gid, 0, `start ${i + 1}: the victim's group changed to ${v.gid}`);
      assert.equal(readFileSync(victim, 'utf8'), 'secret\n');
      // The racer leaves its symlink at the socket path: clear it for the next start.
      try {
        lstatSync(sock);
        unlinkSync(sock);
      } catch {
        // nothing there
      }
    }
    if (racer !== undefined) await stopChild(racer, 2000);
    racer = undefined;
    const stats = JSON.parse(readFileSync(join(spool, 'racer.json'), 'utf8')) as { swaps: number; dirSwaps: number };
    t.diagnostic(`racer: ${JSON.stringify(stats)}; ${listened} of ${STARTS} starts listened`);
    // The racer was really in the game: it swapped sockets for symlinks (after they were in place).
    assert.ok(stats.swaps > 0, `the racer never saw a socket: ${JSON.stringify(stats)}`);
    // The daemon is not simply refusing every start: some start listened despite the racer.
    // Any start may fail when the racer replaced the private directory before the daemon opened
    // it (a refusal, never a touched victim); how many do depends on how the scheduler shares
    // the cores with the racer's loop (4 of 12 listened on a loaded 2-core machine, most of them
    // on a quiet one), so the count is reported and not held to a share.
    assert.ok(listened >= 1, `no start of ${STARTS} listened:\n${failures.join('\n---\n')}`);
    for (const f of failures) assert.match(f, /ELISTEN_UNSAFE_DIRECTORY|ELISTEN_IN_USE/, f);
  });
});

/** Start `serve`, wait for `listening` (or the exit), stop it; the log. */
async function runDaemonOnce(configPath: string): Promise<{ listened: boolean; log: string }> {
  const child = spawn(process.execPath, [join(repoRoot, 'bin/mta-sts-bridge.js'), 'serve', '-c', configPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const keep = (d: Buffer): void => {
    log += d.toString('utf8');
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const listened = await new Promise<boolean>((resolve) => {
    const deadline = Date.now() + 20_000;
    const check = (): void => {
      if (/listening/.test(log)) return resolve(true);
      if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) return resolve(false);
      setTimeout(check, 10);
    };
    check();
  });
  await stopChild(child, 5000);
  return { listened, log };
}
