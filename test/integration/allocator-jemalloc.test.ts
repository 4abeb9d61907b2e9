/**
 * The daemon on jemalloc as its launcher starts it where libjemalloc2 is installed (the
 * default of bin/mta-sts-bridge.js, the Docker image included; docs/operations.md "Memory
 * settings"): the library is really mapped into the process with the launcher's MALLOC_CONF,
 * ld.so has nothing to say, and lookups work end to end, a policy fetched through the fetch
 * worker (TLS, a thread) included. Real postmap, DNS and HTTPS.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Daemon, postmap } from './harness/daemon.js';
import { integrationGate, postfixToolsProblem } from './harness/gate.js';
import { NetNs } from './harness/netns.js';
import { FakeInternet, policyBody, servesPolicy } from './harness/world.js';
import { installedJemalloc, JEMALLOC_LIBRARY } from '../helpers/jemalloc.js';

function jemallocProblem(): string | undefined {
  return installedJemalloc() !== undefined
    ? undefined
    : `${JEMALLOC_LIBRARY} not found: apt-get install libjemalloc2 (bash .ci/run installs it)`;
}

const gate = integrationGate(postfixToolsProblem, jemallocProblem);
const MAP = 'socketmap:inet:127.0.0.1:8461:postfix';

describe('the daemon on jemalloc (the launcher preloads it)', { skip: gate.skip }, () => {
  let ns: NetNs;
  let world: FakeInternet;
  let daemon: Daemon;
  let dir: string;

  before(async () => {
    gate.assertReady();
    dir = mkdtempSync(join(tmpdir(), 'msb-jemalloc-'));
    ns = await NetNs.create();
    world = await FakeInternet.start(ns, dir, {
      'enforce.test': { txt: ['v=STSv1; id=je1;'], policyHost: servesPolicy(policyBody('enforce', ['mx1.enforce.test'])) },
    });
    daemon = await Daemon.start(ns, dir, 'host: 127.0.0.1\nport: 8461\n', world.caPath, 1, { launcher: true });
  });

  after(async () => {
    if (daemon !== undefined) await daemon.stop();
    if (world !== undefined) await world.stop();
    if (ns !== undefined) await ns.destroy();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('maps libjemalloc into the daemon, fetches a policy through the worker thread and answers it; ld.so says nothing', async () => {
    // `env ... bin/mta-sts-bridge.js`: env execs the launcher, which execs node: one pid.
    const pid = daemon.child.pid;
    assert.ok(pid !== undefined);
    const maps = readFileSync(`/proc/${pid}/maps`, 'utf8');
    assert.match(maps, /\/libjemalloc\.so\.2$/m, 'jemalloc is mapped into the daemon');
    assert.match(
      readFileSync(`/proc/${pid}/environ`, 'utf8'),
      /(^|\0)MALLOC_CONF=narenas:2,lg_tcache_max:12,background_thread:true,dirty_decay_ms:1000\0/,
    );
    const r = await postmap(ns, 'enforce.test', MAP);
    assert.equal(r.stderr, '');
    assert.equal(r.code, 0);
    assert.equal(r.stdout, 'secure match=mx1.enforce.test servername=hostname\n');
    const again = await postmap(ns, 'enforce.test', MAP);
    assert.equal(again.stdout, r.stdout, 'the cached answer is the same');
    assert.deepEqual(
      daemon.logs.filter((l) => /ld\.so|cannot be preloaded|<jemalloc>/.test(l)),
      [],
      'no loader warning',
    );
  });
});
