/**
 * Production operations through the real thing: a daemon child process in the fake internet's
 * namespace, real signals (SIGHUP reload under continuous lookup load), a datagram socket bound
 * by Python as NOTIFY_SOCKET, and a start as root with `user: nobody` checked in /proc.
 */
import { integrationGate, postfixToolsProblem } from './harness/gate.js';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Daemon } from './harness/daemon.js';
import { NetNs, run } from './harness/netns.js';
import { FakeInternet, policyBody, servesPolicy, type Sites } from './harness/world.js';
import { queryOnce, SocketmapClient } from './harness/socketmap-client.js';

const ENFORCE = 'OK secure match=mx1.enforce.test servername=hostname';
const TESTING_STRICT = 'OK secure match=mx.testing.test servername=hostname';

const SITES: Sites = {
  'enforce.test': { txt: ['v=STSv1; id=20260101;'], policyHost: servesPolicy(policyBody('enforce', ['mx1.enforce.test'])) },
  'testing.test': { txt: ['v=STSv1; id=t1'], policyHost: servesPolicy(policyBody('testing', ['mx.testing.test'])) },
};

const gate = integrationGate(postfixToolsProblem);
const skip = gate.skip;

/** Lines printed by the Python datagram receiver: one JSON string per datagram. */
function notifyReceiver(ns: NetNs, address: string): { child: ChildProcess; messages: string[]; raw: string[]; ready: Promise<void> } {
  const script = [
    'import socket, sys, json, os',
    'a = sys.argv[1]',
    's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
    "s.bind('\\0' + a[1:] if a.startswith('@') else a)",
    "print('BOUND', flush=True)",
    'while True:',
    '    d = s.recv(4096)',
    '    print(json.dumps(d.decode()), flush=True)',
  ].join('\n');
  const child = ns.spawn('python3', ['-c', script, address], { stdio: ['ignore', 'pipe', 'pipe'] });
  const messages: string[] = [];
  const raw: string[] = [];
  let bound!: () => void;
  const ready = new Promise<void>((resolve) => (bound = resolve));
  let rest = '';
  child.stdout?.on('data', (d: Buffer) => {
    rest += d.toString();
    const lines = rest.split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      if (line === 'BOUND') bound();
      else if (line !== '') {
        // systemd-notify (the abstract socket's path) adds MAINPID= and a BARRIER=1 datagram.
        const m = JSON.parse(line) as string;
        raw.push(m);
        const own = m
          .split('\n')
          .filter((f) => !f.startsWith('MAINPID='))
          .join('\n');
        if (own !== 'BARRIER=1') messages.push(own);
      }
    }
  });
  return { child, messages, raw, ready };
}

