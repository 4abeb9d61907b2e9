import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtemp, rm, lstat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ListenerConfig } from '../../../src/config/types.js';
import { BridgeError } from '../../../src/errors.js';
import { startServer } from '../../../src/server/server.js';
import { adapterFor } from '../../../adapters/protocol/registry.js';
import { memoryLogger } from '../../helpers/fakes.js';
import { fakeAdapter, unusedLookup } from './fake-adapter.js';

const tcp: ListenerConfig = {
  protocol: 'socketmap',
  address: { kind: 'tcp', host: '127.0.0.1', port: 0 },
  reusePort: false,
  origin: 'test',
};

function connect(port: number): { socket: net.Socket; data: () => string; closed: Promise<void> } {
  const socket = net.connect(port, '127.0.0.1');
  let data = '';
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => (data += d));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  return { socket, data: () => data, closed };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until the server has started handling `ids` (not a fixed sleep: a loaded machine is slow). */
async function started(adapter: { readonly started: readonly string[] }, ids: readonly string[], ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!ids.every((id) => adapter.started.includes(id))) {
    if (Date.now() > until) assert.fail(`the server started ${JSON.stringify(adapter.started)}, not ${JSON.stringify(ids)}`);
    await sleep(5);
  }
}

describe('startServer: the request memo', () => {
  it('listeners of one protocol share one memo, also with a wrapper of the adapter per listener (as metrics give)', async () => {
    const base = fakeAdapter();
    let decoded = 0;
    const adapter = {
      ...base,
      statelessDecoder: true,
      newDecoder: () => {
        const d = base.newDecoder();
        return {
          ...d,
          push: (chunk: Uint8Array) => {
            const steps = d.push(chunk);
            decoded += steps.length;
            return steps;
          },
        };
      },
    };
    const { log } = memoryLogger();
    const server = await startServer([tcp, tcp], {
      lookup: unusedLookup,
      log,
      idleTimeoutSec: 0,
      adapterFor: () => Object.create(adapter) as typeof adapter,
    });
    try {
      for (const l of server.listeners) {
        const c = connect(l.port ?? 0);
        c.socket.write('x 0\n');
        const until = Date.now() + 5000;
        while (c.data() !== 'x\n' && Date.now() < until) await sleep(5);
        assert.equal(c.data(), 'x\n');
        c.socket.destroy();
      }
      assert.deepEqual(base.started, ['x', 'x'], 'both requests handled');
      assert.equal(decoded, 1, 'the second listener took the request the first one decoded');
    } finally {
      await server.close(false);
    }
  });
});

