/**
 * Bounded clients (issue 13 finding 2, issue 9 point 7) through the real server, the real
 * protocol adapters and real TCP sockets: a request that trickles in is cut off after
 * request_timeout, a listener accepts at most max_connections, a client speaking another
 * protocol is closed within a second of its first bytes, and log lines about one client are
 * rate-limited.
 */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { ListenerConfig, ProtocolName } from '../../../src/config/types.js';
import { startServer, type ServerHandle, type ServerDeps } from '../../../src/server/server.js';
import { CLIENT_LOG_LINES_PER_INTERVAL } from '../../../src/server/log-limiter.js';
import { startApp } from '../../../main/app.js';
import { adapterFor } from '../../../adapters/protocol/registry.js';
import { parseConfigText } from '../../../src/config/load.js';
import { ScriptedDns, ScriptedFetcher, memoryLogger } from '../../helpers/fakes.js';
import { FakeLookup, policy, policyResolution } from '../adapters/fixtures.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function listener(protocol: ProtocolName, extra: Partial<ListenerConfig> = {}): ListenerConfig {
  return { protocol, address: { kind: 'tcp', host: '127.0.0.1', port: 0 }, reusePort: false, origin: 'test', ...extra };
}

const lookup = new FakeLookup((domain) => policyResolution(domain, policy('enforce', [`mx.${domain}`])));

let servers: ServerHandle[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close(false)));
  servers = [];
});

async function serve(
  config: ListenerConfig,
  deps: Partial<ServerDeps> = {},
): Promise<{ server: ServerHandle; port: number; lines: Array<Record<string, unknown>> }> {
  const { log, lines } = memoryLogger();
  const server = await startServer([config], { lookup, log, idleTimeoutSec: 60, adapterFor, ...deps });
  servers.push(server);
  const port = server.listeners[0]?.port;
  assert.ok(port !== undefined && port > 0);
  return { server, port, lines };
}

/** A client recording what it receives and when the server closed. */
class Client {
  readonly socket: net.Socket;
  data = '';
  closedAt: number | undefined;
  readonly connected: Promise<void>;
  readonly closed: Promise<void>;
  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.setEncoding('latin1');
    this.socket.on('data', (d: string) => (this.data += d));
    this.socket.on('error', () => undefined);
    this.connected = new Promise((r) => this.socket.once('connect', () => r()));
    this.closed = new Promise((r) =>
      this.socket.once('close', () => {
        this.closedAt = Date.now();
        r();
      }),
    );
  }
  write(text: string | Uint8Array): Promise<void> {
    return new Promise((r) => this.socket.write(text, () => r()));
  }
  /** Resolves true when closed within `ms`. */
  async closedWithin(ms: number): Promise<boolean> {
    return Promise.race([this.closed.then(() => true), sleep(ms).then(() => false)]);
  }
}

const codes = (lines: ReadonlyArray<Record<string, unknown>>, code: string): Array<Record<string, unknown>> =>
  lines.filter((l) => l.code === code);

describe('request_timeout', () => {
  it('a tcp_table request trickling in a byte at a time is cut off with a 400 reply', async () => {
    const { port, lines } = await serve(listener('tcp_table'), { requestTimeoutSec: 0.6 });
    const c = new Client(port);
    await c.connected;
    await c.write('get example.com\n');
    const t0 = Date.now();
    let closed = false;
    // One byte every 100 ms: each restarts idle_timeout, none completes the request.
    for (const ch of 'get slow.example') {
      if (await c.closedWithin(100)) {
        closed = true;
        break;
      }
      await c.write(ch);
    }
    closed ||= await c.closedWithin(2000);
    assert.ok(closed, 'the connection was closed');
    const elapsed = (c.closedAt ?? Infinity) - t0;
    assert.ok(elapsed >= 500 && elapsed < 2500, `closed after ${elapsed} ms`);
    const replies = c.data.split('\n').filter((l) => l !== '');
    assert.equal(replies.length, 2, c.data);
    assert.match(replies[0] as string, /^200 /, 'the complete request was answered first');
    assert.match(replies[1] as string, /^400 request/, 'then the protocol error reply');
    assert.equal(codes(lines, 'ECLIENT_REQUEST_TIMEOUT').length, 1);
  });

  it('socketmap: an unfinished netstring gets TEMP and a close; a slow but complete one is answered', async () => {
    const { port } = await serve(listener('socketmap'), { requestTimeoutSec: 0.5 });
    const slow = new Client(port);
    await slow.connected;
    await slow.write('24:postfix ');
    await sleep(200);
    await slow.write('okay.example.com,');
    await sleep(300);
    assert.match(slow.data, /^\d+:OK secure/, 'a request completed within the timeout is answered');
    assert.equal(slow.closedAt, undefined);
    // Requests done, nothing partial: the request timer does not run while idle.
    await sleep(500);
    assert.equal(slow.closedAt, undefined, 'an idle connection is idle_timeout business, not request_timeout');

    const stuck = new Client(port);
    await stuck.connected;
    await stuck.write('30:postfix never');
    assert.ok(await stuck.closedWithin(2000));
    assert.match(stuck.data, /^\d+:TEMP request timeout,$/);
  });

  it('each protocol: a request never completed is closed within the timeout', async () => {
    const partial: Record<ProtocolName, string> = {
      socketmap: '20:postfix a',
      tcp_table: 'get a',
      policy: 'request=smtpd_access_policy\nprotocol_state=RCPT\n',
      exim: 'example.c',
    };
    for (const protocol of ['socketmap', 'tcp_table', 'policy', 'exim'] as const) {
      const { port } = await serve(listener(protocol), { requestTimeoutSec: 0.3 });
      const c = new Client(port);
      await c.connected;
      await c.write(partial[protocol]);
      assert.ok(await c.closedWithin(2000), `${protocol}: closed`);
    }
  });
});

