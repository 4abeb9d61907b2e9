/** `request_timeout` (top level) and `listeners[].max_connections`. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expectConfig, expectProblems } from './config-helpers.js';

describe('request_timeout', () => {
  it('defaults to 10 s and takes fractions', () => {
    assert.equal(expectConfig('{}').config.requestTimeoutSec, 10);
    assert.equal(expectConfig('request_timeout: 2.5').config.requestTimeoutSec, 2.5);
  });
  it('is refused at 0, above 300 and when not a number', () => {
    expectProblems('request_timeout: 0', [{ code: 'ECONFIG_RANGE', path: 'request_timeout', line: 1 }]);
    expectProblems('request_timeout: 301', [{ code: 'ECONFIG_RANGE', path: 'request_timeout', line: 1 }]);
    expectProblems('request_timeout: soon', [{ code: 'ECONFIG_TYPE', path: 'request_timeout', line: 1 }]);
  });
});

describe('listeners[].max_connections', () => {
  it('is absent by default (derived from the fd limit at start) and read when given', () => {
    const { config } = expectConfig('listeners:\n  - address: "127.0.0.1:8461"\n  - address: "127.0.0.1:8462"\n    max_connections: 500\n');
    assert.equal(config.listeners[0]?.maxConnections, undefined);
    assert.equal(config.listeners[1]?.maxConnections, 500);
  });
  it('must be a positive integer', () => {
    expectProblems('listeners:\n  - address: "127.0.0.1:8461"\n    max_connections: 0\n', [
      { code: 'ECONFIG_RANGE', path: 'listeners[0].max_connections', line: 3 },
    ]);
    expectProblems('listeners:\n  - address: "127.0.0.1:8461"\n    max_connections: 1.5\n', [
      { code: 'ECONFIG_TYPE', path: 'listeners[0].max_connections', line: 3 },
    ]);
  });
});
