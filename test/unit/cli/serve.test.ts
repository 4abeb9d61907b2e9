import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveCommand } from '../../../main/cli/serve.js';
import { ScriptedDns, ScriptedFetcher, policyText } from '../../helpers/fakes.js';
import { captureIo } from './capture.js';
import { freePort } from '../../helpers/free-port.js';

const BIN = fileURLToPath(new URL('../../../../bin/mta-sts-bridge.js', import.meta.url));
const netstring = (s: string): string => `${Buffer.byteLength(s)}:${s},`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mta-sts-serve-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function configFile(name: string, port: number, extra = ''): Promise<string> {
  const path = join(dir, name);
  // Memory cache: the default (SQLite in the state directory) would carry policies from run to run.
  await writeFile(path, `listeners:\n  - protocol: socketmap\n    address: 127.0.0.1:${port}\ncache:\n  type: internal\n${extra}`);
  return path;
}

/**
 * Resolve once `read()` matches `pattern`; fail after `timeoutMs` or when `exited` settles first.
 * A child's log lines come through a pipe that is read independently of its sockets (and winston
 * writes them a tick after the event), so a line is waited for, never read at one instant.
 */
async function waitForOutput(read: () => string, pattern: RegExp, exited: Promise<unknown>, timeoutMs = 20_000): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(read())) {
    if (gone) assert.fail(`the process ended before printing ${pattern}:\n${read()}`);
    if (Date.now() > deadline) assert.fail(`no ${pattern} within ${timeoutMs} ms:\n${read()}`);
    await sleep(20);
  }
}

/** Connect (retrying while the daemon starts), send, and collect until `done` says so. */
async function exchange(port: number, request: string, done: (data: string) => boolean): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await new Promise<string>((resolve, reject) => {
        const c = net.connect(port, '127.0.0.1');
        let data = '';
        c.setEncoding('utf8');
        c.on('connect', () => c.write(request));
        c.on('data', (d: string) => {
          data += d;
          if (done(data)) {
            c.end();
            resolve(data);
          }
        });
        c.on('close', () => resolve(data));
        c.on('error', reject);
      });
    } catch (err) {
      if (attempt > 100) throw err;
      await sleep(50);
    }
  }
}

