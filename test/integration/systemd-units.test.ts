/**
 * The shipped systemd units, checked with the real systemd-analyze: the exposure score of the
 * daemon's and the generator's service (issue 9: at most 2.0), and a clean `verify` of every
 * unit. `verify` checks that ExecStart's binary exists, so it runs against a temporary root
 * holding the units, systemd's own units and a stub /usr/bin/mta-sts-bridge; man: links are
 * not checked (`--man=no`: the pages are installed by the package, test/integration/man-pages).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toolGate } from './harness/gate.js';

const ANALYZE = '/usr/bin/systemd-analyze';
const ROOT = new URL('../../../', import.meta.url).pathname;
const MAX_EXPOSURE = 2.0;
const UNITS = [
  'conf-examples/systemd/mta-sts-bridge.service',
  'conf-examples/systemd/mta-sts-bridge.socket',
  'conf-examples/cron/mta-sts-bridge-generate.service',
  'conf-examples/cron/mta-sts-bridge-generate.timer',
];

function analyze(args: readonly string[]): { status: number | null; out: string } {
  const r = spawnSync(ANALYZE, args, { encoding: 'utf8', env: { ...process.env, SYSTEMD_COLORS: '0', SYSTEMD_PAGER: '' } });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

function exposure(unit: string): number {
  const r = analyze(['security', '--offline=true', '--no-pager', join(ROOT, unit)]);
  const m = /Overall exposure level for \S+: (\d+\.\d+)/.exec(r.out);
  assert.ok(m !== null, r.out);
  return Number(m[1]);
}

const gate = toolGate(() =>
  spawnSync(ANALYZE, ['--version'], { encoding: 'utf8' }).status === 0
    ? undefined
    : `${ANALYZE} not found: apt-get install systemd (bash .ci/run installs it)`,
);

describe('shipped systemd units', { skip: gate.skip }, () => {
  before(() => gate.assertReady());

  for (const unit of ['conf-examples/systemd/mta-sts-bridge.service', 'conf-examples/cron/mta-sts-bridge-generate.service']) {
    it(`${unit}: systemd-analyze security at most ${MAX_EXPOSURE}`, () => {
      const score = exposure(unit);
      assert.ok(score <= MAX_EXPOSURE, `${unit} exposure ${score} > ${MAX_EXPOSURE}`);
    });
  }

  it('the daemon unit is Type=notify with ExecReload, WatchdogSec, DynamicUser, StateDirectory and RuntimeDirectory', () => {
    const text = readFileSync(join(ROOT, 'conf-examples/systemd/mta-sts-bridge.service'), 'utf8');
    for (const line of [
      /^Type=notify$/m,
      /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m,
      /^WatchdogSec=\d+s?$/m,
      /^DynamicUser=yes$/m,
      /^StateDirectory=mta-sts-bridge$/m,
      /^RuntimeDirectory=mta-sts-bridge$/m,
    ]) {
      assert.match(text, line);
    }
  });

  describe('systemd-analyze verify', () => {
    let root = '';
    before(() => {
      root = mkdtempSync(join(tmpdir(), 'mta-sts-units-'));
      mkdirSync(join(root, 'etc/systemd/system'), { recursive: true });
      mkdirSync(join(root, 'usr/bin'), { recursive: true });
      mkdirSync(join(root, 'bin'), { recursive: true });
      mkdirSync(join(root, 'usr/lib/systemd'), { recursive: true });
      // systemd's own units (sysinit.target, ...), copied: a symlinked directory loops under --root.
      cpSync('/usr/lib/systemd/system', join(root, 'usr/lib/systemd/system'), { recursive: true, verbatimSymlinks: true });
      writeFileSync(join(root, 'usr/bin/mta-sts-bridge'), '#!/bin/sh\nexit 0\n');
      chmodSync(join(root, 'usr/bin/mta-sts-bridge'), 0o755);
      copyFileSync('/bin/kill', join(root, 'bin/kill'));
      chmodSync(join(root, 'bin/kill'), 0o755);
      for (const unit of UNITS) copyFileSync(join(ROOT, unit), join(root, 'etc/systemd/system', unit.split('/').pop() as string));
    });
    after(() => rmSync(root, { recursive: true, force: true }));

    const verify = (): { status: number | null; out: string } =>
      analyze(['verify', '--man=no', `--root=${root}`, ...UNITS.map((u) => `/etc/systemd/system/${u.split('/').pop() as string}`)]);

    it('every shipped unit verifies clean', () => {
      const r = verify();
      assert.equal(r.out.trim(), '');
      assert.equal(r.status, 0);
    });

    it('verify does look at ExecStart: without the binary it fails', () => {
      rmSync(join(root, 'usr/bin/mta-sts-bridge'));
      try {
        const r = verify();
        assert.notEqual(r.status, 0);
        assert.match(r.out, /\/usr\/bin\/mta-sts-bridge is not executable/);
      } finally {
        writeFileSync(join(root, 'usr/bin/mta-sts-bridge'), '#!/bin/sh\nexit 0\n');
        chmodSync(join(root, 'usr/bin/mta-sts-bridge'), 0o755);
      }
    });
  });
});
