import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BridgeError } from '../../../src/errors.js';
import { ConfigError, loadConfigFile, loadConfigFileWithWarnings } from '../../../src/config/load.js';
import { errorCodeFor, type ConfigProblem } from '../../../src/config/problems.js';

describe('loadConfigFile', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mta-sts-bridge-config-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const write = async (name: string, text: string): Promise<string> => {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  };

  /** Runs `load`, asserts it threw a ConfigError with `code`, returns it. */
  const rejection = async (load: Promise<unknown>, code: string): Promise<ConfigError> => {
    try {
      await load;
    } catch (e) {
      assert.ok(e instanceof ConfigError, `not a ConfigError: ${String(e)}`);
      assert.ok(e instanceof BridgeError);
      assert.equal(e.code, code, e.message);
      assert.ok(e.problems.length >= 1);
      return e;
    }
    assert.fail(`expected ${code}`);
  };

  it('loads a valid file', async () => {
    const config = await loadConfigFile(await write('ok.yml', 'port: 9000\n'));
    assert.deepEqual(config.listeners[0]?.address, { kind: 'tcp', host: '127.0.0.1', port: 9000 });
  });

  it('returns warnings when asked', async () => {
    const { warnings } = await loadConfigFileWithWarnings(await write('warn.yml', 'path: /run/x.sock\nport: 1\n'));
    assert.deepEqual(
      warnings.map((w) => w.code),
      ['ECONFIG_IGNORED'],
    );
  });

  it('ECONFIG_READ for a missing file', async () => {
    const e = await rejection(loadConfigFile(join(dir, 'absent.yml')), 'ECONFIG_READ');
    assert.match(e.message, /absent\.yml: cannot read the configuration: .*ENOENT/);
    assert.equal(e.problems[0]?.code, 'ECONFIG_READ');
    assert.ok(e.cause instanceof Error);
  });

  it('ECONFIG_SYNTAX with file:line:column in the message', async () => {
    const path = await write('syntax.yml', 'port: 1\nzones: [a\n');
    const e = await rejection(loadConfigFile(path), 'ECONFIG_SYNTAX');
    assert.match(e.message, new RegExp(`${path.replaceAll('.', '\\.')}:3:1: .*\\[ECONFIG_SYNTAX\\]`));
  });

  it('ECONFIG_INVALID listing every problem with path and line', async () => {
    const path = await write('invalid.yml', 'port: 0\ndefault_zone:\n  timeout: x\nprot: 1\n');
    const e = await rejection(loadConfigFile(path), 'ECONFIG_INVALID');
    assert.equal(e.problems.length, 3);
    assert.match(e.message, /3 problems/);
    assert.ok(e.message.includes(`${path}:1:7: port: must be an integer`), e.message);
    assert.ok(e.message.includes(`${path}:3:12: default_zone.timeout: must be a number`), e.message);
    assert.ok(e.message.includes(`${path}:4:1: prot: unknown key "prot" (did you mean "port"?) [ECONFIG_UNKNOWN_KEY]`), e.message);
  });

  // No configuration reaches a not-implemented feature any more (the redis and postgres caches,
  // the last ones, exist now), so the classification is checked on the problems themselves.
  it('ECONFIG_UNSUPPORTED when the only problems are features not implemented yet', () => {
    const unsupported: ConfigProblem = {
      code: 'ECONFIG_UNSUPPORTED',
      path: 'cache.type',
      line: 2,
      column: 9,
      message: 'not implemented yet',
    };
    assert.equal(errorCodeFor([unsupported]), 'ECONFIG_UNSUPPORTED');
  });

  it('ECONFIG_INVALID when unsupported features come with real mistakes', async () => {
    const unsupported: ConfigProblem = {
      code: 'ECONFIG_UNSUPPORTED',
      path: 'cache.type',
      line: 2,
      column: 9,
      message: 'not implemented yet',
    };
    const mistake: ConfigProblem = { code: 'ECONFIG_TYPE', path: 'port', line: 3, column: 7, message: 'must be an integer' };
    assert.equal(errorCodeFor([unsupported, mistake]), 'ECONFIG_INVALID');
    // And from a file: a redis cache without its options is a real mistake too.
    const path = await write('mixed.yml', 'cache:\n  type: redis\nport: x\n');
    const e = await rejection(loadConfigFile(path), 'ECONFIG_INVALID');
    assert.deepEqual(
      e.problems.map((p) => p.code),
      ['ECONFIG_MISSING_KEY', 'ECONFIG_TYPE'],
    );
  });

  it('the Python redis cache block loads (it was ECONFIG_UNSUPPORTED before the backend existed)', async () => {
    const path = await write('redis.yml', 'cache:\n  type: redis\n  options:\n    url: "redis://127.0.0.1/0"\n');
    const config = await loadConfigFile(path);
    assert.equal(config.cache.type, 'redis');
  });
});
