/**
 * The man pages built by `npm run build` (scripts/build-man.mjs, marked-man) render with
 * `man -l`, have the usual sections, and cover the product: mta-sts-bridge(8) every command and
 * every option the parser accepts; mta-sts-bridge.yml(5) every top-level configuration key.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { COMMAND_NAMES, COMMANDS, optionLabel } from '../../../main/cli/help.js';
import { TOP_LEVEL_KEYS } from '../../../src/config/schema.js';

const MAN_DIR = fileURLToPath(new URL('../../../man/', import.meta.url));
const PACKAGE = JSON.parse(readFileSync(fileURLToPath(new URL('../../../../package.json', import.meta.url)), 'utf8')) as { man: string[] };

/** `man -l` output as plain text (no overstrike), and its complaints other than line filling. */
function render(page: string): { text: string; complaints: string[] } {
  const path = `${MAN_DIR}${page}`;
  assert.ok(existsSync(path), `${path} is not built: run npm run build`);
  const r = spawnSync('man', ['-l', path], {
    encoding: 'utf8',
    env: { ...process.env, MANWIDTH: '100', MAN_KEEP_FORMATTING: '', PAGER: 'cat' },
  });
  assert.equal(r.status, 0, r.stderr);
  const complaints = r.stderr.split('\n').filter((l) => l !== '' && !/cannot adjust line|can't break line/.test(l));
  // col -b would do it too; the overstrike backspaces are removed by hand to need nothing else.
  // Justified lines have runs of spaces: one space stands for any run.
  return { text: r.stdout.replace(/.\x08/g, '').replace(/(\S) {2,}(?=\S)/g, '$1 '), complaints };
}

describe('man pages', () => {
  it('package.json installs both pages', () => {
    assert.deepEqual(PACKAGE.man, ['./dist/man/mta-sts-bridge.8', './dist/man/mta-sts-bridge.yml.5']);
  });

  it('mta-sts-bridge(8): sections, every command, every option', () => {
    const { text, complaints } = render('mta-sts-bridge.8');
    assert.deepEqual(complaints, []);
    assert.match(text, /^MTA-STS-BRIDGE\(8\)/);
    for (const section of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'COMMANDS', 'SIGNALS', 'ENVIRONMENT', 'FILES', 'EXIT STATUS', 'SEE ALSO']) {
      assert.match(text, new RegExp(`^${section}$`, 'm'), `no ${section} section`);
    }
    for (const name of COMMAND_NAMES) {
      assert.match(text, new RegExp(`^ {3}${name}$`, 'm'), `no subsection for ${name}`);
      for (const o of COMMANDS[name].options) {
        assert.ok(text.includes(optionLabel(o).trim()), `${name}: ${optionLabel(o).trim()} is not in the page`);
      }
    }
    assert.match(text, /SIGHUP/);
  });

  it('mta-sts-bridge.yml(5): sections and every top-level key', () => {
    const { text, complaints } = render('mta-sts-bridge.yml.5');
    assert.deepEqual(complaints, []);
    assert.match(text, /^MTA-STS-BRIDGE\.YML\(5\)/);
    for (const section of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'KEYS', 'ZONES', 'LISTENERS', 'SEE ALSO']) {
      assert.match(text, new RegExp(`^${section}`, 'mi'), `no ${section} section`);
    }
    for (const key of TOP_LEVEL_KEYS) assert.ok(text.includes(key), `top-level key ${key} is not in the page`);
  });
});
