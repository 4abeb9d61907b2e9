/**
 * Issue 13, finding 7: a large config used to hang the loader (40,000 zones took 11.7 s; a
 * 50 MB file took minutes and 3 GB). Files over 1 MiB are refused unread, the loader's work is
 * linear, and aliases and merge keys cannot multiply it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkConfigCommand } from '../../../main/cli/check-config.js';
import { ConfigError, loadConfigFile, parseConfigText } from '../../../src/config/load.js';
import { CONFIG_ALIAS_EXPANSION_MAX, CONFIG_FILE_MAX_BYTES } from '../../../src/config/schema.js';
import { captureIo } from '../cli/capture.js';
import { expectConfig } from './config-helpers.js';

/** A valid config of exactly `bytes` bytes: one key, then a comment filling the rest. */
function paddedConfig(bytes: number): string {
  const head = 'port: 9000\n#';
  return `${head}${'x'.repeat(bytes - head.length - 1)}\n`;
}

/** `zones:` with `n` zones of one key each, one zone per two lines (about 25 bytes a zone). */
function manyZones(n: number): string {
  const parts = ['zones:\n'];
  for (let i = 0; i < n; i++) parts.push(`  z${i}:\n    timeout: 5\n`);
  return parts.join('');
}

/** CPU time (user + system, all threads) spent by `f`, in seconds: unlike wall time, not inflated by other processes. */
function cpuSeconds(f: () => void): number {
  const start = process.cpuUsage();
  f();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

describe('config size limits', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mta-sts-bridge-size-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads a file of exactly 1 MiB', async () => {
    const path = join(dir, 'exact.yml');
    await writeFile(path, paddedConfig(CONFIG_FILE_MAX_BYTES));
    const config = await loadConfigFile(path);
    assert.deepEqual(config.listeners[0]?.address, { kind: 'tcp', host: '127.0.0.1', port: 9000 });
  });

  it('refuses a file of 1 MiB + 1 byte with ECONFIG_READ naming the file and the limit', async () => {
    const path = join(dir, 'over.yml');
    await writeFile(path, paddedConfig(CONFIG_FILE_MAX_BYTES + 1));
    await assert.rejects(loadConfigFile(path), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.code, 'ECONFIG_READ');
      assert.equal(e.problems[0]?.code, 'ECONFIG_TOO_LARGE');
      assert.equal(
        e.message,
        `${path}: refused before parsing: the file is 1048577 bytes; a configuration may have at most 1048576 bytes (1 MiB)`,
      );
      return true;
    });
  });

  it('refuses a 50 MB file from its size (a sparse file: nothing to read)', async () => {
    const path = join(dir, 'huge.yml');
    await writeFile(path, '');
    await truncate(path, 50 * 1024 * 1024);
    await assert.rejects(loadConfigFile(path), /the file is 52428800 bytes; a configuration may have at most 1048576 bytes/);
  });

  it('reads a file without a size (/dev/zero) no further than the limit', async () => {
    await assert.rejects(loadConfigFile('/dev/zero'), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.code, 'ECONFIG_READ');
      assert.match(e.message, /^\/dev\/zero: refused before parsing: the file has more than 1048576 bytes/);
      return true;
    });
  });

  it('check-config says the same, with the problem code', async () => {
    const path = join(dir, 'over-check.yml');
    await writeFile(path, paddedConfig(CONFIG_FILE_MAX_BYTES + 1));
    const io = captureIo();
    assert.equal(await checkConfigCommand(['-c', path], io), 2);
    assert.equal(io.stdout(), '');
    assert.match(
      io.stderr(),
      new RegExp(
        `^${path.replaceAll('.', '\\.')}: refused before parsing: the file is 1048577 bytes; .*\\(1 MiB\\) \\[ECONFIG_TOO_LARGE\\]\\n$`,
      ),
    );
  });

  it('parseConfigText refuses text over the limit unparsed', () => {
    const result = parseConfigText(paddedConfig(CONFIG_FILE_MAX_BYTES + 1), 'x.yml');
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.deepEqual(
      result.problems.map((p) => p.code),
      ['ECONFIG_TOO_LARGE'],
    );
    // Bytes, not characters: 400,000 three-byte characters are 1.2 MB.
    const wide = parseConfigText(`# ${'€'.repeat(400_000)}\nport: 1\n`, 'x.yml');
    assert.equal(wide.ok, false);
  });
});

describe('aliases that name what contains them', () => {
  // Found by the config fuzzer (seed 8461): "&a\n- *a" recursed until the stack overflowed.
  for (const [what, text] of [
    ['a list holding itself', '&a \n- *a'],
    ['a mapping holding itself', 'zones: &z\n  x: *z\n'],
    ['a cycle through a merge key', 'zones: &z\n  x:\n    <<: *z\n'],
  ] as const) {
    it(`${what}: a located ECONFIG_TYPE problem, not a crash`, () => {
      const result = parseConfigText(text, 'x.yml');
      assert.equal(result.ok, false);
      if (result.ok) return;
      const cycle = result.problems.find((p) => p.message.includes('contains it'));
      assert.ok(cycle !== undefined || what.includes('merge'), JSON.stringify(result.problems));
      for (const p of result.problems) assert.match(p.code, /^ECONFIG_/);
    });
  }
});

