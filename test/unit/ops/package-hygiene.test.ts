/**
 * package.json's install-script policy and Node range (docs/node-versions.md): every locked
 * dependency with an install script is reviewed in `allowScripts` (npm 12 skips an unreviewed one,
 * which would leave better-sqlite3 without its native module), by name, since the lockfile
 * carries no `resolved` URLs for npm to match a pinned entry against.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
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
});
