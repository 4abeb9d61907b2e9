import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ListenerConfig } from '../../../src/config/types.js';
import { BridgeError } from '../../../src/errors.js';
import { matchInheritedFds, readListenFds, unsetListenEnv, type InheritedFd } from '../../../src/server/socket-activation.js';

const repoRoot = resolve(import.meta.dirname, '../../../..');

describe('readListenFds', () => {
  const pid = 4242;
  const table: ReadonlyArray<[string, Record<string, string>, ReturnType<typeof readListenFds>]> = [
    ['nothing set', {}, { kind: 'none' }],
    ["another process's variables", { LISTEN_PID: '1', LISTEN_FDS: '1' }, { kind: 'none' }],
    ['LISTEN_FDS=0', { LISTEN_PID: '4242', LISTEN_FDS: '0' }, { kind: 'none' }],
    ['one fd, no names', { LISTEN_PID: '4242', LISTEN_FDS: '1' }, { kind: 'fds', fds: [{ fd: 3, name: undefined }] }],
    [
      'two named fds',
      { LISTEN_PID: '4242', LISTEN_FDS: '2', LISTEN_FDNAMES: 'policy:sm' },
      {
        kind: 'fds',
        fds: [
          { fd: 3, name: 'policy' },
          { fd: 4, name: 'sm' },
        ],
      },
    ],
    [
      'names whose count does not match are ignored',
      { LISTEN_PID: '4242', LISTEN_FDS: '2', LISTEN_FDNAMES: 'policy' },
      {
        kind: 'fds',
        fds: [
          { fd: 3, name: undefined },
          { fd: 4, name: undefined },
        ],
      },
    ],
    [
      'an empty name is no name',
      { LISTEN_PID: '4242', LISTEN_FDS: '1', LISTEN_FDNAMES: '' },
      { kind: 'fds', fds: [{ fd: 3, name: undefined }] },
    ],
    ['garbage count', { LISTEN_PID: '4242', LISTEN_FDS: 'two' }, { kind: 'invalid', message: 'LISTEN_FDS="two" is not a number' }],
    ['absurd count', { LISTEN_PID: '4242', LISTEN_FDS: '5000' }, { kind: 'invalid', message: 'LISTEN_FDS=5000 is more than 1024' }],
  ];
  for (const [name, env, expected] of table) {
    it(name, () => assert.deepEqual(readListenFds(env, pid), expected));
  }
  it('unsetListenEnv removes the three variables only', () => {
    const env: Record<string, string | undefined> = { LISTEN_PID: '1', LISTEN_FDS: '1', LISTEN_FDNAMES: 'x', PATH: '/bin' };
    unsetListenEnv(env);
    assert.deepEqual(env, { PATH: '/bin' });
  });
});

describe('matchInheritedFds', () => {
  const l = (protocol: ListenerConfig['protocol'], name?: string): ListenerConfig => ({
    protocol,
    address: { kind: 'tcp', host: '127.0.0.1', port: 1 },
    reusePort: false,
    origin: `${protocol}${name ?? ''}`,
    ...(name !== undefined ? { name } : {}),
  });
  const fd = (n: number, name?: string): InheritedFd => ({ fd: n, name });

  it('matches by listener name first, then by protocol, in configuration order', () => {
    const listeners = [l('socketmap'), l('policy'), l('socketmap', 'second'), l('socketmap')];
    assert.deepEqual(matchInheritedFds(listeners, [fd(3, 'policy'), fd(4, 'second'), fd(5, 'socketmap')]), [5, 3, 4, undefined]);
  });

  it('a named listener is matched by its name only', () => {
    assert.throws(
      () => matchInheritedFds([l('policy', 'p1'), l('socketmap')], [fd(3, 'policy'), fd(4, 'socketmap')]),
      (err: unknown) => err instanceof BridgeError && err.code === 'ELISTEN_ACTIVATION' && err.message.includes('fd 3 (policy)'),
    );
  });

  it('pairs a single unnamed fd with the single unnamed listener', () => {
    assert.deepEqual(matchInheritedFds([l('socketmap')], [fd(3, 'mta-sts-bridge.socket')]), [3]);
    assert.deepEqual(matchInheritedFds([l('socketmap', 'x'), l('policy')], [fd(3, 'x'), fd(4)]), [3, 4]);
  });

  it('refuses an fd it cannot place rather than leave it unserved', () => {
    assert.throws(
      () => matchInheritedFds([l('socketmap'), l('policy')], [fd(3, 'mta-sts-bridge.socket')]),
      (err: unknown) => err instanceof BridgeError && err.code === 'ELISTEN_ACTIVATION' && /FileDescriptorName/.test(err.message),
    );
  });
});

