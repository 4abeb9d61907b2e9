/**
 * Files written for the Python postfix-mta-sts-resolver (mta-sts-daemon.yml) must load
 * unchanged and mean the same; features not implemented yet are refused clearly.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expectConfig, expectProblems } from './config-helpers.js';

// config_examples/mta-sts-daemon.yml.internal of the Python project, as its users have it.
const PYTHON_INTERNAL = `host: 127.0.0.1
port: 8461
reuse_port: true
shutdown_timeout: 20
# tlsrpt: true
cache:
  type: internal
  options:
    cache_size: 10000
default_zone:
  strict_testing: false
  timeout: 4
zones:
  myzone:
    strict_testing: false
    timeout: 4
`;

describe('Python resolver compatibility', () => {
  it('loads the Python example config unchanged, with its meaning', () => {
    const { config, warnings } = expectConfig(PYTHON_INTERNAL);
    assert.deepEqual(warnings, []);
    assert.deepEqual(config.listeners, [
      { protocol: 'socketmap', address: { kind: 'tcp', host: '127.0.0.1', port: 8461 }, reusePort: true, origin: 'host/port' },
    ]);
    assert.equal(config.shutdownTimeoutSec, 20);
    assert.deepEqual(config.cache, { type: 'internal', cacheSize: 10000 });
    const zone = { strictTesting: false, timeoutSec: 4, requireSni: true, tlsrpt: false, dnsErrorAnswer: 'no-policy' };
    assert.deepEqual(config.defaultZone, zone);
    assert.deepEqual(config.zones, { myzone: zone });
  });

  it('loads the Python unix-socket example (with the internal cache): path + mode 0666', () => {
    const { config } = expectConfig('path: "/var/run/mta-sts.sock"\nmode: 0666\nshutdown_timeout: 20\n');
    assert.deepEqual(config.listeners, [
      { protocol: 'socketmap', address: { kind: 'unix', path: '/var/run/mta-sts.sock' }, mode: 0o666, reusePort: false, origin: 'path' },
    ]);
  });

  it('loads the man page example once proactive fetching is off, including require_sni and tlsrpt', () => {
    const { config } = expectConfig(`host: 127.0.0.1
port: 8461
reuse_port: true
shutdown_timeout: 20
cache_grace: 60
proactive_policy_fetching:
  enabled: false
  interval: 86400
  concurrency_limit: 100
  grace_ratio: 2
cache:
  type: internal
  options:
    cache_size: 10000
default_zone:
  strict_testing: false
  timeout: 4
  require_sni: false
  tlsrpt: true
zones:
  myzone:
    strict_testing: true
    timeout: 4
`);
    assert.equal(config.cacheGraceSec, 60);
    assert.equal(config.defaultZone.requireSni, false);
    assert.equal(config.defaultZone.tlsrpt, true);
    assert.equal(config.zones['myzone']?.strictTesting, true);
  });

  it('fills a zone from the built-in defaults, not from default_zone (the Python rule)', () => {
    const { config } = expectConfig('default_zone:\n  strict_testing: true\n  timeout: 7\nzones:\n  z:\n    tlsrpt: true\n');
    assert.equal(config.defaultZone.strictTesting, true);
    assert.deepEqual(config.zones['z'], {
      strictTesting: false,
      timeoutSec: 10,
      requireSni: true,
      tlsrpt: true,
      dnsErrorAnswer: 'no-policy',
    });
  });

  it('an empty zone block means a zone with the defaults', () => {
    const { config } = expectConfig('zones:\n  myzone:\n');
    assert.deepEqual(Object.keys(config.zones), ['myzone']);
  });

  it('reads YAML 1.1 spellings PyYAML accepts: yes/no/on/off booleans, 10_000', () => {
    const { config } = expectConfig(
      'reuse_port: no\ndefault_zone:\n  strict_testing: yes\n  tlsrpt: On\ncache:\n  options:\n    cache_size: 10_000\n',
    );
    assert.equal(config.listeners[0]?.reusePort, false);
    assert.equal(config.defaultZone.strictTesting, true);
    assert.equal(config.defaultZone.tlsrpt, true);
    assert.equal(config.cache.cacheSize, 10_000);
  });

  it('honours YAML merge keys (<<: *anchor), own keys first', () => {
    const { config } = expectConfig(`zones:
  base: &base
    timeout: 5
    strict_testing: true
  derived:
    <<: *base
    strict_testing: false
`);
    assert.equal(config.zones['derived']?.timeoutSec, 5);
    assert.equal(config.zones['derived']?.strictTesting, false);
  });

  it('reports unknown keys inside merged mappings too', () => {
    expectProblems('zones:\n  base: &base\n    timeout: 5\n  derived:\n    <<: *base\n    timout: 6\n', [
      { code: 'ECONFIG_UNKNOWN_KEY', path: 'zones.derived.timout', line: 6 },
    ]);
  });

  it('keeps zone names that look like other YAML types as the text written', () => {
    const { config } = expectConfig('zones:\n  no: {timeout: 1}\n  123: {timeout: 2}\n  __proto__: {timeout: 3}\n');
    assert.deepEqual(Object.keys(config.zones).sort(), ['123', '__proto__', 'no']);
    assert.equal(config.zones['__proto__']?.timeoutSec, 3);
    assert.equal(Object.getPrototypeOf(config.zones), Object.prototype);
  });

  it('loads the Python sqlite cache block: filename, threads (ignored, warned) and timeout', () => {
    const { config, warnings } = expectConfig(
      'cache:\n  type: sqlite\n  options:\n    filename: /var/lib/mta-sts/cache.db\n    threads: 8\n    timeout: 5\n',
    );
    assert.deepEqual(config.cache, {
      type: 'sqlite',
      filename: '/var/lib/mta-sts/cache.db',
      timeoutSec: 5,
      cacheSize: 10_000,
      onCorrupt: 'move',
    });
    assert.deepEqual(
      warnings.map((w) => [w.code, w.path]),
      [['ECONFIG_IGNORED', 'cache.options.threads']],
    );
  });

  it('loads the Python example redis block: url, max_connections (ignored, warned), socket timeouts', () => {
    const { config, warnings } = expectConfig(
      'cache:\n  type: redis\n  options:\n    url: "redis://127.0.0.1/0"\n    max_connections: 25\n    socket_timeout: 1.0\n    socket_connect_timeout: 1.0\n',
    );
    assert.deepEqual(config.cache, {
      type: 'redis',
      connection: { kind: 'url', url: 'redis://127.0.0.1/0' },
      prefix: 'mta-sts-bridge:',
      commandTimeoutMs: 1000,
      connectTimeoutMs: 1000,
      cacheSize: 10_000,
    });
    assert.deepEqual(
      warnings.map((w) => [w.code, w.path]),
      [['ECONFIG_IGNORED', 'cache.options.max_connections']],
    );
  });

  it('loads the Python example redis_sentinel block', () => {
    const { config } = expectConfig(
      'cache:\n  type: redis_sentinel\n  options:\n    sentinel_master_name: "mymaster"\n    sentinels:\n      - ["sentinel1", 26379]\n      - ["sentinel2", 26379]\n' +
        '    password: "StrongPassword"\n    max_connections: 25\n    socket_timeout: 1.0\n    socket_connect_timeout: 1.0\n',
    );
    assert.deepEqual(config.cache, {
      type: 'redis',
      connection: {
        kind: 'sentinel',
        masterName: 'mymaster',
        sentinels: [
          { host: 'sentinel1', port: 26379 },
          { host: 'sentinel2', port: 26379 },
        ],
        password: 'StrongPassword',
        db: 0,
        tls: false,
      },
      prefix: 'mta-sts-bridge:',
      commandTimeoutMs: 1000,
      connectTimeoutMs: 1000,
      cacheSize: 10_000,
    });
  });

  it('loads the Python example postgres block (dsn with a unix socket directory)', () => {
    const { config, warnings } = expectConfig('cache:\n  type: postgres\n  options:\n    dsn: postgres://user@%2Frun%2Fpostgresql/user\n');
    assert.deepEqual(warnings, []);
    assert.deepEqual(config.cache, {
      type: 'postgres',
      dsn: 'postgres://user@%2Frun%2Fpostgresql/user',
      timeoutMs: 2000,
      poolSize: 10,
      cacheSize: 10_000,
    });
  });

  it("accepts the man page's proactive_policy_fetching block with enabled: true, keys meaning the same", () => {
    const { config, warnings } = expectConfig(
      'proactive_policy_fetching:\n  enabled: true\n  interval: 86400\n  concurrency_limit: 100\n  grace_ratio: 2\n',
    );
    assert.deepEqual(warnings, []);
    assert.deepEqual(config.proactiveFetching, { enabled: true, intervalSec: 86400, concurrencyLimit: 100, graceRatio: 2, jitter: 0.1 });
  });

  it('keeps proactive refresh off when a file disables it, and on (our default) when the key is absent', () => {
    assert.equal(expectConfig('proactive_policy_fetching:\n  enabled: false\n').config.proactiveFetching?.enabled, false);
    assert.equal(expectConfig('proactive_policy_fetching: {}\n').config.proactiveFetching?.enabled, true);
    assert.equal(expectConfig('port: 1\n').config.proactiveFetching?.enabled, true);
  });
});
