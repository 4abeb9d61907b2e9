/**
 * Text forms of bound and peer addresses (src/server/address.ts): an IPv6 literal is bracketed so
 * the port stays unambiguous, nothing else is, and a unix socket peer is `unix`. Checked against
 * `net.isIPv6`, which the colon test replaces.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isIPv6 } from 'node:net';
import { formatHostPort, formatPeer } from '../../../src/server/address.js';

describe('formatHostPort', () => {
  const cases: ReadonlyArray<readonly [string, number, string]> = [
    ['127.0.0.1', 8461, '127.0.0.1:8461'],
    ['0.0.0.0', 0, '0.0.0.0:0'],
    ['localhost', 25, 'localhost:25'],
    ['mail.example.net', 8461, 'mail.example.net:8461'],
    ['::1', 8461, '[::1]:8461'],
    ['::', 8461, '[::]:8461'],
    ['2001:db8::25', 53422, '[2001:db8::25]:53422'],
    ['::ffff:192.0.2.1', 53422, '[::ffff:192.0.2.1]:53422'],
    ['fe80::1%eth0', 8461, '[fe80::1%eth0]:8461'],
  ];
  for (const [host, port, expected] of cases) {
    it(`${host} port ${port} -> ${expected}`, () => {
      assert.equal(formatHostPort(host, port), expected);
      // The bracket rule is exactly "an IPv6 literal".
      assert.equal(expected.startsWith('['), isIPv6(host));
    });
  }
});

describe('formatPeer', () => {
  it('a TCP peer is its address and port', () => {
    assert.equal(formatPeer({ remoteAddress: '192.0.2.7', remotePort: 40001 }), '192.0.2.7:40001');
    assert.equal(formatPeer({ remoteAddress: '2001:db8::7', remotePort: 40001 }), '[2001:db8::7]:40001');
  });
  it('a unix socket peer (no address) is "unix"', () => {
    assert.equal(formatPeer({}), 'unix');
    assert.equal(formatPeer({ remoteAddress: undefined, remotePort: undefined }), 'unix');
  });
  it('a peer whose port is unknown shows port 0', () => {
    assert.equal(formatPeer({ remoteAddress: '192.0.2.7' }), '192.0.2.7:0');
  });
});
