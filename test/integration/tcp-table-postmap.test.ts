/**
 * End to end: Postfix's own `postmap -q KEY tcp:HOST:PORT` asks the daemon's tcp_table
 * listeners, and must get exactly what socketmap answers for the same key and zone. The daemon
 * resolves against the fake internet (real DNS, real HTTPS with a test CA) in a namespace.
 */
import { integrationGate, postfixToolsProblem } from './harness/gate.js';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Daemon, postmap } from './harness/daemon.js';
import { NetNs } from './harness/netns.js';
import { FakeInternet, policyBody, repoRoot, servesPolicy, type Sites } from './harness/world.js';

const SITES: Sites = {
  'enforce.test': {
    txt: ['v=STSv1; id=20260101;'],
    policyHost: servesPolicy(policyBody('enforce', ['mx1.enforce.test', '*.mx.enforce.test'])),
  },
  'testing.test': { txt: ['v=STSv1; id=t1'], policyHost: servesPolicy(policyBody('testing', ['mx.testing.test'])) },
  'none.test': { txt: ['v=STSv1; id=n1;'], policyHost: servesPolicy(policyBody('none', [])) },
  'nosts.test': {},
  'servfail.test': { txt: 'servfail' },
  'xn--bcher-kva.test': { txt: ['v=STSv1; id=idn1;'], policyHost: servesPolicy(policyBody('enforce', ['mx.xn--bcher-kva.test'])) },
};

/** tcp_table listeners by zone ('' = the default zone), next to one socketmap listener. */
const TCP_PORTS: Readonly<Record<string, number>> = { '': 8462, strict: 8464, tlsrpt: 8466, defer: 8468 };

const CONFIG = (sock: string): string => `
cache_grace: 0
listeners:
  - protocol: socketmap
    address: "127.0.0.1:8461"
  - protocol: tcp_table
    address: "127.0.0.1:${TCP_PORTS['']}"
  - protocol: tcp_table
    address: "127.0.0.1:${TCP_PORTS['strict']}"
    zone: strict
  - protocol: tcp_table
    address: "127.0.0.1:${TCP_PORTS['tlsrpt']}"
    zone: tlsrpt
  - protocol: tcp_table
    address: "127.0.0.1:${TCP_PORTS['defer']}"
    zone: defer
  - protocol: tcp_table
    address: unix:${sock}
    mode: 0666
default_zone:
  timeout: 3
zones:
  strict:
    strict_testing: true
  tlsrpt:
    tlsrpt: true
  defer:
    dns_error: temp
`;

const gate = integrationGate(postfixToolsProblem);

describe('tcp_table daemon with postmap against a fake internet', { skip: gate.skip }, () => {
  let ns: NetNs;
  let world: FakeInternet;
  let daemon: Daemon;
  let dir: string;
  let sock: string;

  before(async () => {
    gate.assertReady();
    assert.ok(existsSync(join(repoRoot, 'bin/mta-sts-bridge.js')));
    dir = mkdtempSync(join(tmpdir(), 'msb-tcp-'));
    sock = join(dir, 'tcp.sock');
    ns = await NetNs.create('msbt');
    world = await FakeInternet.start(ns, dir, SITES);
    daemon = await Daemon.start(ns, dir, CONFIG(sock), world.caPath, 6);
  });

  after(async () => {
    if (daemon !== undefined) await daemon.stop();
    if (world !== undefined) await world.stop();
    if (ns !== undefined) await ns.destroy();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const tcpMap = (zone: string): string => `tcp:127.0.0.1:${TCP_PORTS[zone] ?? 0}`;
  const socketmapMap = (zone: string): string => `socketmap:inet:127.0.0.1:8461:${zone === '' ? 'postfix' : zone}`;

  /** postmap over tcp_table and over socketmap: same exit code, same output, no errors. */
  const expectSame = async (key: string, zone: string, want: string | undefined): Promise<void> => {
    const viaTcp = await postmap(ns, key, tcpMap(zone));
    const viaSocketmap = await postmap(ns, key, socketmapMap(zone));
    assert.equal(viaTcp.stderr, '', `postmap tcp stderr for ${key}`);
    assert.equal(viaSocketmap.stderr, '', `postmap socketmap stderr for ${key}`);
    assert.equal(viaTcp.code, want === undefined ? 1 : 0, `postmap tcp exit for ${key}: ${viaTcp.stdout}`);
    assert.equal(viaTcp.stdout, want === undefined ? '' : `${want}\n`, `tcp answer for ${key}`);
    assert.deepEqual(viaTcp, viaSocketmap, `tcp_table and socketmap agree for ${key} in zone "${zone}"`);
  };

  const SECURE = 'secure match=mx1.enforce.test:.mx.enforce.test servername=hostname';

  it('enforce: secure match=..., for every key form Postfix sends', async () => {
    for (const key of ['enforce.test', 'ENFORCE.Test', 'enforce.test.', '[enforce.test]:587', '[enforce.test]', 'enforce.test:2525']) {
      await expectSame(key, '', SECURE);
    }
  });

  it('a UTF-8 key, which postmap %XX-encodes, is looked up as its A-label', async () => {
    await expectSame('bücher.test', '', 'secure match=mx.xn--bcher-kva.test servername=hostname');
  });

  it('testing, none, no record, parent probes, IP literals and keys with spaces: not found', async () => {
    for (const key of ['testing.test', 'none.test', 'nosts.test', '.enforce.test', '[192.0.2.1]', 'two words.test', '100%.test']) {
      await expectSame(key, '', undefined);
    }
  });

  it('the listener zone applies: strict_testing, and tlsrpt attributes (spaces and braces %XX-encoded)', async () => {
    await expectSame('testing.test', 'strict', 'secure match=mx.testing.test servername=hostname');
    await expectSame(
      'enforce.test',
      'tlsrpt',
      `${SECURE} policy_type=sts policy_domain=enforce.test mx_host_pattern=mx1.enforce.test mx_host_pattern=*.mx.enforce.test ` +
        '{ policy_string = version: STSv1 } { policy_string = mode: enforce } { policy_string = mx: mx1.enforce.test } ' +
        '{ policy_string = mx: *.mx.enforce.test } { policy_string = max_age: 86400 }',
    );
  });

  it('a DNS failure in a dns_error: temp zone is a 400: postmap reports a lookup error', async () => {
    const r = await postmap(ns, 'servfail.test', tcpMap('defer'));
    assert.notEqual(r.code, 0);
    assert.equal(r.stdout, '');
    assert.notEqual(r.stderr, '', 'a temporary error is not a clean "not found"');
    await expectSame('servfail.test', '', undefined);
  });

  it('serves the same protocol on a unix socket, many requests per connection', async () => {
    const lines = await new Promise<string[]>((resolve, reject) => {
      const c = createConnection(sock);
      let buf = '';
      c.setEncoding('latin1');
      c.on('data', (d: string) => {
        buf += d;
        const got = buf.split('\n');
        if (got.length > 4) {
          c.end();
          resolve(got.slice(0, 4));
        }
      });
      c.on('error', reject);
      c.write('get enforce.test\nget nosts.test\r\nput x\nget b%C3%BCcher.test\n');
    });
    assert.deepEqual(lines, [
      '200 secure%20match=mx1.enforce.test:.mx.enforce.test%20servername=hostname',
      '500 no%20MTA-STS%20policy',
      '400 only%20"get"%20is%20supported',
      '200 secure%20match=mx.xn--bcher-kva.test%20servername=hostname',
    ]);
  });
});
