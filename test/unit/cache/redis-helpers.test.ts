/**
 * Pure helpers of the Redis backend (key names, TTLs, client plans, URL options): no server
 * needed, so they run with the unit tests (the contract suite in test/contract/redis.test.ts
 * needs a real redis-server).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  EXPIRED_RETENTION_MS,
  MAX_POLICY_LIFETIME_MS,
  entryTtlMs,
  policyPattern,
  redisClientPlan,
  urlOptions,
} from '../../../adapters/cache/redis.js';
import { sampleEntry } from '../../contract/policy-cache.contract.js';

describe('redis backend: pure helpers', () => {
  it('entryTtlMs: remaining lifetime (capped at a year, never negative) plus the retention', () => {
    const now = 1_000_000;
    const at = (expiresAt: number): number => entryTtlMs(sampleEntry('x.example', { expiresAt }), now);
    assert.equal(at(now + 5_000), 5_000 + EXPIRED_RETENTION_MS);
    assert.equal(at(now - 5_000), EXPIRED_RETENTION_MS);
    assert.equal(at(8_640_000_000_000_000), MAX_POLICY_LIFETIME_MS + EXPIRED_RETENTION_MS);
  });

  it('policyPattern escapes glob characters of the prefix', () => {
    assert.equal(policyPattern('mta-sts-bridge:'), 'mta-sts-bridge:policy:*');
    assert.equal(policyPattern('a*b?[c]\\:'), 'a\\*b\\?\\[c\\]\\\\:policy:*');
  });

  const urls: ReadonlyArray<[string, Record<string, unknown>]> = [
    ['redis://127.0.0.1/0', { host: '127.0.0.1', port: 6379, db: 0 }],
    ['redis://:s3cr%40t@cache.example:6380/2', { host: 'cache.example', port: 6380, db: 2, password: 's3cr@t' }],
    ['redis://bridge:pw@cache.example', { host: 'cache.example', port: 6379, db: 0, username: 'bridge', password: 'pw' }],
    ['rediss://cache.example:6380', { host: 'cache.example', port: 6380, db: 0, tls: { servername: 'cache.example' } }],
    ['redis://[::1]:6379/1', { host: '::1', port: 6379, db: 1 }],
    ['unix:///run/redis/redis.sock?db=3', { path: '/run/redis/redis.sock', db: 3 }],
  ];
  for (const [url, want] of urls) {
    it(`urlOptions(${url})`, () => assert.deepEqual(urlOptions(url), want));
  }

  it('every plan fails fast: no offline queue, no retries per request, the command timeout set', () => {
    const common = { commandTimeoutMs: 250, connectTimeoutMs: 500 };
    const single = redisClientPlan({ ...common, connection: { kind: 'url', url: 'redis://h/0' } });
    assert.equal(single.kind, 'redis');
    assert.equal(single.options.enableOfflineQueue, false);
    assert.equal(single.options.maxRetriesPerRequest, 0);
    assert.equal(single.options.commandTimeout, 250);
    assert.equal(single.options.connectTimeout, 500);
    const sentinel = redisClientPlan({
      ...common,
      connection: { kind: 'sentinel', masterName: 'mymaster', sentinels: [{ host: 's1', port: 26379 }], db: 1, tls: false, password: 'pw' },
    });
    assert.equal(sentinel.kind, 'redis');
    assert.equal(sentinel.options.name, 'mymaster');
    assert.deepEqual(sentinel.options.sentinels, [{ host: 's1', port: 26379 }]);
    assert.equal(sentinel.options.password, 'pw');
    // A failover is ridden out: the command waits for the reconnect to the new master, bounded
    // by the command timeout (test/integration/sentinel-failover.test.ts).
    assert.equal(sentinel.options.enableOfflineQueue, true);
    assert.equal(sentinel.options.maxRetriesPerRequest, 1);
    assert.equal(sentinel.options.commandTimeout, 250);
    assert.equal(sentinel.options.reconnectOnError?.(new Error("READONLY You can't write against a read only replica.")), 2);
    assert.equal(sentinel.options.reconnectOnError?.(new Error('ERR other')), false);
    const cluster = redisClientPlan({
      ...common,
      connection: { kind: 'cluster', nodes: [{ host: 'n1', port: 7000 }], tls: true, password: 'pw' },
    });
    assert.equal(cluster.kind, 'cluster');
    if (cluster.kind !== 'cluster') return;
    assert.equal(cluster.options.enableOfflineQueue, false);
    assert.equal(cluster.options.redisOptions?.commandTimeout, 250);
    assert.equal(cluster.options.redisOptions?.maxRetriesPerRequest, 0);
    assert.deepEqual(cluster.options.redisOptions?.tls, {});
  });
});
