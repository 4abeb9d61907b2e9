import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../../src/config/load.js';
import type { BridgeConfig } from '../../../src/config/types.js';
import { describeChanges, planReload, type ReloadContext } from '../../../src/reload.js';

function cfg(text: string): BridgeConfig {
  const r = parseConfigText(text, 't.yml');
  assert.ok(r.ok, JSON.stringify(r));
  return r.config;
}

const root: ReloadContext = { unprivileged: false, uid: 0, gid: 0, unprivilegedPortStart: 1024 };
const dropped: ReloadContext = { unprivileged: true, uid: 65534, gid: 65534, userName: 'nobody', unprivilegedPortStart: 1024 };

const L = (addr: string, extra = ''): string => `  - protocol: socketmap\n    address: ${addr}\n${extra}`;

describe('planReload', () => {
  it('adds and removes listeners by address; keeps the others open', () => {
    const a = cfg(`listeners:\n${L('127.0.0.1:8461')}${L('unix:/run/a.sock')}`);
    const b = cfg(`listeners:\n${L('unix:/run/a.sock')}${L('127.0.0.1:8462')}`);
    const plan = planReload(a, b, root);
    assert.deepEqual(plan.removeListeners, ['127.0.0.1:8461']);
    assert.deepEqual(
      plan.addListeners.map((l) => l.address),
      [{ kind: 'tcp', host: '127.0.0.1', port: 8462 }],
    );
    assert.deepEqual(plan.restartNeeded, []);
    assert.deepEqual(
      plan.effective.listeners.map((l) => l.origin),
      ['listeners[0]', 'listeners[1]'],
    );
    assert.deepEqual(describeChanges(plan), ['listeners+1', 'listeners-1']);
  });

  it('zones, logging, cache grace and refresh settings apply; a changed cache section needs a restart', () => {
    const a = cfg('cache_grace: 60\n');
    const b = cfg(
      'cache_grace: 10\nzones:\n  strict:\n    strict_testing: true\nlogging:\n  level: debug\nproactive_policy_fetching:\n  interval: 3600\ncache:\n  type: internal\n',
    );
    const plan = planReload(a, b, root);
    assert.deepEqual(describeChanges(plan), ['zones', 'logging', 'cache_grace', 'proactive_policy_fetching']);
    assert.deepEqual(
      plan.restartNeeded.map((r) => r.key),
      ['cache'],
    );
    assert.deepEqual(plan.effective.cache, a.cache, 'the cache in force stays');
    assert.equal(plan.effective.cacheGraceSec, 10);
    assert.ok('strict' in plan.effective.zones);
  });

  it('a listener whose settings change at the same address needs a restart', () => {
    const a = cfg(`listeners:\n${L('unix:/run/a.sock', '    mode: 0660\n')}`);
    const b = cfg(`listeners:\n${L('unix:/run/a.sock', '    mode: 0666\n')}`);
    const plan = planReload(a, b, root);
    assert.deepEqual(
      plan.restartNeeded.map((r) => r.key),
      ['unix:/run/a.sock'],
    );
    assert.equal(plan.effective.listeners[0]?.mode, 0o660);
  });

  it('after a privilege drop: a port below 1024 and a socket of another owner need a restart, the rest applies', () => {
    const a = cfg(`user: nobody\nlisteners:\n${L('127.0.0.1:8461')}`);
    const b = cfg(
      `user: nobody\nlisteners:\n${L('127.0.0.1:8461')}${L('127.0.0.1:25')}${L('unix:/run/p.sock', '    owner: postfix\n')}${L('unix:/run/n.sock', '    owner: nobody\n')}${L('127.0.0.1:2525')}`,
    );
    const plan = planReload(a, b, dropped);
    assert.deepEqual(plan.restartNeeded.map((r) => r.key).sort(), ['127.0.0.1:25', 'unix:/run/p.sock']);
    assert.match(plan.restartNeeded.find((r) => r.key === '127.0.0.1:25')?.reason ?? '', /below 1024/);
    assert.equal(plan.addListeners.length, 2);
    // As root, the same file applies entirely.
    assert.deepEqual(planReload(a, b, root).restartNeeded, []);
  });

  it('user and group changes need a restart', () => {
    const plan = planReload(cfg('user: nobody\n'), cfg('user: daemon\n'), dropped);
    assert.deepEqual(
      plan.restartNeeded.map((r) => r.key),
      ['user'],
    );
    assert.equal(plan.effective.user, 'nobody');
  });
});
