import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  firstNameserver,
  formatResolverAddress,
  isLoopback,
  parseResolverAddress,
  systemResolverAddress,
} from '../../../src/dane/resolver-address.js';

describe('parseResolverAddress', () => {
  const good: Array<[string, string, number, 4 | 6]> = [
    ['127.0.0.1', '127.0.0.1', 53, 4],
    ['127.0.0.53:5353', '127.0.0.53', 5353, 4],
    ['::1', '::1', 53, 6],
    ['[::1]', '::1', 53, 6],
    ['[2001:db8::1]:853', '2001:db8::1', 853, 6],
    [' 10.0.0.1:53 ', '10.0.0.1', 53, 4],
    ['1.2.3.4:65535', '1.2.3.4', 65535, 4],
  ];
  for (const [text, host, port, family] of good) {
    it(`accepts ${JSON.stringify(text)}`, () => {
      assert.deepEqual(parseResolverAddress(text), { ok: true, address: { host, port, family } });
    });
  }
  const bad = [
    '',
    'localhost',
    'localhost:53',
    '127.0.0.1:0',
    '127.0.0.1:65536',
    '127.0.0.1:',
    '127.0.0.1:x',
    '[::1',
    '[127.0.0.1]:53',
    '::1:53x',
    '[::1]:',
    '[::1]:0',
    '1.2.3:53',
    '127.0.0.1:053x',
  ];
  for (const text of bad) {
    it(`refuses ${JSON.stringify(text)}`, () => {
      const r = parseResolverAddress(text);
      assert.equal(r.ok, false);
      if (!r.ok) assert.ok(r.message.length > 0);
    });
  }
});

describe('resolv.conf', () => {
  it('takes the first nameserver that is an IP address', () => {
    const text = '# generated\nsearch example.org\n; comment\nnameserver bogus\nnameserver 127.0.0.53 # systemd\nnameserver 8.8.8.8\n';
    assert.deepEqual(firstNameserver(text), { host: '127.0.0.53', port: 53, family: 4 });
  });
  it('takes IPv6, with a scope id kept', () => {
    assert.deepEqual(firstNameserver('nameserver fe80::1%eth0\n'), { host: 'fe80::1%eth0', port: 53, family: 6 });
  });
  it('defaults to 127.0.0.1 without a nameserver (resolv.conf(5))', () => {
    assert.deepEqual(firstNameserver('options edns0\n'), { host: '127.0.0.1', port: 53, family: 4 });
    assert.deepEqual(firstNameserver('#nameserver 1.1.1.1\n'), { host: '127.0.0.1', port: 53, family: 4 });
  });
  it('reads the file, or defaults when it is missing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dane-resolv-'));
    try {
      const path = join(dir, 'resolv.conf');
      writeFileSync(path, 'nameserver 127.0.0.9\n');
      assert.deepEqual(systemResolverAddress(path), { host: '127.0.0.9', port: 53, family: 4 });
      assert.deepEqual(systemResolverAddress(join(dir, 'missing')), { host: '127.0.0.1', port: 53, family: 4 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('formatting', () => {
  it('formats both families and knows loopback', () => {
    assert.equal(formatResolverAddress({ host: '::1', port: 53, family: 6 }), '[::1]:53');
    assert.equal(formatResolverAddress({ host: '127.0.0.1', port: 5353, family: 4 }), '127.0.0.1:5353');
    assert.equal(isLoopback({ host: '127.0.0.53', port: 53, family: 4 }), true);
    assert.equal(isLoopback({ host: '::1', port: 53, family: 6 }), true);
    assert.equal(isLoopback({ host: '10.0.0.1', port: 53, family: 4 }), false);
  });
});