describe('startServer / close', () => {
  it('graceful close stops accepting, waits for in-flight lookups and flushes their replies', async () => {
    const adapter = fakeAdapter();
    const { log } = memoryLogger();
    const server = await startServer([tcp], { lookup: unusedLookup, log, idleTimeoutSec: 0, adapterFor: () => adapter });
    const port = server.listeners[0]?.port ?? 0;
    const c = connect(port);
    c.socket.write('a hold\nb 0\n');
    await started(adapter, ['a', 'b']);
    assert.deepEqual(adapter.started, ['a', 'b']);

    let closed = false;
    const closing = server.close(true).then(() => (closed = true));
    await sleep(50);
    assert.equal(closed, false, 'close waits for the pending lookup');
    // No new connections meanwhile.
    const refused = await new Promise<string>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.on('connect', () => resolve('connected'));
      s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    });
    assert.equal(refused, 'ECONNREFUSED');

    adapter.release();
    await closing;
    await c.closed;
    assert.equal(c.data(), 'a\nb\n', 'every received request was answered before the close');
    assert.equal(server.connectionCount(), 0);
  });

  it('a forced close destroys connections at once', async () => {
    const adapter = fakeAdapter();
    const { log } = memoryLogger();
    const server = await startServer([tcp], { lookup: unusedLookup, log, idleTimeoutSec: 0, adapterFor: () => adapter });
    const c = connect(server.listeners[0]?.port ?? 0);
    c.socket.write('a hold\n');
    await started(adapter, ['a']);
    const t0 = Date.now();
    await server.close(false);
    await c.closed;
    assert.ok(Date.now() - t0 < 1000);
    assert.equal(c.data(), '');
    adapter.release(); // the lookup finishes afterwards; its reply is dropped without error
    await sleep(20);
  });

  it('a forced close ends a graceful close that hangs', async () => {
    const adapter = fakeAdapter();
    const { log } = memoryLogger();
    const server = await startServer([tcp], { lookup: unusedLookup, log, idleTimeoutSec: 0, adapterFor: () => adapter });
    const c = connect(server.listeners[0]?.port ?? 0);
    c.socket.write('a hold\n');
    await started(adapter, ['a']);
    let gracefulDone = false;
    const graceful = server.close(true).then(() => (gracefulDone = true));
    await sleep(30);
    assert.equal(gracefulDone, false, 'the graceful close waits for the held request');
    const t0 = Date.now();
    await withDeadline(server.close(false), 2000, 'forced close');
    await withDeadline(graceful, 2000, 'graceful close after the forced one');
    await withDeadline(c.closed, 2000, 'client socket closed');
    assert.ok(Date.now() - t0 < 2000, 'the forced close ended the hanging graceful close at once');
    assert.equal(gracefulDone, true);
    assert.equal(c.data(), '', 'the held request got no reply');
    assert.equal(server.connectionCount(), 0);
    adapter.release();
  });

  it('removes the unix socket files it created', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mta-sts-server-'));
    try {
      const path = join(dir, 's.sock');
      const { log } = memoryLogger();
      const server = await startServer([{ ...tcp, address: { kind: 'unix', path }, origin: 'path' }], {
        lookup: unusedLookup,
        log,
        idleTimeoutSec: 0,
        adapterFor: () => fakeAdapter(),
      });
      assert.equal(server.listeners[0]?.address, `unix:${path}`);
      assert.ok((await lstat(path)).isSocket());
      await server.close(true);
      await assert.rejects(lstat(path), { code: 'ENOENT' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('opens all listeners or none', async () => {
    const { log } = memoryLogger();
    const first = await startServer([tcp], { lookup: unusedLookup, log, idleTimeoutSec: 0, adapterFor: () => fakeAdapter() });
    const taken = first.listeners[0]?.port ?? 0;
    const probe = await startServer([tcp], { lookup: unusedLookup, log, idleTimeoutSec: 0, adapterFor: () => fakeAdapter() });
    const freePort = probe.listeners[0]?.port ?? 0;
    await probe.close(true);
    await assert.rejects(
      startServer(
        [
          { ...tcp, address: { kind: 'tcp', host: '127.0.0.1', port: freePort } },
          { ...tcp, address: { kind: 'tcp', host: '127.0.0.1', port: taken } },
        ],
        { lookup: unusedLookup, log, idleTimeoutSec: 0, adapterFor: () => fakeAdapter() },
      ),
      (err: unknown) => err instanceof BridgeError && err.code === 'ELISTEN_IN_USE',
    );
    // The first listener of the failed start was closed again: its port is free.
    const again = await startServer([{ ...tcp, address: { kind: 'tcp', host: '127.0.0.1', port: freePort } }], {
      lookup: unusedLookup,
      log,
      idleTimeoutSec: 0,
      adapterFor: () => fakeAdapter(),
    });
    await again.close(true);
    await first.close(true);
  });
});

describe('adapterFor', () => {
  it('serves socketmap', () => {
    assert.equal(adapterFor('socketmap').protocol, 'socketmap');
  });
  it('serves policy (Postfix policy delegation)', () => {
    assert.equal(adapterFor('policy').protocol, 'policy');
  });
  it('serves tcp_table (one-line requests, many per connection)', () => {
    assert.equal(adapterFor('tcp_table').protocol, 'tcp_table');
    assert.equal(adapterFor('tcp_table').oneShot, false);
  });
  it('serves exim (one request per connection)', () => {
    assert.equal(adapterFor('exim').protocol, 'exim');
    assert.equal(adapterFor('exim').oneShot, true);
  });
  it('rejects a protocol it does not know (ECONFIG_UNSUPPORTED)', () => {
    assert.throws(
      () => adapterFor('smtp' as ListenerConfig['protocol']),
      (err: unknown) => err instanceof BridgeError && err.code === 'ECONFIG_UNSUPPORTED',
    );
  });
  it('fails before binding anything when a listener uses an unsupported protocol', async () => {
    const { log } = memoryLogger();
    await assert.rejects(
      startServer([tcp, { ...tcp, protocol: 'smtp' as ListenerConfig['protocol'] }], {
        lookup: unusedLookup,
        log,
        idleTimeoutSec: 0,
        adapterFor,
      }),
      (err: unknown) => err instanceof BridgeError && err.code === 'ECONFIG_UNSUPPORTED',
    );
  });
});

/** `promise`, or a failure naming `what` once `ms` have passed: a hang fails the test instead of stalling the run. */
function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
