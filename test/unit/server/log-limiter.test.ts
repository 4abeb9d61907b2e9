import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LogLimiter, peerHost, rateLimitedLogger } from '../../../src/server/log-limiter.js';
import { memoryLogger } from '../../helpers/fakes.js';

describe('LogLimiter', () => {
  it('allows max lines per interval per key, then reports how many it dropped', () => {
    let now = 0;
    const l = new LogLimiter(3, 1000, () => now);
    assert.deepEqual([l.take('a'), l.take('a'), l.take('a'), l.take('a'), l.take('a')], [0, 0, 0, false, false]);
    assert.equal(l.take('b'), 0, 'another peer has its own budget');
    now = 1000;
    assert.equal(l.take('a'), 2, 'the first line of the next window carries the count');
    assert.equal(l.take('a'), 0);
  });

  it('peerHost drops the port', () => {
    assert.equal(peerHost('127.0.0.1:5000'), '127.0.0.1');
    assert.equal(peerHost('[::1]:5000'), '::1');
    assert.equal(peerHost('unix'), 'unix');
  });

  it('rateLimitedLogger limits info/warn/error, not debug, and keeps the rest of the logger', () => {
    const { log, lines } = memoryLogger();
    const limited = rateLimitedLogger(log, new LogLimiter(2, 60_000), 'k');
    for (let i = 0; i < 5; i += 1) limited.warn('w', { i });
    for (let i = 0; i < 3; i += 1) limited.debug('d', { i });
    assert.equal(lines.filter((l) => l.message === 'w').length, 2);
    assert.equal(lines.filter((l) => l.message === 'd').length, 3);
    assert.equal(limited.isLevelEnabled('debug'), true);
    assert.equal(typeof limited.child, 'function');
  });
});