/** Collect a child's stderr until `pattern` shows up `count` times. */
function waitForLines(child: ReturnType<typeof spawn>, pattern: RegExp, count: number, timeoutMs = 20_000): Promise<string[]> {
  return new Promise((resolveLines, reject) => {
    const found: string[] = [];
    let all = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}; stderr:\n${all}`)), timeoutMs);
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      all += d;
      for (const line of d.split('\n')) if (pattern.test(line)) found.push(line);
      if (found.length >= count) {
        clearTimeout(timer);
        resolveLines(found);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`daemon exited (${code}) early; stderr:\n${all}`));
    });
  });
}

function exchange(port: number, request: string): Promise<string> {
  return new Promise((resolveReply, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      data += d;
      if (data.endsWith('\n\n') || data.endsWith(',')) {
        socket.end();
        resolveReply(data);
      }
    });
    socket.on('error', reject);
    socket.write(request);
  });
}

async function listening(): Promise<{ server: net.Server; port: number; fd: number }> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
  assert.ok(Number.isInteger(fd) && fd > 2);
  return { server, port, fd };
}

describe('socket activation of the real daemon', () => {
  it('adopts inherited listening sockets instead of binding, matched by protocol and by name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'msb-sd-'));
    const policy = await listening();
    const socketmap = await listening();
    // The configured addresses cannot be bound: only the adopted sockets can make this work.
    const config = [
      'listeners:',
      '  - protocol: policy',
      `    address: unix:${join(dir, 'missing-dir', 'policy.sock')}`,
      '  - protocol: socketmap',
      '    name: sm-tcp',
      `    address: unix:${join(dir, 'missing-dir', 'socketmap.sock')}`,
      '',
    ].join('\n');
    writeFileSync(join(dir, 'c.yml'), config);
    // LISTEN_PID must be the daemon's own pid: the shell sets it to its pid, then execs node.
    const child = spawn(
      'sh',
      ['-c', 'LISTEN_PID=$$ exec "$0" "$@"', process.execPath, join(repoRoot, 'bin/mta-sts-bridge.js'), 'serve', '-c', join(dir, 'c.yml')],
      {
        stdio: ['ignore', 'pipe', 'pipe', policy.fd, socketmap.fd],
        // A private state directory: the default sqlite cache must not land in the user's home.
        env: { ...process.env, LISTEN_FDS: '2', LISTEN_FDNAMES: 'policy:sm-tcp', STATE_DIRECTORY: dir },
      },
    );
    try {
      // The parent stops accepting: only the child serves the sockets now.
      policy.server.close();
      socketmap.server.close();
      const lines = await waitForLines(child, /listening/, 2);
      assert.ok(
        lines.some((line) => line.includes(`127.0.0.1:${policy.port}`) && line.includes('systemd fd 3')),
        lines.join('\n'),
      );
      assert.ok(
        lines.some((line) => line.includes(`127.0.0.1:${socketmap.port}`) && line.includes('systemd fd 4')),
        lines.join('\n'),
      );
      assert.equal(await exchange(policy.port, 'request=smtpd_access_policy\nprotocol_state=CONNECT\n\n'), 'action=DUNNO\n\n');
      // An IP-literal next hop needs no lookup: a clean NOTFOUND proves the socketmap adapter answers.
      assert.equal(await exchange(socketmap.port, '19:postfix [192.0.2.1],'), '9:NOTFOUND ,');
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('unix socket owner and group', () => {
  it('applies owner and group (names through getent, or numeric ids) after binding', async () => {
    const { openListener } = await import('../../../src/server/listener.js');
    const { statSync } = await import('node:fs');
    const dir = mkdtempSync(join(tmpdir(), 'msb-own-'));
    const root = process.getuid?.() === 0;
    // As root: a real change of owner. Otherwise: our own ids, which chown(2) allows.
    const owner = root ? 'nobody' : String(process.getuid?.() ?? 0);
    const group = root ? String(65534) : String(process.getgid?.() ?? 0);
    const path = join(dir, 's.sock');
    const l = await openListener(
      { protocol: 'policy', address: { kind: 'unix', path }, reusePort: false, origin: 'listeners[0]', mode: 0o660, owner, group },
      (s) => s.destroy(),
    );
    try {
      const st = statSync(path);
      assert.equal(st.mode & 0o777, 0o660);
      assert.equal(st.gid, Number(group));
      if (root) assert.notEqual(st.uid, 0, 'owned by nobody now');
      else assert.equal(st.uid, Number(owner));
    } finally {
      await l.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails the start with ELISTEN_FAILED for an unknown user, leaving nothing behind', async () => {
    const { openListener } = await import('../../../src/server/listener.js');
    const { existsSync } = await import('node:fs');
    const dir = mkdtempSync(join(tmpdir(), 'msb-own-'));
    const path = join(dir, 's.sock');
    try {
      await assert.rejects(
        openListener(
          { protocol: 'policy', address: { kind: 'unix', path }, reusePort: false, origin: 'listeners[0]', owner: 'no-such-user-msb' },
          (s) => s.destroy(),
        ),
        (err: unknown) =>
          err instanceof BridgeError && err.code === 'ELISTEN_FAILED' && err.message.includes('no user named "no-such-user-msb"'),
      );
      assert.equal(existsSync(path), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
