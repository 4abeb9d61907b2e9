/**
 * The shipped systemd units, judged by systemd's own tools: `systemd-analyze verify` finds
 * nothing to say, and `systemd-analyze security --offline=true` rates the daemon's unit and the
 * generator's service at most 2.0 (issue "Production operations", point 8). The daemon unit is
 * also checked for what the daemon relies on: Type=notify, a reload by SIGHUP, a watchdog.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from './harness/world.js';

const ANALYZE = '/usr/bin/systemd-analyze';
const MAX_EXPOSURE = 2.0;
const DAEMON = join(repoRoot, 'conf-examples/systemd/mta-sts-bridge.service');
const SOCKET = join(repoRoot, 'conf-examples/systemd/mta-sts-bridge.socket');
const GENERATOR = join(repoRoot, 'conf-examples/cron/mta-sts-bridge-generate.service');
const TIMER = join(repoRoot, 'conf-examples/cron/mta-sts-bridge-generate.timer');

function analyze(args: readonly string[], cwd: string): { code: number | null; out: string } {
  if (!existsSync(ANALYZE)) {
    throw new Error(`${ANALYZE} is missing: install Debian's systemd package (.ci/run does)`);
  }
  const r = spawnSync(ANALYZE, args, { cwd, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

/** The overall exposure systemd-analyze prints last: "Overall exposure level for X: 1.1 OK". */
function exposure(unit: string): number {
  const r = analyze(['security', '--offline=true', '--no-pager', unit], join(unit, '..'));
  const m = /Overall exposure level for \S+: (\d+(?:\.\d+)?)/.exec(r.out);
  assert.ok(m, `no exposure level in:\n${r.out}`);
  return Number(m[1]);
}

/** `Key=value` lines of a unit's [Service] section (comments dropped). */
function serviceSettings(unit: string): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  let section = '';
  for (const raw of readFileSync(unit, 'utf8').split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || line === '') continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1] as string;
      continue;
    }
    const eq = line.indexOf('=');
    if (section !== 'Service' || eq < 0) continue;
    const key = line.slice(0, eq);
    settings.set(key, [...(settings.get(key) ?? []), line.slice(eq + 1)]);
  }
  return settings;
}

/**
 * `verify` checks that each ExecStart binary exists, which depends on where this machine keeps
 * node: it runs against a temporary root with systemd's own units, the shipped ones, and a stub
 * at the unit's binary path. Man pages are not looked up (`--man=no`): the package installs them.
 */
function verifyInRoot(units: readonly string[], stubs: readonly string[]): { code: number | null; out: string } {
  const root = mkdtempSync(join(tmpdir(), 'msb-units-'));
  try {
    mkdirSync(join(root, 'etc/systemd/system'), { recursive: true });
    mkdirSync(join(root, 'usr/lib/systemd'), { recursive: true });
    // Copied, not linked: a symlinked directory loops under --root.
    cpSync('/usr/lib/systemd/system', join(root, 'usr/lib/systemd/system'), { recursive: true, verbatimSymlinks: true });
    for (const stub of stubs) {
      mkdirSync(join(root, stub, '..'), { recursive: true });
      writeFileSync(join(root, stub), '#!/bin/sh\nexit 0\n');
      chmodSync(join(root, stub), 0o755);
    }
    for (const unit of units) copyFileSync(unit, join(root, 'etc/systemd/system', unit.slice(unit.lastIndexOf('/') + 1)));
    return analyze(['verify', '--man=no', `--root=${root}`, ...units.map((u) => `/etc/systemd/system/${u.slice(u.lastIndexOf('/') + 1)}`)], root);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

describe('shipped systemd units', () => {
  const stubs = ['/usr/bin/node', '/bin/kill'];
  it('systemd-analyze verify is clean for every shipped unit', () => {
    const r = verifyInRoot([DAEMON, SOCKET, GENERATOR, TIMER], stubs);
    assert.equal(r.out.trim(), '', `systemd-analyze verify said:\n${r.out}`);
    assert.equal(r.code, 0);
  });
  it('verify does look at the units: without the binary ExecStart names, it fails', () => {
    const r = verifyInRoot([DAEMON, SOCKET, GENERATOR, TIMER], ['/bin/kill']);
    assert.notEqual(r.code, 0);
    assert.match(r.out, /\/usr\/bin\/node is not executable/);
  });
  for (const unit of [DAEMON, GENERATOR]) {
    const name = unit.slice(unit.lastIndexOf('/') + 1);
    it(`${name}: exposure at most ${MAX_EXPOSURE}`, () => {
      const level = exposure(unit);
      assert.ok(level <= MAX_EXPOSURE, `${name} is rated ${level}, above ${MAX_EXPOSURE}`);
    });
  }

  it('the daemon unit asks for what the daemon provides: notify, reload by SIGHUP, watchdog, no capabilities', () => {
    const s = serviceSettings(DAEMON);
    assert.deepEqual(s.get('Type'), ['notify']);
    assert.deepEqual(s.get('ExecReload'), ['/bin/kill -HUP $MAINPID']);
    assert.match(s.get('WatchdogSec')?.[0] ?? '', /^\d+s?$/);
    assert.deepEqual(s.get('CapabilityBoundingSet'), ['']);
    assert.deepEqual(s.get('DynamicUser'), ['yes']);
    assert.deepEqual(s.get('StateDirectory'), ['mta-sts-bridge']);
    // V8 needs W+X pages: a unit that denied them would kill the daemon at start.
    assert.deepEqual(s.get('MemoryDenyWriteExecute'), ['no']);
  });

  it('a weakened unit is rated worse (the check can fail)', () => {
    // The same daemon unit without its sandboxing lines is rated above the bound.
    const stripped = readFileSync(DAEMON, 'utf8')
      .split('\n')
      .filter((l) => !/^(Protect|Private|Restrict|SystemCall|Capability|NoNewPrivileges|DynamicUser|ProcSubset)/.test(l))
      .join('\n');
    const dir = mkdtempSync(join(tmpdir(), 'msb-unit-'));
    try {
      const path = join(dir, 'weak-bridge.service');
      writeFileSync(path, stripped);
      assert.ok(exposure(path) > MAX_EXPOSURE);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