async function until(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('operations: reload, systemd notify, privilege drop', { skip }, () => {
  let ns: NetNs;
  let world: FakeInternet;
  let dir: string;

  before(async () => {
    gate.assertReady();
    dir = mkdtempSync(join(tmpdir(), 'msb-ops-'));
    // The privilege test's daemon runs as nobody and must reach its files below this directory.
    chmodSync(dir, 0o755);
    ns = await NetNs.create();
    world = await FakeInternet.start(ns, dir, SITES);
  });

  after(async () => {
    if (world !== undefined) await world.stop();
    if (ns !== undefined) await ns.destroy();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('SIGHUP under continuous load: no failed lookup, new zone and listener in effect, removed listener closed, invalid config refused', async () => {
    const keep = join(dir, 'keep.sock');
    const gone = join(dir, 'gone.sock');
    const added = join(dir, 'added.sock');
    const configPath = join(dir, 'reload.yml');
    const listener = (path: string): string => `  - protocol: socketmap\n    address: unix:${path}\n    mode: 0666\n`;
    const v1 = `cache_grace: 0\nlisteners:\n${listener(keep)}${listener(gone)}default_zone:\n  timeout: 3\n`;
    const v2 = `cache_grace: 0\nlisteners:\n${listener(keep)}${listener(added)}default_zone:\n  timeout: 3\nzones:\n  strict:\n    strict_testing: true\nlogging:\n  format: json\n`;
    writeFileSync(configPath, v1);
    const daemon = await Daemon.start(ns, dir, '', world.caPath, 2, { configPath });
    const stats = { ok: 0, failed: [] as string[] };
    let loading = true;
    try {
      // Before: no zone "strict" (default zone: testing answers NOTFOUND), `gone` answers.
      assert.equal(await queryOnce({ path: keep }, 'strict', 'testing.test'), 'NOTFOUND ');
      assert.equal(await queryOnce({ path: gone }, 'postfix', 'enforce.test'), ENFORCE);

      // Load: one persistent connection (as Postfix keeps) and one connection per lookup.
      const persistent = await SocketmapClient.connect({ path: keep });
      const persistentLoop = (async () => {
        while (loading) {
          const r = await persistent.query('postfix', 'enforce.test').catch((e: Error) => `error ${e.message}`);
          if (r === ENFORCE) stats.ok += 1;
          else stats.failed.push(`persistent: ${r}`);
        }
      })();
      const freshLoop = (async () => {
        while (loading) {
          const r = await queryOnce({ path: keep }, 'postfix', 'enforce.test').catch((e: Error) => `error ${e.message}`);
          if (r === ENFORCE) stats.ok += 1;
          else stats.failed.push(`fresh: ${r}`);
        }
      })();
      await new Promise((r) => setTimeout(r, 300));

      writeFileSync(configPath, v2);
      assert.equal(daemon.child.kill('SIGHUP'), true);
      await daemon.waitForLogs(/reloaded/, 1);
      const okAtReload = stats.ok;
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(stats.ok > okAtReload, 'lookups go on after the reload');

      // The new zone and the new listener are in effect; the removed listener is closed.
      assert.equal(await queryOnce({ path: added }, 'strict', 'testing.test'), TESTING_STRICT);
      assert.equal(await queryOnce({ path: keep }, 'strict', 'testing.test'), TESTING_STRICT);
      await assert.rejects(queryOnce({ path: gone }, 'postfix', 'enforce.test'), /ENOENT|ECONNREFUSED/);
      assert.equal(existsSync(gone), false, 'the removed listener socket file is gone');
      // logging.format: json applies at once.
      await until('a JSON log line', () => daemon.logs.some((l) => l.startsWith('{')));

      // An invalid file: logged with its problem, the running configuration stays.
      writeFileSync(configPath, `${v2}idle_timeout: -5\n`);
      daemon.child.kill('SIGHUP');
      await daemon.waitForLogs(/reload refused/, 1);
      await daemon.waitForLogs(/configuration problem.*idle_timeout/, 1);
      assert.equal(await queryOnce({ path: added }, 'strict', 'testing.test'), TESTING_STRICT);

      // A changed cache section needs a restart; the rest of the file applies.
      writeFileSync(configPath, `${v2}cache:\n  type: internal\n`);
      daemon.child.kill('SIGHUP');
      await daemon.waitForLogs(/needs a restart.*"path":"cache"/, 1);
      await daemon.waitForLogs(/reloaded/, 2);

      loading = false;
      await Promise.all([persistentLoop, freshLoop]);
      persistent.close();
      assert.deepEqual(stats.failed, [], 'no lookup failed across the reloads');
      assert.ok(stats.ok > 20, `lookups were made under load (${stats.ok})`);
      assert.equal(daemon.child.exitCode, null, 'SIGHUP did not end the daemon');
    } finally {
      loading = false;
      const stopped = await daemon.stop();
      assert.equal(stopped.code, 0, daemon.logs.join('\n'));
    }
  });

  for (const kind of ['path', 'abstract'] as const) {
    it(`notifies READY, WATCHDOG, RELOADING/READY and STOPPING on a ${kind} NOTIFY_SOCKET`, async () => {
      const address = kind === 'path' ? join(dir, `notify-${process.pid}.sock`) : `@msb-notify-${process.pid}`;
      const receiver = notifyReceiver(ns, address);
      await receiver.ready;
      const sock = join(dir, `notified-${kind}.sock`);
      const configPath = join(dir, `notify-${kind}.yml`);
      writeFileSync(configPath, `listeners:\n  - protocol: socketmap\n    address: unix:${sock}\n`);
      const daemon = await Daemon.start(ns, dir, '', world.caPath, 1, {
        configPath,
        env: { NOTIFY_SOCKET: address, WATCHDOG_USEC: '200000' },
      });
      try {
        await until('READY=1', () => receiver.messages.some((m) => m.split('\n').includes('READY=1')));
        // READY comes once the listener answers.
        assert.equal(await queryOnce({ path: sock }, 'postfix', 'enforce.test'), ENFORCE);
        await until('two WATCHDOG=1', () => receiver.messages.filter((m) => m.split('\n')[0] === 'WATCHDOG=1').length >= 2, 5000);

        const before = receiver.messages.length;
        daemon.child.kill('SIGHUP');
        await until('READY after RELOADING', () => receiver.messages.slice(before).some((m) => m.startsWith('READY=1')));
        const reload = receiver.messages.slice(before).filter((m) => m.split('\n')[0] !== 'WATCHDOG=1');
        const reloading = reload[0]?.split('\n') ?? [];
        assert.equal(reloading[0], 'RELOADING=1', reload.join(' | '));
        const usec = /^MONOTONIC_USEC=([0-9]+)$/.exec(reloading[1] ?? '');
        assert.ok(usec !== null, `MONOTONIC_USEC follows RELOADING=1: ${reloading.join(' ')}`);
        // CLOCK_MONOTONIC, like /proc/uptime: within a minute of it.
        const uptimeUsec = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * 1e6;
        assert.ok(Math.abs(Number(usec[1]) - uptimeUsec) < 60e6, `MONOTONIC_USEC ${usec[1]} vs uptime ${uptimeUsec}`);
        assert.match(reload[1] ?? '', /^READY=1/);

        await daemon.stop();
        assert.ok(
          receiver.messages.some((m) => m.split('\n').includes('STOPPING=1')),
          receiver.messages.join(' | '),
        );
        if (kind === 'abstract') assert.ok(receiver.raw.some((m) => m.includes(`MAINPID=${daemon.child.pid}`)));
      } finally {
        await daemon.stop();
        receiver.child.kill('SIGKILL');
      }
    });
  }

  it('started as root with user: nobody: binds as root, then runs as nobody; lookups work; the cache belongs to nobody', async (t) => {
    if (process.getuid?.() !== 0) {
      t.skip('needs root');
      return;
    }
    const nobody = await run('getent', ['passwd', 'nobody']);
    const nogroup = await run('getent', ['group', 'nogroup']);
    assert.equal(nobody.code, 0);
    assert.equal(nogroup.code, 0);
    const uid = Number(nobody.stdout.split(':')[2]);
    const gid = Number(nogroup.stdout.split(':')[2]);
    const sock = join(dir, 'priv.sock');
    const state = join(dir, 'priv-state');
    const configPath = join(dir, 'priv.yml');
    const base = `user: nobody\ngroup: nogroup\nlisteners:\n  - protocol: socketmap\n    address: unix:${sock}\n    mode: 0660\n    owner: nobody\n    group: nogroup\n  - protocol: socketmap\n    address: 127.0.0.1:853\n`;
    writeFileSync(configPath, base);
    chmodSync(configPath, 0o644);
    const daemon = await Daemon.start(ns, dir, '', world.caPath, 2, { configPath, stateDirectory: state });
    try {
      const status = readFileSync(`/proc/${daemon.child.pid}/status`, 'utf8');
      const line = (name: string): string[] =>
        (new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)?.[1] ?? '').trim().split(/\s+/).filter(Boolean);
      assert.deepEqual(line('Uid'), [String(uid), String(uid), String(uid), String(uid)], status);
      assert.deepEqual(line('Gid'), [String(gid), String(gid), String(gid), String(gid)], status);
      assert.ok(!line('Groups').includes('0'), `no root group left: ${line('Groups').join(' ')}`);
      assert.ok(line('Groups').every((g) => g === String(gid) || Number(g) !== 0));

      const st = statSync(sock);
      assert.equal(st.uid, uid);
      assert.equal(st.gid, gid);
      assert.equal(st.mode & 0o777, 0o660);

      assert.equal(await queryOnce({ path: sock }, 'postfix', 'enforce.test'), ENFORCE);
      // Port 853 was bound as root before the drop.
      const tcp = await ns.run('postmap', ['-q', 'enforce.test', 'socketmap:inet:127.0.0.1:853:postfix']);
      assert.equal(tcp.stdout, 'secure match=mx1.enforce.test servername=hostname\n', tcp.stderr);

      const cacheFile = join(state, 'policy-cache.sqlite');
      await until('the cache file', () => existsSync(cacheFile));
      assert.equal(statSync(cacheFile).uid, uid, 'the SQLite cache file belongs to nobody');
      assert.equal(statSync(state).uid, uid, 'the state directory belongs to nobody');
      assert.ok(daemon.grep('privileges dropped').length === 1);

      // After the drop a new port below 1024 needs a restart; the rest of the reload applies.
      writeFileSync(
        configPath,
        `${base}  - protocol: socketmap\n    address: 127.0.0.1:1001\nzones:\n  strict:\n    strict_testing: true\n`,
      );
      daemon.child.kill('SIGHUP');
      await daemon.waitForLogs(/reloaded/, 1);
      assert.equal(daemon.grep('needs a restart').filter((l) => l.includes('127.0.0.1:1001')).length, 1, daemon.logs.join('\n'));
      assert.equal(await queryOnce({ path: sock }, 'strict', 'testing.test'), TESTING_STRICT);

      // A file only root can read: reported as needing a restart, the daemon goes on.
      chmodSync(configPath, 0o600);
      daemon.child.kill('SIGHUP');
      await daemon.waitForLogs(/reload needs a restart: the configuration file is not readable/, 1);
      assert.equal(await queryOnce({ path: sock }, 'postfix', 'enforce.test'), ENFORCE);
    } finally {
      const stopped = await daemon.stop();
      assert.equal(stopped.code, 0, daemon.logs.join('\n'));
    }
  });
});
