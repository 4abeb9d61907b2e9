import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseStateDirectory, resolveStateFile, type StateDirectoryInputs } from '../../../src/cache/state-dir.js';

const HOME = '/home/mail';

describe('chooseStateDirectory', () => {
  const cases: ReadonlyArray<{ name: string; inputs: StateDirectoryInputs; want: { path: string; source: string } | 'error' }> = [
    {
      name: 'systemd STATE_DIRECTORY wins over everything',
      inputs: { configured: '/srv/msb', env: { STATE_DIRECTORY: '/var/lib/mta-sts-bridge', XDG_STATE_HOME: '/x' }, homeDir: HOME },
      want: { path: '/var/lib/mta-sts-bridge', source: 'STATE_DIRECTORY' },
    },
    {
      name: 'several StateDirectory= entries: the first',
      inputs: { env: { STATE_DIRECTORY: '/var/lib/a:/var/lib/b' }, homeDir: HOME },
      want: { path: '/var/lib/a', source: 'STATE_DIRECTORY' },
    },
    {
      name: 'an empty STATE_DIRECTORY is ignored',
      inputs: { configured: '/srv/msb', env: { STATE_DIRECTORY: '' }, homeDir: HOME },
      want: { path: '/srv/msb', source: 'state_directory' },
    },
    {
      name: 'the config key next',
      inputs: { configured: '/srv/msb/', env: { XDG_STATE_HOME: '/x' }, homeDir: HOME },
      want: { path: '/srv/msb', source: 'state_directory' },
    },
    {
      name: 'then XDG_STATE_HOME',
      inputs: { env: { XDG_STATE_HOME: '/home/mail/.state' }, homeDir: HOME },
      want: { path: '/home/mail/.state/mta-sts-bridge', source: 'XDG_STATE_HOME' },
    },
    {
      name: 'a relative XDG_STATE_HOME is invalid (XDG spec) and ignored',
      inputs: { env: { XDG_STATE_HOME: 'relative/state' }, homeDir: HOME },
      want: { path: '/home/mail/.local/state/mta-sts-bridge', source: 'home' },
    },
    {
      name: 'then ~/.local/state/mta-sts-bridge',
      inputs: { env: {}, homeDir: HOME },
      want: { path: '/home/mail/.local/state/mta-sts-bridge', source: 'home' },
    },
    { name: 'nothing at all is an error', inputs: { env: {}, homeDir: '' }, want: 'error' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = chooseStateDirectory(c.inputs);
      if (c.want === 'error') {
        assert.equal(got.ok, false);
        assert.match(got.ok ? '' : got.message, /STATE_DIRECTORY.*state_directory.*type: internal/);
      } else {
        assert.deepEqual(got, { ok: true, ...c.want });
      }
    });
  }
});

describe('resolveStateFile', () => {
  it('an absolute filename is used as written', () => {
    assert.deepEqual(resolveStateFile('/data/cache.db', { env: { STATE_DIRECTORY: '/var/lib/x' }, homeDir: HOME }), {
      ok: true,
      path: '/data/cache.db',
      source: 'filename',
    });
  });
  it('a relative filename goes inside the state directory, not the working directory', () => {
    assert.deepEqual(resolveStateFile('sub/cache.db', { env: { STATE_DIRECTORY: '/var/lib/x' }, homeDir: HOME }), {
      ok: true,
      path: '/var/lib/x/sub/cache.db',
      source: 'STATE_DIRECTORY',
    });
  });
  it('passes the error on when there is no state directory', () => {
    assert.equal(resolveStateFile('cache.db', { env: {}, homeDir: '' }).ok, false);
  });
});