describe('serve (the real binary)', () => {
  it('answers socketmap over TCP without DNS for a .parent key, and exits 0 promptly on SIGTERM', async () => {
    const port = await freePort();
    const config = await configFile('smoke.yml', port);
    const child = spawn(process.execPath, [BIN, 'serve', '-c', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => (stderr += d));
    // 'close', not 'exit': only then has every byte of stderr been read.
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      await waitForOutput(() => stderr, new RegExp(`info server: listening listener=127\\.0\\.0\\.1:${port} .*protocol=socketmap`), exited);
      const reply = await exchange(
        port,
        netstring('postfix .parent.example') + netstring('postfix .example.com'),
        (d) => d === netstring('NOTFOUND ').repeat(2),
      );
      assert.equal(reply, netstring('NOTFOUND ').repeat(2));

      const t0 = Date.now();
      child.kill('SIGTERM');
      const code = await exited;
      assert.equal(code, 0, stderr);
      assert.ok(Date.now() - t0 < 3000, `exited after ${Date.now() - t0} ms`);
      assert.match(stderr, /info main: stopping signal=SIGTERM/);
      assert.match(stderr, /info main: stopped/);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('exits 1 with ELISTEN_IN_USE when the port is taken', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const config = await configFile('taken.yml', port);
      const child = spawn(process.execPath, [BIN, 'serve', '-c', config], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (d: string) => (stderr += d));
      const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
      assert.equal(code, 1);
      assert.match(stderr, /error main: cannot start reason=".*is already in use" code=ELISTEN_IN_USE/);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });
});

describe('serve (in process, signals emitted)', () => {
  function logCapture(): { stream: Writable; text: () => string } {
    let text = '';
    return {
      stream: new Writable({
        write(chunk: Buffer, _e, cb) {
          text += chunk.toString();
          cb();
        },
      }),
      text: () => text,
    };
  }

  async function held(): Promise<{ dns: ScriptedDns; fetcher: ScriptedFetcher; release: () => void }> {
    const dns = new ScriptedDns();
    const fetcher = new ScriptedFetcher();
    dns.setTxt('example.com', 'v=STSv1; id=1');
    fetcher.setPolicy('example.com', policyText('enforce', 86400, 'mx.example.com'));
    let release: () => void = () => undefined;
    dns.gate = new Promise((r) => (release = r));
    return { dns, fetcher, release };
  }

  it('SIGTERM waits for the in-flight lookup; a second signal exits at once', async () => {
    const port = await freePort();
    const config = await configFile('inproc.yml', port);
    const { dns, fetcher, release } = await held();
    const exits: number[] = [];
    const logs = logCapture();
    const io = captureIo();
    const serving = serveCommand(['-c', config], io, {
      exit: (code) => void exits.push(code),
      appOptions: { dns, fetcher },
      logStream: logs.stream,
    });
    let finished = false;
    void serving.then(() => (finished = true));
    const reply = exchange(port, netstring('postfix example.com'), (d) => d.endsWith(','));
    while (dns.queries.length === 0) await sleep(10);

    process.emit('SIGTERM', 'SIGTERM');
    await sleep(100);
    assert.equal(finished, false, 'the stop waits for the pending lookup');
    process.emit('SIGINT', 'SIGINT');
    assert.deepEqual(exits, [130], 'the second signal exits at once (128 + SIGINT)');

    release();
    assert.equal(await reply, netstring('OK secure match=mx.example.com servername=hostname'));
    assert.equal(await serving, 0);
    assert.match(logs.text(), /stopping signal=SIGTERM/);
    assert.match(logs.text(), /second signal: exiting at once signal=SIGINT/);
    assert.match(logs.text(), /info main: stopped/);
    assert.equal(process.listenerCount('SIGTERM'), 0, 'signal handlers removed after the stop');
  });

  it('forces the close after shutdown_timeout', async () => {
    const port = await freePort();
    const config = await configFile('timeout.yml', port, 'shutdown_timeout: 0.3\n');
    const { dns, fetcher, release } = await held();
    const logs = logCapture();
    const serving = serveCommand(['-c', config], captureIo(), {
      exit: () => assert.fail('no exit expected'),
      appOptions: { dns, fetcher },
      logStream: logs.stream,
    });
    const reply = exchange(port, netstring('postfix example.com'), () => false);
    while (dns.queries.length === 0) await sleep(10);
    const t0 = Date.now();
    process.emit('SIGTERM', 'SIGTERM');
    assert.equal(await serving, 0);
    const elapsed = Date.now() - t0;
    assert.ok(elapsed >= 250 && elapsed < 2000, `stopped after ${elapsed} ms`);
    assert.equal(await reply, '', 'the pending request was cut off');
    assert.match(logs.text(), /warn main: shutdown timeout: closing remaining connections/);
    release();
  });
});

describe('serve: SIGHUP reload and --log-format (in process)', () => {
  function logCapture(): { stream: Writable; text: () => string } {
    let text = '';
    return {
      stream: new Writable({
        write(chunk: Buffer, _e, cb) {
          text += chunk.toString();
          cb();
        },
      }),
      text: () => text,
    };
  }
  const waitFor = async (what: string, check: () => boolean): Promise<void> => {
    for (let i = 0; i < 300 && !check(); i++) await sleep(10);
    assert.ok(check(), what);
  };

  it('rejects an unknown --log-format', async () => {
    const io = captureIo();
    assert.equal(await serveCommand(['--log-format', 'xml'], io, { exit: () => undefined }), 2);
    assert.match(io.stderr(), /log format must be one of text, json/);
  });

  it('applies a new zone and a new listener, closes a removed one, keeps the old config when the new one is invalid', async () => {
    const port = await freePort();
    const port2 = await freePort();
    const path = await configFile('reload.yml', port);
    const dns = new ScriptedDns();
    const fetcher = new ScriptedFetcher();
    dns.setTxt('testing.example', 'v=STSv1; id=1');
    fetcher.setPolicy('testing.example', policyText('testing', 86400, 'mx.testing.example'));
    const logs = logCapture();
    const serving = serveCommand(['-c', path, '--log-format', 'json'], captureIo(), {
      exit: () => assert.fail('no exit expected'),
      appOptions: { dns, fetcher },
      logStream: logs.stream,
    });
    const ask = (p: number, q: string): Promise<string> => exchange(p, netstring(q), (d) => d.endsWith(','));
    assert.equal(await ask(port, 'strict testing.example'), netstring('NOTFOUND '));
    assert.match(logs.text(), /^\{"time":/, '--log-format json');

    await writeFile(
      path,
      `listeners:\n  - protocol: socketmap\n    address: 127.0.0.1:${port2}\ncache:\n  type: internal\nzones:\n  strict:\n    strict_testing: true\n`,
    );
    assert.equal(process.listenerCount('SIGHUP'), 1);
    process.emit('SIGHUP', 'SIGHUP');
    await waitFor('reloaded', () => /"msg":"reloaded"/.test(logs.text()));
    assert.equal(await ask(port2, 'strict testing.example'), netstring('OK secure match=mx.testing.example servername=hostname'));
    await assert.rejects(
      new Promise((resolve, reject) => {
        const c = net.connect(port, '127.0.0.1');
        c.on('connect', () => resolve(c.end()));
        c.on('error', reject);
      }),
      /ECONNREFUSED/,
    );

    await writeFile(path, 'listeners: 12\n');
    process.emit('SIGHUP', 'SIGHUP');
    await waitFor('refused', () => /"msg":"reload refused/.test(logs.text()));
    assert.match(logs.text(), /"msg":"configuration problem".*"path":"listeners"/);
    assert.equal(await ask(port2, 'strict testing.example'), netstring('OK secure match=mx.testing.example servername=hostname'));

    process.emit('SIGTERM', 'SIGTERM');
    assert.equal(await serving, 0);
    assert.equal(process.listenerCount('SIGHUP'), 0, 'SIGHUP handler removed after the stop');
  });
});
