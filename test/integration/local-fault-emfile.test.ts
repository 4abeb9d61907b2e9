/**
 * Issue 13 finding 3, for real: a daemon child process under `prlimit --nofile=64:64` whose
 * descriptors are all taken by idle client connections. An uncached enforce domain asked on one
 * of those connections must get TEMP (c-ares cannot open a socket and reports ECONNREFUSED),
 * never NOTFOUND (a downgrade), and an error line names the code.
 */
import { integrationGate } from './harness/gate.js';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Daemon } from './harness/daemon.js';
import { NetNs } from './harness/netns.js';
import { FakeInternet, policyBody, servesPolicy } from './harness/world.js';

const CONFIG = `
listeners:
  - protocol: socketmap
    address: inet:127.0.0.1:8461
    # Far above the default share of 64 descriptors: the test exhausts them on purpose.
    max_connections: 10000
default_zone:
  timeout: 3
`;

/** Hold `count` connections open, then ask `postfix <domain>` on the first; print the reply. */
const CLIENT = `
import socket, sys, time
count, domain = int(sys.argv[1]), sys.argv[2]
held = []
for _ in range(count):
    s = socket.socket()
    s.settimeout(5)
    try:
        s.connect(('127.0.0.1', 8461))
    except OSError:
        break
    held.append(s)
time.sleep(1.0)  # the daemon accepts what it can; the rest are dropped
q = ('postfix ' + domain).encode()
first = held[0]
first.sendall(str(len(q)).encode() + b':' + q + b',')
data = b''
while not data.endswith(b','):
    chunk = first.recv(4096)
    if not chunk:
        break
    data += chunk
print(data.decode(errors='replace'))
`;

const gate = integrationGate();

describe('descriptor exhaustion is a local fault, not a downgrade', { skip: gate.skip }, () => {
  let ns: NetNs;
  let world: FakeInternet;
  let daemon: Daemon;
  let dir: string;

  before(async () => {
    gate.assertReady();
    dir = mkdtempSync(join(tmpdir(), 'msb-emfile-'));
    ns = await NetNs.create();
    world = await FakeInternet.start(ns, dir, {
      'enforce.test': { txt: ['v=STSv1; id=e1;'], policyHost: servesPolicy(policyBody('enforce', ['mx.enforce.test'])) },
    });
    daemon = await Daemon.start(ns, dir, CONFIG, world.caPath, 1, { nofile: 64 });
  });

  after(async () => {
    if (daemon !== undefined) await daemon.stop();
    if (world !== undefined) await world.stop();
    if (ns !== undefined) await ns.destroy();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('answers TEMP for an uncached enforce domain and logs the local fault at error level', async () => {
    const r = await ns.run('python3', ['-c', CLIENT, '200', 'enforce.test'], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\d+:TEMP /, `reply: ${r.stdout}\n${daemon.logs.slice(-20).join('\n')}`);
    assert.doesNotMatch(r.stdout, /NOTFOUND/);
    const line = daemon.logs.find((l) => l.includes('local fault') && l.includes('enforce.test'));
    assert.ok(line !== undefined, daemon.logs.slice(-30).join('\n'));
    assert.match(line, /error/);
  });
});
