import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile, readFile, lstat, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ListenerConfig } from '../../../src/config/types.js';
import { BridgeError } from '../../../src/errors.js';
import { openListener, probeUnixSocket } from '../../../src/server/listener.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mta-sts-listener-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function unixListener(path: string, mode?: number): ListenerConfig {
  return {
    protocol: 'socketmap',
    address: { kind: 'unix', path },
    reusePort: false,
    origin: 'listeners[0]',
    ...(mode !== undefined ? { mode } : {}),
  };
}

/** Leave a socket file nobody listens on: a child binds it and dies without cleaning up. */
async function makeStaleSocket(path: string): Promise<void> {
  const child = spawn(process.execPath, [
    '-e',
    `require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`,
  ]);
  await new Promise((resolve) => child.once('exit', resolve));
  assert.ok((await lstat(path)).isSocket(), 'the stale socket file exists');
}

function roundTrip(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect({ path });
    let data = '';
    c.setEncoding('utf8');
    c.on('data', (d: string) => (data += d));
    c.on('end', () => resolve(data));
    c.on('error', reject);
  });
}

const greet = (socket: net.Socket): void => {
  socket.end('hello');
};

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

describe('openListener on a unix socket', () => {
  it('listens, applies the file mode after listen, and removes its socket on close', async () => {
    const path = join(dir, 'fresh.sock');
    const l = await openListener(unixListener(path, 0o600), greet);
    assert.equal(l.address, `unix:${path}`);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal(await roundTrip(path), 'hello');
    await l.close();
    await assert.rejects(lstat(path), { code: 'ENOENT' });
  });

  it('applies a mode wider than the umask allows', async () => {
    const path = join(dir, 'wide.sock');
    const l = await openListener(unixListener(path, 0o666), greet);
    assert.equal((await stat(path)).mode & 0o777, 0o666);
    await l.close();
  });

  it('replaces a stale socket file (connect refused)', async () => {
    const path = join(dir, 'stale.sock');
    await makeStaleSocket(path);
    assert.equal(await probeUnixSocket(path), 'stale');
    const l = await openListener(unixListener(path), greet);
    assert.equal(await roundTrip(path), 'hello');
    await l.close();
  });

  it('never steals a live socket: ELISTEN_IN_USE, and the owner keeps serving', async () => {
    const path = join(dir, 'live.sock');
    const owner = net.createServer((s) => {
      s.on('error', () => undefined);
      s.end('owner');
    });
    await new Promise<void>((resolve) => owner.listen(path, resolve));
    try {
      assert.equal(await probeUnixSocket(path), 'live');
      const err = await rejectsWith(openListener(unixListener(path), greet), 'ELISTEN_IN_USE');
      assert.match(err.message, /another process is listening/);
      assert.equal(await roundTrip(path), 'owner');
    } finally {
      await new Promise((resolve) => owner.close(resolve));
    }
  });

  it('never deletes a file that is not a socket', async () => {
    const path = join(dir, 'regular.txt');
    await writeFile(path, 'precious');
    const err = await rejectsWith(openListener(unixListener(path), greet), 'ELISTEN_ADDRESS');
    assert.match(err.message, /not a socket/);
    assert.equal(await readFile(path, 'utf8'), 'precious');
  });

  it('fails clearly when the directory does not exist', async () => {
    await rejectsWith(openListener(unixListener(join(dir, 'missing', 'x.sock')), greet), 'ELISTEN_FAILED');
  });
});

describe('openListener on TCP', () => {
  const tcp = (port: number, host = '127.0.0.1'): ListenerConfig => ({
    protocol: 'socketmap',
    address: { kind: 'tcp', host, port },
    reusePort: false,
    origin: 'host/port',
  });

  it('reports the real port when 0 is asked for', async () => {
    const l = await openListener(tcp(0), greet);
    assert.ok(l.port !== undefined && l.port > 0);
    assert.equal(l.address, `127.0.0.1:${l.port}`);
    await l.close();
  });

  it('brackets an IPv6 address', async (t) => {
    let l;
    try {
      l = await openListener(tcp(0, '::1'), greet);
    } catch (err) {
      // Only a host without an IPv6 loopback address is a reason to skip; any other error fails.
      const cause = (err as { cause?: NodeJS.ErrnoException }).cause;
      const text = `${(err as Error).message} ${cause?.code ?? ''}`;
      if (!/EADDRNOTAVAIL|EAFNOSUPPORT/.test(text)) throw err;
      t.skip(`no IPv6 loopback here: ${(err as Error).message}`);
      return;
    }
    assert.equal(l.address, `[::1]:${l.port}`);
    await l.close();
  });

  it('ELISTEN_IN_USE when the port is taken', async () => {
    const first = await openListener(tcp(0), greet);
    try {
      const err = await rejectsWith(openListener(tcp(first.port ?? 0), greet), 'ELISTEN_IN_USE');
      assert.match(err.message, /host\/port: 127\.0\.0\.1:\d+ is already in use/);
    } finally {
      await first.close();
    }
  });

  it('ELISTEN_ADDRESS for an address this host does not have', async () => {
    // 192.0.2.0/24 is TEST-NET-1 (RFC 5737): never assigned to a local interface.
    await rejectsWith(openListener(tcp(0, '192.0.2.1'), greet), 'ELISTEN_ADDRESS');
  });
});
