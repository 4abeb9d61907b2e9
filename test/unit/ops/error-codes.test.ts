/**
 * Every error code is documented, and every documented code exists: codes are part of the
 * product's contract (scripts and log searches depend on them). docs/errors.md is THE page of
 * codes: every code the source throws or logs is listed there. Source codes are the string
 * literals shaped like a code in src/, adapters/ and main/; documented codes are those written as
 * `ECODE`. Every code written anywhere in README.md or docs/ (errors.md included) must exist in
 * the source, so no page names a code that is gone. Codes that come from Node, the OS or c-ares
 * and are only passed through are on an explicit list.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../..', import.meta.url));

/** Passed through from Node, the OS or c-ares (or matched in their messages), not ours to define. */
const PASS_THROUGH = new Set([
  'EACCES',
  'EADDRINUSE',
  'EADDRNOTAVAIL',
  'EAI_AGAIN',
  'ECANCELLED',
  'ECONNREFUSED',
  'ECONNRESET',
  'EDESTRUCTION',
  'EEXIST',
  'EFILE',
  'EMFILE',
  'ENFILE',
  'ENOBUFS',
  'ENODATA',
  'ENOENT',
  'ENOMEM',
  'ENOTDIR',
  'ENOTFOUND',
  'ENOTINITIALIZED',
  'EOTHER',
  'EPERM',
  'EPIPE',
  'EREFUSED',
  'ESERVFAIL',
  'ETIMEOUT',
  'ERR_SSL_',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);
/** Literals shaped like a code that are not codes (a column title of `cache list`). `ERROR` is one: the code of a socket error that has none. */
const NOT_CODES = new Set(['EXPIRES']);

function files(dir: string, ext: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...files(path, ext));
    else if (entry.name.endsWith(ext)) out.push(path);
  }
  return out;
}

function sourceCodes(): Map<string, string> {
  const found = new Map<string, string>();
  for (const file of ['src', 'adapters', 'main'].flatMap((d) => files(join(root, d), '.ts'))) {
    // A quoted literal, or a code in brackets inside a message (`... [ECODE]`).
    for (const m of readFileSync(file, 'utf8').matchAll(/'(E[A-Z][A-Z0-9_]{2,})'|\[(E[A-Z][A-Z0-9_]{2,})\]/g)) {
      const code = (m[1] ?? m[2]) as string;
      if (!NOT_CODES.has(code) && !found.has(code)) found.set(code, file.slice(root.length));
    }
  }
  return found;
}

/** The one page of codes. */
const ERRORS_PAGE = join(root, 'docs', 'errors.md');

/** Codes written as `ECODE` in the given Markdown files, with the first file naming each. */
function codesIn(docs: readonly string[]): Map<string, string> {
  const found = new Map<string, string>();
  for (const file of docs) {
    for (const m of readFileSync(file, 'utf8').matchAll(/`(E[A-Z][A-Z0-9_]{2,})`/g)) {
      if (!found.has(m[1] as string)) found.set(m[1] as string, file.slice(root.length));
    }
  }
  return found;
}

describe('error codes', () => {
  const source = sourceCodes();
  const onErrorsPage = codesIn([ERRORS_PAGE]);
  const anywhere = codesIn([join(root, 'README.md'), ...files(join(root, 'docs'), '.md')]);

  it('the scan finds the codes (guards the scan itself)', () => {
    assert.ok(source.size > 100, `found ${source.size} codes in the source`);
    assert.ok(source.has('ECONFIG_UNKNOWN_KEY') && source.has('EFETCH_TLS'));
    assert.ok(onErrorsPage.size > 100, `found ${onErrorsPage.size} codes in docs/errors.md`);
    assert.ok(onErrorsPage.has('ECONFIG_UNKNOWN_KEY') && onErrorsPage.has('EFETCH_TLS'));
    assert.ok(anywhere.size >= onErrorsPage.size);
  });

  it('every code the source throws or logs is documented in docs/errors.md', () => {
    const missing = [...source].filter(([code]) => !onErrorsPage.has(code) && !PASS_THROUGH.has(code)).map(([c, f]) => `${c} (${f})`);
    assert.deepEqual(missing, [], 'document these in docs/errors.md (or list a pass-through code in this test)');
  });

  it('every code named in README.md or docs/ exists in the source (or is a pass-through code)', () => {
    const stale = [...anywhere]
      .filter(([code]) => !source.has(code) && !PASS_THROUGH.has(code))
      .map(([c, f]) => `${c} (${f})`)
      .sort();
    assert.deepEqual(stale, [], 'remove these from the docs, or they name a code the source no longer has');
  });

  it('every pass-through code on the list is named in docs/errors.md', () => {
    // The list is part of the contract too: a code passed through is listed for readers.
    const page = readFileSync(ERRORS_PAGE, 'utf8');
    const unlisted = [...PASS_THROUGH].filter((code) => !page.includes(`\`${code}`)).sort();
    assert.deepEqual(unlisted, [], 'name these in docs/errors.md, "Passed through"');
  });
});