describe('config loading is linear', () => {
  it('40,000 zones (under 1 MiB) load in well under 5 s of CPU (the quadratic duplicate check took 13 s)', () => {
    const text = manyZones(40_000);
    assert.ok(Buffer.byteLength(text) < CONFIG_FILE_MAX_BYTES, `${Buffer.byteLength(text)} bytes`);
    let zones = 0;
    const seconds = cpuSeconds(() => {
      const result = parseConfigText(text, 'zones.yml');
      assert.equal(result.ok, true);
      if (result.ok) zones = Object.keys(result.config.zones).length;
    });
    assert.equal(zones, 40_000);
    assert.ok(seconds < 5, `took ${seconds.toFixed(2)} s of CPU`);
  });

  it('still reports a repeated zone among 40,000, at its line', () => {
    const text = `${manyZones(40_000)}  z17:\n    timeout: 6\n`;
    const result = parseConfigText(text, 'zones.yml');
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.deepEqual(
      result.problems.map((p) => [p.code, p.path, p.line]),
      [['ECONFIG_DUPLICATE_KEY', 'zones.z17', 80_002]],
    );
  });

  it('a listener naming an unknown zone among 40,000 gets a short message, found by a set lookup', () => {
    const text = `listeners:\n  - {protocol: tcp_table, address: "127.0.0.1:9000", zone: nope}\n${manyZones(40_000)}`;
    const seconds = cpuSeconds(() => {
      const result = parseConfigText(text, 'zones.yml');
      assert.equal(result.ok, false);
      if (result.ok) return;
      assert.equal(result.problems.length, 1);
      assert.equal(result.problems[0]?.code, 'ECONFIG_UNKNOWN_ZONE');
      assert.match(result.problems[0]?.message ?? '', /defined zones: z0, z1, z2, z3, z4, z5, z6, z7, z8, z9, … \(40000 in all\)$/);
    });
    assert.ok(seconds < 5, `took ${seconds.toFixed(2)} s of CPU`);
  });

  it('aliases still work: a zone block shared by 1,000 zones through "<<" and "*"', () => {
    const lines = ['default_zone: &base {timeout: 7, strict_testing: true}', 'zones:'];
    for (let i = 0; i < 500; i++) lines.push(`  m${i}: {<<: *base, tlsrpt: true}`, `  a${i}: *base`);
    const { config } = expectConfig(`${lines.join('\n')}\n`);
    assert.equal(Object.keys(config.zones).length, 1000);
    assert.equal(config.zones.m499?.timeoutSec, 7);
    assert.equal(config.zones.m499?.tlsrpt, true);
    assert.equal(config.zones.a0?.strictTesting, true);
  });
});

describe('alias and merge bombs are refused', () => {
  it('a merge bomb (28 KB naming a million entries) stops at the expansion budget with ECONFIG_TOO_LARGE', () => {
    const lines = ['default_zone: &big'];
    for (let i = 0; i < 1000; i++) lines.push(`  k${i}: 1`);
    lines.push('zones:');
    for (let i = 0; i < 1000; i++) lines.push(`  z${i}: {<<: *big}`);
    const text = `${lines.join('\n')}\n`;
    assert.ok(text.length < 30_000);
    const result = parseConfigText(text, 'bomb.yml');
    assert.equal(result.ok, false);
    if (result.ok) return;
    const tooLarge = result.problems.filter((p) => p.code === 'ECONFIG_TOO_LARGE');
    assert.equal(tooLarge.length, 1);
    assert.match(tooLarge[0]?.message ?? '', /aliases and merge keys expand to more than 250000 entries/);
    // Without the budget every zone would report the 1,000 unknown keys: 1,001,000 problems.
    assert.ok(result.problems.length < CONFIG_ALIAS_EXPANSION_MAX + 2_000, `${result.problems.length} problems`);
  });

  it('a billion-laughs list bomb is refused, with a bounded number of problems', () => {
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i <= 8; i++) lines.push(`a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(', ')}]`);
    lines.push('policy_delegation:', '  skip_domains: *a8');
    const result = parseConfigText(`${lines.join('\n')}\n`, 'laughs.yml');
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.ok(result.problems.length < 100, `${result.problems.length} problems`);
  });

  it('merge sources named through a list of aliases are charged each time', () => {
    const lines = ['default_zone: &b {timeout: 1, k1: 1, k2: 1, k3: 1, k4: 1, k5: 1, k6: 1, k7: 1, k8: 1, k9: 1}'];
    lines.push(`x: &l [${Array.from({ length: 300 }, () => '*b').join(', ')}]`);
    lines.push('zones:');
    for (let i = 0; i < 300; i++) lines.push(`  z${i}: {<<: *l}`);
    const result = parseConfigText(`${lines.join('\n')}\n`, 'cubic.yml');
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.problems.filter((p) => p.code === 'ECONFIG_TOO_LARGE').length, 1);
  });
});
