/**
 * The man pages, built from docs/man/*.md by the build's marked-man step
 * (scripts/build-man.mjs) and rendered with the real man(1): their sections, every
 * subcommand and every option of every command's --help.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HELP_TOPICS } from '../../src/cli/usage.js';

const ROOT = new URL('../../../', import.meta.url).pathname;

function render(page: string): string {
  // A wide terminal so no option name is hyphenated across lines.
  const r = spawnSync('man', ['-l', page], { encoding: 'utf8', env: { ...process.env, MANWIDTH: '200', MAN_KEEP_FORMATTING: '', LANG: 'C.UTF-8' } });
  assert.equal(r.status, 0, r.stderr);
  // Strip any overstrike formatting that a pager-less man may leave.
  return r.stdout.replace(/.\x08/g, '');
}

describe('man pages', () => {
  let dir = '';
  let written: string[] = [];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mta-sts-man-'));
    const script = join(ROOT, 'scripts/build-man.mjs');
    const mod = (await import(script)) as { buildManPages: (out: string) => string[] };
    written = mod.buildManPages(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the build writes both pages named in package.json "man"', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { man: string[] };
    assert.deepEqual(pkg.man, ['dist/man/mta-sts-bridge.8', 'dist/man/mta-sts-bridge.yml.5']);
    assert.deepEqual(written.map((p) => p.slice(dir.length + 1)).sort(), ['mta-sts-bridge.8', 'mta-sts-bridge.yml.5']);
  });

  it('mta-sts-bridge(8) has its sections, every subcommand and every --help option', () => {
    const text = render(join(dir, 'mta-sts-bridge.8'));
    assert.match(text, /^MTA-STS-BRIDGE\(8\) +System Manager's Manual/);
    for (const section of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'COMMANDS', 'OPTIONS', 'EXIT STATUS', 'SEE ALSO']) {
      assert.match(text, new RegExp(`^${section}$`, 'm'), `no ${section} section`);
    }
    for (const [cmd, help] of Object.entries(HELP_TOPICS)) {
      assert.match(text, new RegExp(`^ +mta-sts-bridge ${cmd}\\b`, 'm'), `SYNOPSIS lacks ${cmd}`);
      for (const m of help.matchAll(/^ {2}(?:-\w, | {4})(--[a-z-]+)/gm)) {
        assert.ok(text.includes(m[1] as string), `the page lacks ${cmd}'s ${m[1] as string}`);
      }
    }
    assert.match(text, /-V, --version/);
  });

  it('mta-sts-bridge.yml(5) has its sections and the main keys', () => {
    const text = render(join(dir, 'mta-sts-bridge.yml.5'));
    assert.match(text, /^MTA-STS-BRIDGE\.YML\(5\) +File Formats Manual/);
    for (const section of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'OPTIONS', 'EXAMPLE', 'SEE ALSO']) {
      assert.match(text, new RegExp(`^${section}$`, 'm'), `no ${section} section`);
    }
    for (const key of ['listeners', 'cache', 'zones', 'default_zone', 'reuse_port', 'logging', 'state_directory']) {
      assert.match(text, new RegExp(`\\b${key}\\b`), `the page lacks ${key}`);
    }
  });
});
