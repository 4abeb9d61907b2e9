/**
 * Issue 13 finding 6 through a real daemon start: the SQLite cache file in the state directory is
 * damaged (bytes overwritten); the daemon moves it aside, logs an error, starts, and answers.
 */
import { integrationGate, postfixToolsProblem } from './harness/gate.js';
import assert from 'node:assert/strict';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SqlitePolicyCache } from '../../adapters/cache/sqlite.js';
import { sampleEntry } from '../contract/policy-cache.contract.js';
import { Daemon, postmap } from './harness/daemon.js';
import { NetNs } from './harness/netns.js';
import { FakeInternet, policyBody, servesPolicy } from './harness/world.js';

const CONFIG = `
listeners:
  - protocol: socketmap
    address: inet:127.0.0.1:8461
default_zone:
  timeout: 3
`;

const gate = integrationGate(postfixToolsProblem);

describe('daemon start over a damaged sqlite cache', { skip: gate.skip }, () => {
  let ns: NetNs;
  let world: FakeInternet;
  let daemon: Daemon;
  let dir: string;
  let state: string;

  before(async () => {
    gate.assertReady();
    dir = mkdtempSync(join(tmpdir(), 'msb-corrupt-it-'));
    state = join(dir, 'state');
    mkdirSync(state, { mode: 0o700 });
    const file = join(state, 'policy-cache.sqlite');
    const c = new SqlitePolicyCache({ path: file, busyTimeoutMs: 100, purgeIntervalMs: 0 });
    await c.open();
    for (let i = 0; i < 50; i += 1) await c.set(sampleEntry(`d${i}.example`));
    await c.close();
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.alloc(4096 * 3, 0xff), 0, 4096 * 3, 4096);
    closeSync(fd);
    ns = await NetNs.create();
    world = await FakeInternet.start(ns, dir, {
      'enforce.test': { txt: ['v=STSv1; id=e1;'], policyHost: servesPolicy(policyBody('enforce', ['mx.enforce.test'])) },
    });
    daemon = await Daemon.start(ns, dir, CONFIG, world.caPath, 1, { stateDirectory: state });
  });

  after(async () => {
    if (daemon !== undefined) await daemon.stop();
    if (world !== undefined) await world.stop();
    if (ns !== undefined) await ns.destroy();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('moves the file aside, logs ECACHE_CORRUPT at error level and answers lookups', async () => {
    assert.ok(
      readdirSync(state).some((f) => f.startsWith('policy-cache.sqlite.corrupt-')),
      readdirSync(state).join(' '),
    );
    const line = daemon.grep('ECACHE_CORRUPT')[0];
    assert.ok(line !== undefined && /error/.test(line), daemon.logs.join('\n'));
    const r = await postmap(ns, 'enforce.test', 'socketmap:inet:127.0.0.1:8461:postfix');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^secure match=mx\.enforce\.test/);
  });
});
