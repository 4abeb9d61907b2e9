/**
 * package.json's install-script policy and Node range (docs/node-versions.md): every locked
 * dependency with an install script is reviewed in `allowScripts` (npm 12 skips an unreviewed one,
 * which would leave better-sqlite3 without its native module), by name, since the lockfile
 * carries no `resolved` URLs for npm to match a pinned entry against. And `.ci/run`'s Node 22/24
 * step gates CI, with NODE_LINES_GATING=0 as the opt-out.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../..', import.meta.url));
const readJson = (name: string): unknown => JSON.parse(readFileSync(join(root, name), 'utf8'));

interface PackageJson {
  readonly engines?: { readonly node?: string };
  readonly allowScripts?: Record<string, unknown>;
}
interface LockEntry {
  readonly version?: string;
  readonly hasInstallScript?: boolean;
  readonly resolved?: string;
  readonly link?: boolean;
}
interface Lockfile {
  readonly packages: Record<string, LockEntry>;
}

const pkg = readJson('package.json') as PackageJson;
const lock = readJson('package-lock.json') as Lockfile;

/** Locked dependencies (name → version) whose install scripts npm would run. */
function withInstallScripts(): Map<string, string> {
  const out = new Map<string, string>();
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path === '' || entry.hasInstallScript !== true) continue;
    const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    out.set(name, entry.version ?? '');
  }
  return out;
}

describe('package hygiene', () => {
  it('allowScripts approves better-sqlite3 and unix-dgram, and covers every locked install script', () => {
    const allow = pkg.allowScripts ?? {};
    const scripted = withInstallScripts();
    assert.ok(scripted.has('better-sqlite3'), 'the lockfile marks better-sqlite3 as having an install script');
    assert.equal(allow['better-sqlite3'], true);
    assert.equal(allow['unix-dgram'], true);
    for (const [name, version] of scripted) {
      const decision = allow[name] ?? allow[`${name}@${version}`];
      assert.equal(typeof decision, 'boolean', `${name}@${version} has an install script that allowScripts does not review`);
    }
  });

  it('allowScripts entries are name-only and name locked packages (a pin never matches without resolved URLs)', () => {
    const locked = new Set(Object.keys(lock.packages).map((p) => p.slice(p.lastIndexOf('node_modules/') + 'node_modules/'.length)));
    const resolvedUrls = Object.entries(lock.packages).filter(([p, e]) => p !== '' && e.link !== true && e.resolved !== undefined);
    for (const key of Object.keys(pkg.allowScripts ?? {})) {
      if (resolvedUrls.length === 0) assert.doesNotMatch(key, /.@/, `"${key}": pinned, but the lockfile has no resolved URLs`);
      assert.ok(locked.has(key.replace(/(.)@.*$/, '$1')), `allowScripts names "${key}", which is not in the lockfile`);
    }
  });

  it('engines.node is >=20 (Node 22 and 24 are checked by .ci/node-lines.sh)', () => {
    assert.equal(pkg.engines?.node, '>=20');
  });

  it(".ci/run's Node 22/24 step fails CI when .ci/node-lines.sh fails, unless NODE_LINES_GATING=0", () => {
    // The step, as .ci/run has it (its last block), run against a stand-in node-lines.sh.
    const ciRun = readFileSync(join(root, '.ci/run'), 'utf8');
    const at = ciRun.indexOf('# Node 22 and 24:');
    assert.ok(at > 0, '.ci/run has the Node 22/24 step');
    const step = ciRun.slice(at);
    assert.match(step, /bash \.ci\/node-lines\.sh 22 24/);
    const dir = mkdtempSync(join(tmpdir(), 'ci-run-step-'));
    try {
      mkdirSync(join(dir, '.ci'));
      const run = (nodeLinesStatus: number, gating: string | undefined): { status: number | null; args: string } => {
        writeFileSync(join(dir, '.ci/node-lines.sh'), `echo "$@" > args\nexit ${nodeLinesStatus}\n`);
        chmodSync(join(dir, '.ci/node-lines.sh'), 0o755);
        const env = { ...process.env };
        delete env['NODE_LINES_GATING'];
        if (gating !== undefined) env['NODE_LINES_GATING'] = gating;
        const r = spawnSync('bash', ['-euo', 'pipefail', '-c', step], { cwd: dir, env, encoding: 'utf8' });
        return { status: r.status, args: readFileSync(join(dir, 'args'), 'utf8').trim() };
      };
      assert.deepEqual(run(1, undefined), { status: 1, args: '22 24' }, 'a failure fails CI by default');
      assert.equal(run(1, '1').status, 1);
      assert.deepEqual(run(1, '0'), { status: 0, args: '22 24' }, 'NODE_LINES_GATING=0: still run, not gating');
      assert.equal(run(0, undefined).status, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
