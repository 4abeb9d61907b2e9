import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cacheFileLocation, openCache, openPersistentBackend } from '../../../adapters/cache/registry.js';
import { ResilientPolicyCache } from '../../../src/cache/resilient.js';
import type { SqliteCacheConfig } from '../../../src/config/types.js';
import { BridgeError } from '../../../src/errors.js';
import { sampleEntry } from '../../contract/policy-cache.contract.js';
import { memoryLogger } from '../../helpers/fakes.js';

const root = mkdtempSync(join(tmpdir(), 'msb-registry-'));
after(() => rmSync(root, { recursive: true, force: true }));

const SQLITE: SqliteCacheConfig = { type: 'sqlite', filename: 'policy-cache.sqlite', timeoutSec: 1, cacheSize: 10 };

describe('cache registry: sqlite', () => {
  it('opens the file in $STATE_DIRECTORY behind the resilient memory layer, and logs where', async () => {
    const state = join(root, 'systemd-state');
    const { log, lines } = memoryLogger();
    const cache = await openCache(SQLITE, log, { env: { STATE_DIRECTORY: state }, homeDir: '/nonexistent' });
    try {
      assert.ok(cache instanceof ResilientPolicyCache);
      assert.equal(cache.kind, 'sqlite');
      await cache.set(sampleEntry('a.example'));
      assert.ok(statSync(join(state, 'policy-cache.sqlite')).isFile());
      const opened = lines.find((l) => l['message'] === 'cache opened');
      assert.equal(opened?.['file'], join(state, 'policy-cache.sqlite'));
      assert.equal(opened?.['location'], 'STATE_DIRECTORY');
    } finally {
      await cache.close();
    }
  });

  it('uses the state_directory key, then the XDG home', () => {
    assert.deepEqual(cacheFileLocation({ ...SQLITE, stateDirectory: '/srv/s' }, { env: {}, homeDir: '/h' }), {
      ok: true,
      path: '/srv/s/policy-cache.sqlite',
      source: 'state_directory',
    });
    assert.deepEqual(cacheFileLocation(SQLITE, { env: {}, homeDir: '/h' }), {
      ok: true,
      path: '/h/.local/state/mta-sts-bridge/policy-cache.sqlite',
      source: 'home',
    });
  });

  it('a file that is not a database stops the start with ECACHE_OPEN naming the file under on_corrupt: refuse', async () => {
    const dir = join(root, 'junk');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir);
    writeFileSync(join(dir, 'policy-cache.sqlite'), 'not sqlite at all, a user file\n'.repeat(100));
    await assert.rejects(
      openCache({ ...SQLITE, onCorrupt: 'refuse' }, memoryLogger().log, { env: { STATE_DIRECTORY: dir } }),
      (err: unknown) => err instanceof BridgeError && err.code === 'ECACHE_OPEN' && err.message.includes(join(dir, 'policy-cache.sqlite')),
    );
    // The default (move) keeps the file, renamed, and starts a new one.
    const cache = await openCache(SQLITE, memoryLogger().log, { env: { STATE_DIRECTORY: dir } });
    await cache.close();
    const { readdirSync } = await import('node:fs');
    assert.ok(readdirSync(dir).some((f) => f.startsWith('policy-cache.sqlite.corrupt-')));
  });

  it('by default (on_corrupt: move) such a file is moved aside with one error line, and the cache opens empty', async () => {
    const dir = join(root, 'junk-moved');
    const { mkdirSync, readdirSync } = await import('node:fs');
    mkdirSync(dir);
    writeFileSync(join(dir, 'policy-cache.sqlite'), 'not sqlite at all, a user file\n'.repeat(100));
    const { log, lines } = memoryLogger();
    const cache = await openCache(SQLITE, log, { env: { STATE_DIRECTORY: dir } });
    try {
      await cache.set(sampleEntry('a.example'));
      assert.equal((await cache.get('a.example'))?.domain, 'a.example');
    } finally {
      await cache.close();
    }
    const errors = lines.filter((l) => l['level'] === 'error');
    assert.equal(errors.length, 1);
    assert.equal(errors[0]?.['code'], 'ECACHE_CORRUPT');
    assert.equal(errors[0]?.['file'], join(dir, 'policy-cache.sqlite'));
    assert.ok(readdirSync(dir).some((n) => n.startsWith('policy-cache.sqlite.corrupt-')));
  });

  it('no state directory at all is ECACHE_OPEN with the ways out', async () => {
    await assert.rejects(
      openPersistentBackend(SQLITE, { env: {}, homeDir: '' }),
      (err: unknown) => err instanceof BridgeError && err.code === 'ECACHE_OPEN' && /state_directory/.test(err.message),
    );
  });

  it('the memory cache never loads the native SQLite module; the sqlite cache does', () => {
    // In a fresh process: this one has loaded it already. /proc/self/maps lists loaded shared objects.
    const registry = new URL('../../../adapters/cache/registry.js', import.meta.url).href;
    const probe = (config: string): string =>
      execFileSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `import { openCache } from ${JSON.stringify(registry)};
           import winston from 'winston';
           import { readFileSync } from 'node:fs';
           const log = winston.createLogger({ silent: true });
           const cache = await openCache(${config}, log, { env: { STATE_DIRECTORY: ${JSON.stringify(join(root, 'probe'))} } });
           process.stdout.write(String(readFileSync('/proc/self/maps', 'utf8').includes('better_sqlite3.node')));
           await cache.close();`,
        ],
        { encoding: 'utf8', cwd: fileURLToPath(new URL('../../../../', import.meta.url)) },
      );
    assert.equal(probe(`{ type: 'internal', cacheSize: 5 }`), 'false');
    assert.equal(probe(`{ type: 'sqlite', filename: 'p.sqlite', timeoutSec: 1, cacheSize: 5 }`), 'true');
  });
});
