import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../../src/config/load.js';
import { dropPrivileges, planRunAs, type CredentialOps } from '../../../src/privileges.js';

/** A fake process: records the calls; ids change as setgid/setuid say; setuid(0) fails after a drop. */
function fakeOps(euid: number, egid = euid): CredentialOps & { calls: string[] } {
  const ids = { uid: euid, gid: egid };
  const calls: string[] = [];
  return {
    calls,
    getuid: () => ids.uid,
    geteuid: () => ids.uid,
    getgid: () => ids.gid,
    getegid: () => ids.gid,
    getgroups: () => [],
    setgroups: (g) => void calls.push(`setgroups ${g.join(',')}`),
    initgroups: (u, g) => void calls.push(`initgroups ${u} ${g}`),
    setgid: (g) => {
      calls.push(`setgid ${g}`);
      ids.gid = g;
    },
    setuid: (u) => {
      calls.push(`setuid ${u}`);
      if (ids.uid !== 0) throw new Error('EPERM');
      ids.uid = u;
    },
  };
}

describe('privilege drop', () => {
  it('drops supplementary groups, then gid, then uid, and checks it cannot return', () => {
    const ops = fakeOps(0);
    dropPrivileges({ name: 'nobody', uid: 65534, gid: 65534 }, ops);
    assert.deepEqual(ops.calls, ['initgroups nobody 65534', 'setgid 65534', 'setuid 65534', 'setuid 0']);
    const numeric = fakeOps(0);
    dropPrivileges({ name: undefined, uid: 4000, gid: 4001 }, numeric);
    assert.deepEqual(numeric.calls.slice(0, 3), ['setgroups 4001', 'setgid 4001', 'setuid 4000']);
  });

  it('fails with EPRIVILEGES when the ids are not what was asked', () => {
    const ops = fakeOps(0);
    ops.setuid = () => undefined; // silently ignored
    assert.throws(() => dropPrivileges({ name: 'nobody', uid: 65534, gid: 65534 }, ops), { code: 'EPRIVILEGES' });
  });

  it('plans: root without user warns; not root with another user is an error; the same user is fine', async () => {
    assert.deepEqual(await planRunAs(undefined, undefined, fakeOps(0)), { kind: 'root' });
    assert.deepEqual(await planRunAs(undefined, undefined, fakeOps(1000)), { kind: 'none' });
    await assert.rejects(planRunAs('nobody', undefined, fakeOps(1000)), { code: 'EPRIVILEGES', message: /start as root/ });
    assert.deepEqual(await planRunAs('1000', '1000', fakeOps(1000)), { kind: 'already' });
    await assert.rejects(planRunAs('no-such-user-msb', undefined, fakeOps(0)), { code: 'EPRIVILEGES', message: /no user named/ });
    const plan = await planRunAs('nobody', 'nogroup', fakeOps(0));
    assert.equal(plan.kind, 'drop');
    if (plan.kind === 'drop') assert.equal(plan.target.name, 'nobody');
  });

  it('config: user and group take names or numeric ids', () => {
    const ok = parseConfigText('user: nobody\ngroup: 65534\n', 't.yml');
    assert.ok(ok.ok);
    assert.equal(ok.config.user, 'nobody');
    assert.equal(ok.config.group, '65534');
    const bad = parseConfigText('user: "a b"\n', 't.yml');
    assert.ok(!bad.ok && bad.problems.some((p) => p.path === 'user'));
    const alone = parseConfigText('group: nogroup\n', 't.yml');
    assert.ok(!alone.ok && alone.problems.some((p) => p.path === 'group'));
  });
});

describe('prepareStateDirectory', () => {
  it('creates the directory for the user, hands over existing cache files, refuses symlinks', async (t) => {
    if (process.getuid?.() !== 0) {
      t.skip('chown needs root');
      return;
    }
    const { mkdtemp, mkdir, rm, stat, symlink, writeFile } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { prepareStateDirectory } = await import('../../../src/privileges.js');
    const base = await mkdtemp(join(tmpdir(), 'msb-priv-'));
    try {
      const target = { name: undefined, uid: 4242, gid: 4343 };
      const dir = join(base, 'state');
      await prepareStateDirectory(join(dir, 'policy-cache.sqlite'), target);
      const st = await stat(dir);
      assert.equal(st.uid, 4242);
      assert.equal(st.gid, 4343);
      assert.equal(st.mode & 0o777, 0o750);
      await writeFile(join(dir, 'policy-cache.sqlite-wal'), '');
      await prepareStateDirectory(join(dir, 'policy-cache.sqlite'), target);
      assert.equal((await stat(join(dir, 'policy-cache.sqlite-wal'))).uid, 4242, 'an existing cache file is handed over');

      await mkdir(join(base, 'elsewhere'));
      await symlink(join(base, 'elsewhere'), join(base, 'link'));
      await assert.rejects(prepareStateDirectory(join(base, 'link', 'policy-cache.sqlite'), target), { code: 'EPRIVILEGES' });
      assert.equal((await stat(join(base, 'elsewhere'))).uid, 0, 'the symlink target was not touched');
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });
});
