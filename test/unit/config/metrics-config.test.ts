import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { summarize } from '../../../main/cli/check-config.js';
import { defaultConfig } from '../../../src/config/load.js';
import { expectConfig, expectProblems } from './config-helpers.js';

describe('config: metrics', () => {
  it('is absent by default: no HTTP listener', () => {
    assert.equal(defaultConfig().metrics, undefined);
    assert.equal(expectConfig('port: 8461\n').config.metrics, undefined);
  });

  it('takes HOST:PORT and [IPV6]:PORT', () => {
    assert.deepEqual(expectConfig('metrics:\n  address: 127.0.0.1:9464\n').config.metrics, { host: '127.0.0.1', port: 9464 });
    assert.deepEqual(expectConfig('metrics: {address: "[::1]:9464"}\n').config.metrics, { host: '::1', port: 9464 });
    assert.deepEqual(expectConfig('metrics: {address: "localhost:9464"}\n').config.metrics, { host: 'localhost', port: 9464 });
  });

  it('refuses what is not a TCP address, with the line', () => {
    expectProblems('metrics:\n  address: unix:/run/metrics.sock\n', [
      { code: 'ECONFIG_ADDRESS', path: 'metrics.address', line: 2, message: 'HOST:PORT' },
    ]);
    expectProblems('metrics:\n  address: 127.0.0.1\n', [
      { code: 'ECONFIG_ADDRESS', path: 'metrics.address', line: 2, message: 'missing ":PORT"' },
    ]);
    expectProblems('metrics:\n  address: "::1:9464"\n', [
      { code: 'ECONFIG_ADDRESS', path: 'metrics.address', line: 2, message: 'brackets' },
    ]);
    expectProblems('metrics:\n  address: 127.0.0.1:99999\n', [{ code: 'ECONFIG_ADDRESS', path: 'metrics.address', line: 2 }]);
    expectProblems('metrics:\n  address: 9464\n', [{ code: 'ECONFIG_TYPE', path: 'metrics.address', line: 2 }]);
  });

  it('check-config shows where metrics are served, and nothing without them', () => {
    assert.match(
      summarize(expectConfig('metrics: {address: "[::1]:9464"}\n').config),
      /\nmetrics: http:\/\/\[::1\]:9464\/metrics and \/healthz\n/,
    );
    assert.doesNotMatch(summarize(defaultConfig()), /metrics/);
  });

  it('needs address, knows no other key, and must be a mapping', () => {
    expectProblems('metrics: {}\n', [{ code: 'ECONFIG_MISSING_KEY', path: 'metrics.address', line: 1 }]);
    expectProblems('metrics:\n  address: 127.0.0.1:9464\n  path: /m\n', [{ code: 'ECONFIG_UNKNOWN_KEY', path: 'metrics.path', line: 3 }]);
    expectProblems('metrics: 127.0.0.1:9464\n', [{ code: 'ECONFIG_TYPE', path: 'metrics', line: 1 }]);
  });
});
