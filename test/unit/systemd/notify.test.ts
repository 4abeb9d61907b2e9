import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createNotifier, monotonicUsec, notifyTarget, statusLine, watchdogIntervalMs } from '../../../src/systemd/notify.js';

describe('sd_notify helpers', () => {
  it('reads NOTIFY_SOCKET: a path, @abstract, or nothing', () => {
    assert.deepEqual(notifyTarget('/run/systemd/notify'), { kind: 'path', path: '/run/systemd/notify' });
    assert.deepEqual(notifyTarget('@/org/test'), { kind: 'abstract', name: '/org/test' });
    assert.equal(notifyTarget(undefined), undefined);
    assert.equal(notifyTarget(''), undefined);
    assert.equal(notifyTarget('relative/path'), undefined);
    assert.equal(notifyTarget('@'), undefined);
    assert.equal(notifyTarget(`/${'x'.repeat(200)}`), undefined, 'longer than sun_path');
  });

  it('pings the watchdog at half of WATCHDOG_USEC, only for this pid', () => {
    assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: '30000000' }, 42), 15000);
    assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '42' }, 42), 15000);
    assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '43' }, 42), undefined);
    assert.equal(watchdogIntervalMs({}, 42), undefined);
    assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: '0' }, 42), undefined);
    assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: 'abc' }, 42), undefined);
  });

  it('MONOTONIC_USEC is CLOCK_MONOTONIC (close to /proc/uptime on Linux)', async () => {
    const { readFileSync } = await import('node:fs');
    const uptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * 1e6;
    assert.ok(Math.abs(Number(monotonicUsec()) - uptime) < 60e6);
  });

  it('STATUS= stays one bounded line', () => {
    assert.equal(statusLine('a\nb\r\nc'), 'a b c');
    assert.equal(statusLine('x'.repeat(500)).length, 200);
  });

  it('without NOTIFY_SOCKET every call is a no-op; a bad value is reported once', () => {
    const errors: string[] = [];
    const off = createNotifier({}, (m) => errors.push(m));
    assert.equal(off.enabled, false);
    off.ready('x');
    off.reloading();
    off.stopping();
    assert.equal(off.startWatchdog(), undefined);
    off.close();
    assert.equal(errors.length, 0);
    const bad = createNotifier({ NOTIFY_SOCKET: 'not-absolute' }, (m) => errors.push(m));
    assert.equal(bad.enabled, false);
    assert.equal(errors.length, 1);
  });
});