describe('config keys reach the server (startApp)', () => {
  it('request_timeout and listeners[].max_connections from a config file are in force', async () => {
    const parsed = parseConfigText(
      'request_timeout: 0.4\ncache: {type: internal}\nlisteners:\n  - protocol: tcp_table\n    address: "127.0.0.1:8461"\n    max_connections: 1\n',
      'test.yml',
    );
    assert.ok(parsed.ok);
    if (!parsed.ok) return;
    const { log, lines } = memoryLogger();
    // Any free port instead of 8461 (the grammar refuses port 0); the rest as parsed.
    const config = {
      ...parsed.config,
      listeners: parsed.config.listeners.map((l) => ({ ...l, address: { kind: 'tcp' as const, host: '127.0.0.1', port: 0 } })),
    };
    const app = await startApp(config, { log, dns: new ScriptedDns(), fetcher: new ScriptedFetcher(), inheritedFds: [] });
    try {
      const port = app.listeners[0]?.port ?? 0;
      const first = new Client(port);
      await first.connected;
      const second = new Client(port);
      assert.ok(await second.closedWithin(1000), 'max_connections: 1');
      await first.write('get slow');
      assert.ok(await first.closedWithin(2000), 'request_timeout: 0.4');
      assert.match(first.data, /^400 /);
      assert.equal(codes(lines, 'ECLIENT_TOO_MANY').length, 1);
      assert.equal(codes(lines, 'ECLIENT_REQUEST_TIMEOUT').length, 1);
    } finally {
      await app.stop(false);
    }
  });
});

describe('max_connections', () => {
  it('a connection over the cap is closed at once, logged and counted; room frees up on close', async () => {
    const { server, port, lines } = await serve(listener('tcp_table', { maxConnections: 3 }));
    assert.equal(server.listeners[0]?.maxConnections, 3);
    const kept = [new Client(port), new Client(port), new Client(port)];
    for (const c of kept) {
      await c.connected;
      await c.write('get a.example\n');
    }
    await sleep(100);
    for (const c of kept) assert.match(c.data, /^200 /);

    const over = new Client(port);
    await over.connected.catch(() => undefined);
    await over.write('get b.example\n').catch(() => undefined);
    assert.ok(await over.closedWithin(1000), 'the fourth connection is closed');
    assert.equal(over.data, '', 'and gets no answer');
    assert.equal(server.rejectedConnections(), 1);
    assert.equal(codes(lines, 'ECLIENT_TOO_MANY').length, 1);

    kept[0]?.socket.end();
    await kept[0]?.closed;
    await sleep(50);
    const next = new Client(port);
    await next.connected;
    await next.write('get c.example\n');
    await sleep(200);
    assert.match(next.data, /^200 /, 'a connection is accepted again once one closed');
    for (const c of [...kept, next]) c.socket.destroy();
  });

  it('the default derives from the fd limit, split across listeners', async () => {
    const { log } = memoryLogger();
    const server = await startServer([listener('socketmap'), listener('tcp_table')], {
      lookup,
      log,
      idleTimeoutSec: 60,
      fdLimit: 1024,
      adapterFor,
    });
    servers.push(server);
    assert.deepEqual(
      server.listeners.map((l) => l.maxConnections),
      [384, 384],
    );
  });

  it('rejection warnings are rate-limited', async () => {
    const { server, port, lines } = await serve(listener('socketmap', { maxConnections: 1 }));
    const first = new Client(port);
    await first.connected;
    const extra = Array.from({ length: 30 }, () => new Client(port));
    await Promise.all(extra.map((c) => c.closedWithin(2000)));
    assert.equal(server.rejectedConnections(), 30);
    assert.equal(codes(lines, 'ECLIENT_TOO_MANY').length, CLIENT_LOG_LINES_PER_INTERVAL);
    first.socket.destroy();
  });
});

