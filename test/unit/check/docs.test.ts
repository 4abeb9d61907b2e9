/**
 * docs/check.md is the one place the check ids, the levels and the codes of `check` are
 * documented: it is held against the source here.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CHECK_IDS } from '../../../src/check/types.js';
import { COMMANDS } from '../../../main/cli/help.js';

const doc = readFileSync(fileURLToPath(new URL('../../../../docs/check.md', import.meta.url)), 'utf8');

describe('docs/check.md', () => {
  it('has a row for every check id, in report order, and no other', () => {
    const section = doc.slice(doc.indexOf('## The checks'), doc.indexOf('\n## ', doc.indexOf('## The checks') + 1));
    const rows = [...section.matchAll(/^\| `([a-z-]+)` \|/gm)].map((m) => m[1]);
    assert.deepEqual(rows, [...CHECK_IDS]);
  });
  it('documents every code a domain error can carry and the exit statuses', () => {
    for (const code of ['ECHECK_TIMEOUT', 'ECHECK_LOCAL', 'ECHECK_DOMAIN', 'ECHECK_INTERNAL', 'ECHECK_STATE', 'ECHECK_OUTPUT'])
      assert.ok(doc.includes(`\`${code}\``), code);
    for (const exit of ['| 0 |', '| 1 |', '| 2 |']) assert.ok(doc.includes(exit), exit);
  });
  it('has a row for every option of check (the table help.ts keeps for --help and the man page)', () => {
    const start = doc.indexOf('```\n') + 4;
    const synopsis = doc.slice(start, doc.indexOf('```', start));
    for (const o of COMMANDS.check.options) {
      if (o.name === 'help') continue;
      const label = `--${o.name}${o.arg !== undefined ? ` ${o.arg}` : ''}`;
      assert.ok(doc.includes(`| \`${label}\` |`), `no row for ${label}`);
      assert.ok(synopsis.includes(label), `${label} not in the synopsis`);
    }
  });
  it('shows the terminal and JSON output of a validated DANE match', () => {
    assert.match(doc, /ok {2}dane-tlsa \[[^\]]+\]: TLSA 3 1 1 [0-9a-f]{14}… matches the certificate \(DNSSEC-validated\)/);
    assert.match(doc, /"validated": true/);
  });
  it('shows a cron and a CI example and the JSON schema', () => {
    assert.match(doc, /\/etc\/cron\.d\//);
    assert.match(doc, /reports:\n\s+junit:/);
    assert.match(doc, /"required": \["id", "level", "ok", "message", "evidence"\]/);
  });
});
