import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultConfig } from '../../../src/config/load.js';
import { expectConfig, expectProblems } from './config-helpers.js';

describe('config: DANE', () => {
  it('is absent by default: no dns block, zones without dane (answers as before)', () => {
    assert.equal(defaultConfig().dns, undefined);
    assert.equal(defaultConfig().defaultZone.dane, undefined);
    const { config } = expectConfig('zones:\n  z:\n    timeout: 3\n');
    assert.equal(config.zones['z']?.dane, undefined);
  });

  it('reads the zone keys, filling the others from the defaults', () => {
    const { config } = expectConfig(
      'default_zone:\n  dane: true\nzones:\n  strict:\n    dane: true\n    dane_level: dane-only\n    dane_lookup_failure: sts\n  lvl:\n    dane_level: dane-only\n',
    );
    assert.deepEqual(config.defaultZone.dane, { enabled: true, level: 'dane', lookupFailure: 'temp' });
    assert.deepEqual(config.zones['strict']?.dane, { enabled: true, level: 'dane-only', lookupFailure: 'sts' });
    assert.deepEqual(config.zones['lvl']?.dane, { enabled: false, level: 'dane-only', lookupFailure: 'temp' });
  });

  it('refuses bad zone values with the path and line', () => {
    expectProblems('default_zone:\n  dane: yes please\n', [{ code: 'ECONFIG_TYPE', path: 'default_zone.dane', line: 2 }]);
    expectProblems('zones:\n  z:\n    dane_level: strict\n', [
      { code: 'ECONFIG_BAD_VALUE', path: 'zones.z.dane_level', line: 3, message: '"dane-only"' },
    ]);
    expectProblems('zones:\n  z:\n    dane_lookup_failure: no-policy\n', [
      { code: 'ECONFIG_BAD_VALUE', path: 'zones.z.dane_lookup_failure', line: 3 },
    ]);
  });

  it('reads dns.resolver in its three forms', () => {
    assert.deepEqual(expectConfig('dns:\n  resolver: 127.0.0.53\n').config.dns, { resolver: { host: '127.0.0.53', port: 53, family: 4 } });
    assert.deepEqual(expectConfig('dns: {resolver: "127.0.0.1:5353"}\n').config.dns, {
      resolver: { host: '127.0.0.1', port: 5353, family: 4 },
    });
    assert.deepEqual(expectConfig('dns: {resolver: "[::1]:53"}\n').config.dns, { resolver: { host: '::1', port: 53, family: 6 } });
    assert.deepEqual(expectConfig('dns: {}\n').config.dns, {});
  });

  it('refuses a bad resolver, unknown keys and a non-mapping, with the path and line', () => {
    expectProblems('dns:\n  resolver: localhost\n', [{ code: 'ECONFIG_ADDRESS', path: 'dns.resolver', line: 2 }]);
    expectProblems('dns:\n  resolver: "127.0.0.1:0"\n', [{ code: 'ECONFIG_ADDRESS', path: 'dns.resolver', line: 2, message: 'port' }]);
    expectProblems('dns:\n  resolver: 127.0.0.1\n  timeout: 3\n', [{ code: 'ECONFIG_UNKNOWN_KEY', path: 'dns.timeout', line: 3 }]);
    expectProblems('dns: 127.0.0.1\n', [{ code: 'ECONFIG_TYPE', path: 'dns', line: 1 }]);
  });

  it('reads dns.probe in Postfix dnssec_probe form', () => {
    assert.deepEqual(expectConfig('dns:\n  probe: "ns:."\n').config.dns, { probe: { type: 'NS', name: '.' } });
    assert.deepEqual(expectConfig('dns: {resolver: 127.0.0.1, probe: "MX:signed.test"}\n').config.dns, {
      resolver: { host: '127.0.0.1', port: 53, family: 4 },
      probe: { type: 'MX', name: 'signed.test' },
    });
    expectProblems('dns:\n  probe: signed.test\n', [{ code: 'ECONFIG_BAD_VALUE', path: 'dns.probe', line: 2, message: 'TYPE:NAME' }]);
    expectProblems('dns:\n  probe: "txt:signed.test"\n', [{ code: 'ECONFIG_BAD_VALUE', path: 'dns.probe', line: 2, message: 'type' }]);
    expectProblems('dns:\n  probe: "ns:bad..name"\n', [{ code: 'ECONFIG_BAD_VALUE', path: 'dns.probe', line: 2, message: 'DNS name' }]);
  });
});