describe('a client speaking another protocol', () => {
  const cases: Array<[ProtocolName, string, string]> = [
    ['tcp_table', '27:postfix example.com,', 'socketmap'],
    ['tcp_table', 'request=smtpd_access_policy\n', 'policy'],
    ['tcp_table', 'GET / HTTP/1.1\r\n', 'http'],
    ['socketmap', 'get example.com\n', 'tcp_table'],
    ['socketmap', 'request=smtpd_access_policy\n', 'policy'],
    ['socketmap', 'example.com\n', 'exim'],
    ['policy', '27:postfix example.com,', 'socketmap'],
    ['policy', 'get example.com\n', 'tcp_table'],
    ['exim', '27:postfix example.com,', 'socketmap'],
    ['exim', 'request=smtpd_access_policy\n', 'policy'],
  ];
  for (const [protocol, bytes, probably] of cases) {
    it(`${JSON.stringify(bytes)} on a ${protocol} port is closed within 1 s, naming ${probably}`, async () => {
      const { port, lines } = await serve(listener(protocol));
      const c = new Client(port);
      await c.connected;
      await c.write(bytes);
      const t0 = Date.now();
      assert.ok(await c.closedWithin(1000), 'closed within 1 s');
      assert.ok(Date.now() - t0 < 1000);
      assert.equal(c.data, '', 'no reply the client would misread');
      const warned = codes(lines, 'ECLIENT_WRONG_PROTOCOL');
      assert.equal(warned.length, 1);
      assert.equal(warned[0]?.level, 'warn');
      assert.equal(warned[0]?.probably, probably);
      assert.equal(warned[0]?.protocol, protocol);
    });
  }

  it('a foreign client writing a byte at a time is still named right, and one byte alone is closed within 1 s', async () => {
    const { port, lines } = await serve(listener('tcp_table'));
    const c = new Client(port);
    await c.connected;
    for (const ch of '27:') {
      await c.write(ch);
      await sleep(30);
    }
    assert.ok(await c.closedWithin(1000));
    assert.equal(codes(lines, 'ECLIENT_WRONG_PROTOCOL')[0]?.probably, 'socketmap');

    const lone = new Client(port);
    await lone.connected;
    await lone.write('7');
    const t0 = Date.now();
    assert.ok(await lone.closedWithin(1000), 'closed within 1 s of its first byte');
    assert.ok(Date.now() - t0 < 1000);
    assert.equal(codes(lines, 'ECLIENT_WRONG_PROTOCOL')[1]?.probably, 'unknown');
  });

  it('valid clients whose first chunk is a byte or two are served', async () => {
    const streams: Record<ProtocolName, string> = {
      socketmap: '24:postfix okay.example.com,',
      tcp_table: 'get okay.example.com\n',
      policy: 'request=smtpd_access_policy\nprotocol_state=RCPT\nrecipient=a@okay.example.com\n\n',
      exim: 'okay.example.com\n',
    };
    for (const protocol of ['socketmap', 'tcp_table', 'policy', 'exim'] as const) {
      const { port, lines } = await serve(listener(protocol));
      const c = new Client(port);
      await c.connected;
      for (const ch of streams[protocol]) {
        await c.write(ch);
        await sleep(5);
      }
      await sleep(200);
      assert.ok(c.data.length > 0, `${protocol}: answered (${JSON.stringify(c.data)})`);
      assert.doesNotMatch(c.data, /TEMP|^400|defer/, protocol);
      assert.equal(codes(lines, 'ECLIENT_WRONG_PROTOCOL').length, 0, protocol);
      c.socket.destroy();
    }
  });

  it('an Exim request without newline, ended by the half-close, is served', async () => {
    const { port, lines } = await serve(listener('exim'));
    const c = new Client(port);
    await c.connected;
    await c.write('localhost');
    c.socket.end();
    await c.closedWithin(2000);
    assert.ok(c.data.length > 0, 'answered');
    assert.equal(codes(lines, 'ECLIENT_WRONG_PROTOCOL').length, 0);
  });
});
