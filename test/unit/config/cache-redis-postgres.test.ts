/**
 * `cache: {type: redis | redis_sentinel | postgres}` in the config file: accepted forms, every
 * problem with its path and line, and secrets never echoed in messages or summaries.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { summarize } from '../../../main/cli/check-config.js';
import { redactDsn, redactUrl } from '../../../src/cache/describe-connection.js';
import { dsnProblem, redisUrlProblem } from '../../../src/config/schema.js';
import { expectConfig, expectProblems, type ExpectedProblem } from './config-helpers.js';

const redis = (options: string): string => `cache:\n  type: redis\n  options:\n${options}`;
const sentinel = (options: string): string => `cache:\n  type: redis_sentinel\n  options:\n${options}`;
const postgres = (options: string): string => `cache:\n  type: postgres\n  options:\n${options}`;

describe('config: the redis cache', () => {
  const accepted: ReadonlyArray<[string, string, Record<string, unknown>]> = [
    ['url with db', redis('    url: redis://10.0.0.5:6379/2\n'), { connection: { kind: 'url', url: 'redis://10.0.0.5:6379/2' } }],
    ['older Python key "address"', redis('    address: redis://127.0.0.1\n'), { connection: { kind: 'url', url: 'redis://127.0.0.1' } }],
    [
      'TLS and password in the URL',
      redis('    url: "rediss://:pw@cache.example:6380"\n'),
      { connection: { kind: 'url', url: 'rediss://:pw@cache.example:6380' } },
    ],
    [
      'unix socket',
      redis('    url: unix:///run/redis/redis.sock?db=1\n'),
      { connection: { kind: 'url', url: 'unix:///run/redis/redis.sock?db=1' } },
    ],
    [
      'prefix and timeouts',
      redis('    url: redis://h\n    prefix: "mx1:"\n    socket_timeout: 0.25\n    socket_connect_timeout: 2\n    cache_size: 50\n'),
      {
        prefix: 'mx1:',
        commandTimeoutMs: 250,
        connectTimeoutMs: 2000,
        cacheSize: 50,
      },
    ],
    [
      'cluster nodes',
      redis('    cluster_nodes: ["redis://:pw@n1:7000", "n2:7001"]\n'),
      {
        connection: {
          kind: 'cluster',
          nodes: [
            { host: 'n1', port: 7000 },
            { host: 'n2', port: 7001 },
          ],
          tls: false,
          password: 'pw',
        },
      },
    ],
    [
      'sentinel as host:port strings, db and TLS',
      sentinel(
        '    sentinel_master_name: m\n    sentinels: ["s1", "s2:5000", "[::1]:26380"]\n    db: 3\n    ssl: true\n    sentinel_password: sp\n',
      ),
      {
        connection: {
          kind: 'sentinel',
          masterName: 'm',
          sentinels: [
            { host: 's1', port: 26379 },
            { host: 's2', port: 5000 },
            { host: '::1', port: 26380 },
          ],
          db: 3,
          tls: true,
          sentinelPassword: 'sp',
        },
      },
    ],
  ];
  for (const [name, yaml, want] of accepted) {
    it(`accepts ${name}`, () => {
      const { config } = expectConfig(yaml);
      assert.equal(config.cache.type, 'redis');
      for (const [k, v] of Object.entries(want)) assert.deepEqual((config.cache as unknown as Record<string, unknown>)[k], v, k);
    });
  }

  const refused: ReadonlyArray<[string, string, ExpectedProblem[]]> = [
    ['no url', redis('    prefix: x\n'), [{ code: 'ECONFIG_MISSING_KEY', path: 'cache.options.url', line: 4 }]],
    [
      'an http URL',
      redis('    url: http://h\n'),
      [{ code: 'ECONFIG_BAD_VALUE', path: 'cache.options.url', line: 4, message: 'redis://, rediss://' }],
    ],
    [
      'a non-numeric db',
      redis('    url: redis://h/cache\n'),
      [{ code: 'ECONFIG_BAD_VALUE', path: 'cache.options.url', line: 4, message: 'database number' }],
    ],
    [
      'url and address',
      redis('    url: redis://h\n    address: redis://h\n'),
      [{ code: 'ECONFIG_BAD_VALUE', path: 'cache.options.address', line: 5 }],
    ],
    [
      'url and cluster_nodes',
      redis('    url: redis://h\n    cluster_nodes: [n1]\n'),
      [{ code: 'ECONFIG_BAD_VALUE', path: 'cache.options.cluster_nodes', line: 5 }],
    ],
    [
      'mixed TLS in a cluster',
      redis('    cluster_nodes: ["rediss://n1", "redis://n2"]\n'),
      [{ code: 'ECONFIG_BAD_VALUE', path: 'cache.options.cluster_nodes[1]', line: 4 }],
    ],
    [
      'a glob in the prefix',
      redis('    url: redis://h\n    prefix: "a*"\n'),
      [{ code: 'ECONFIG_BAD_VALUE', path: 'cache.options.prefix', line: 5 }],
    ],
    [
      'a zero timeout',
      redis('    url: redis://h\n    socket_timeout: 0\n'),
      [{ code: 'ECONFIG_RANGE', path: 'cache.options.socket_timeout', line: 5 }],
    ],
    [
      'a huge timeout',
      redis('    url: redis://h\n    socket_timeout: 120\n'),
      [{ code: 'ECONFIG_RANGE', path: 'cache.options.socket_timeout', line: 5 }],
    ],
    [
      'a sqlite key',
      redis('    url: redis://h\n    filename: x\n'),
      [{ code: 'ECONFIG_UNKNOWN_KEY', path: 'cache.options.filename', line: 5 }],
    ],
    [
      'sentinel without master name and list',
      sentinel('    password: x\n'),
      [
        { code: 'ECONFIG_MISSING_KEY', path: 'cache.options.sentinel_master_name', line: 4 },
        { code: 'ECONFIG_MISSING_KEY', path: 'cache.options.sentinels', line: 4 },
      ],
    ],
    [
      'a sentinel without a valid port',
      sentinel('    sentinel_master_name: m\n    sentinels: [["s1", 70000]]\n'),
      [{ code: 'ECONFIG_BAD_VALUE', path: 'cache.options.sentinels[0]', line: 5 }],
    ],
  ];
  for (const [name, yaml, problems] of refused) {
    it(`refuses ${name}`, () => {
      expectProblems(yaml, problems);
    });
  }

  it('never repeats a password: URL problems, redaction, check-config', () => {
    assert.equal(redactUrl('redis://user:s3cret@h:6379/0'), 'redis://user:***@h:6379/0');
    assert.equal(redactUrl('rediss://:s3cret@h'), 'rediss://:***@h');
    assert.doesNotMatch(redisUrlProblem('redis://:s3cret@') ?? '', /s3cret/);
    const { config } = expectConfig(redis('    url: "redis://:s3cret@cache.example/1"\n'));
    const summary = summarize(config);
    assert.match(summary, /cache: redis redis:\/\/:\*\*\*@cache\.example\/1, keys "mta-sts-bridge:\*"/);
    assert.doesNotMatch(summary, /s3cret/);
  });
});

describe('config: the postgres cache', () => {
  it('accepts dsn, timeout, max_size, cache_size; min_size is ignored with a warning', () => {
    const { config, warnings } = expectConfig(
      postgres(
        '    dsn: postgresql://bridge:pw@db.example:5432/mail?sslmode=verify-full\n    timeout: 0.5\n    max_size: 3\n    min_size: 1\n    cache_size: 7\n',
      ),
    );
    assert.deepEqual(config.cache, {
      type: 'postgres',
      dsn: 'postgresql://bridge:pw@db.example:5432/mail?sslmode=verify-full',
      timeoutMs: 500,
      poolSize: 3,
      cacheSize: 7,
    });
    assert.deepEqual(
      warnings.map((w) => [w.code, w.path]),
      [['ECONFIG_IGNORED', 'cache.options.min_size']],
    );
  });

  const refused: ReadonlyArray<[string, string, ExpectedProblem[]]> = [
    ['no options', 'cache:\n  type: postgres\n', [{ code: 'ECONFIG_MISSING_KEY', path: 'cache.options', line: 2 }]],
    ['no dsn', postgres('    timeout: 1\n'), [{ code: 'ECONFIG_MISSING_KEY', path: 'cache.options.dsn', line: 4 }]],
    [
      'a key=value dsn (asyncpg takes URIs only)',
      postgres('    dsn: "host=db dbname=mail"\n'),
      [{ code: 'ECONFIG_BAD_VALUE', path: 'cache.options.dsn', line: 4, message: 'connection URI' }],
    ],
    [
      'a mysql URI',
      postgres('    dsn: mysql://h/db\n'),
      [{ code: 'ECONFIG_BAD_VALUE', path: 'cache.options.dsn', line: 4, message: 'postgresql://' }],
    ],
    [
      'a pool of 0',
      postgres('    dsn: postgresql://h/db\n    max_size: 0\n'),
      [{ code: 'ECONFIG_RANGE', path: 'cache.options.max_size', line: 5 }],
    ],
    [
      'a timeout of 60 s',
      postgres('    dsn: postgresql://h/db\n    timeout: 60\n'),
      [{ code: 'ECONFIG_RANGE', path: 'cache.options.timeout', line: 5 }],
    ],
  ];
  for (const [name, yaml, problems] of refused) {
    it(`refuses ${name}`, () => {
      expectProblems(yaml, problems);
    });
  }

  it('never repeats a password', () => {
    assert.equal(redactDsn('postgresql://bridge:s3cret@db/mail'), 'postgresql://bridge:***@db/mail');
    assert.equal(
      redactDsn('postgresql://db/mail?user=b&password=s3cret&sslmode=require'),
      'postgresql://db/mail?user=b&password=***&sslmode=require',
    );
    assert.doesNotMatch(dsnProblem('host=db password=s3cret') ?? '', /s3cret/);
    const summary = summarize(expectConfig(postgres('    dsn: postgresql://bridge:s3cret@db/mail\n')).config);
    assert.match(summary, /cache: postgres postgresql:\/\/bridge:\*\*\*@db\/mail, timeout 2s, pool 10/);
    assert.doesNotMatch(summary, /s3cret/);
  });
});
