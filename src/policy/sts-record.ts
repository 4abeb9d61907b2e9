/**
 * The `_mta-sts` TXT record (RFC 8461 §3.1). Pure functions: text in, data out.
 *
 * Grammar (RFC 8461 §3.1, keywords case-sensitive per RFC 7405 `%s`):
 *
 * ```
 * sts-text-record = sts-version 1*(sts-field-delim sts-field) [sts-field-delim]
 * sts-version     = %s"v=STSv1"
 * sts-field       = sts-id / sts-extension
 * sts-field-delim = *WSP ";" *WSP
 * sts-id          = %s"id=" 1*32(ALPHA / DIGIT)
 * sts-extension   = sts-ext-name "=" sts-ext-value
 * sts-ext-name    = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
 * sts-ext-value   = 1*(%x21-3A / %x3C / %x3E-7E)
 * ```
 */
import type { ParseProblem, ParseResult, StsRecord } from './types.js';

/** RFC 8461 §3.1: `sts-id = %s"id=" 1*32(ALPHA / DIGIT)`. */
export const MAX_STS_ID_LENGTH = 32;
/** RFC 8461 §3.1: `sts-ext-name` is one leading character then up to 31 more. */
export const MAX_STS_EXT_NAME_LENGTH = 32;

/** Stable problem codes of {@link parseStsRecord}. Listed in docs/errors.md. */
export type StsProblemCode =
  | 'ESTS_NOT_STS'
  | 'ESTS_EMPTY_FIELD'
  | 'ESTS_FIELD_SYNTAX'
  | 'ESTS_EXT_NAME_INVALID'
  | 'ESTS_EXT_VALUE_INVALID'
  | 'ESTS_TRAILING_WHITESPACE'
  | 'ESTS_ID_INVALID'
  | 'ESTS_ID_MISSING'
  | 'ESTS_DUPLICATE_FIELD';

const VERSION = 'v=STSv1';
// The delimiter is mandatory after the version (the ABNF needs at least one field after it),
// and `*WSP` before `;` is allowed, so `v=STSv1 ;` qualifies while `v=STSv10;` does not.
const CANDIDATE = /^v=STSv1[ \t]*;/;
const ID_VALUE = /^[A-Za-z0-9]{1,32}$/;
/** sts-ext-name (RFC 8461 §3.1), also RFC 8460's tlsrpt-ext-name (src/check/tlsrpt-record.ts). */
export const EXT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;
/** sts-ext-value, also tlsrpt-ext-value: %x21-3A / %x3C / %x3E-7E, printable ASCII but space, ";" and "=". */
export const EXT_VALUE = /^[\x21-\x3A\x3C\x3E-\x7E]+$/;
const LEADING_WSP = /^[ \t]+/;
const TRAILING_WSP = /[ \t]+$/;

/**
 * True when `text` (the TXT record's strings concatenated) is an MTA-STS record candidate:
 * it starts with `v=STSv1`, optional spaces/tabs, then `;`. RFC 8461 §3.1 says records not
 * beginning with `v=STSv1;` are discarded; the `*WSP` of `sts-field-delim` (erratum 6285)
 * is allowed. `v=STSv1` alone is not a candidate: the ABNF requires a delimiter and a field.
 * Call this to count candidates before {@link parseStsRecord}; a candidate may still be invalid.
 */
export function isStsRecordCandidate(text: string): boolean {
  return CANDIDATE.test(text);
}

/**
 * Parse one `_mta-sts` TXT record (its strings already concatenated) by the full RFC 8461
 * §3.1 grammar. Never throws. Any syntax error gives `ok: false` with every problem found;
 * duplicated fields are warnings (the first occurrence counts).
 */
export function parseStsRecord(text: string): ParseResult<StsRecord> {
  const problems: ParseProblem[] = [];
  const warnings: ParseProblem[] = [];
  if (!isStsRecordCandidate(text)) {
    return fail([problem('ESTS_NOT_STS', `record does not start with "${VERSION};"`)]);
  }

  // Splitting on ";" is exact: no field may contain ";" (it is outside sts-ext-value).
  // pieces[0] is the whitespace between "v=STSv1" and the first ";" (checked above).
  const pieces = text.slice(VERSION.length).split(';');
  let id: string | undefined;
  const extensions: Array<readonly [string, string]> = [];
  const seen = new Set<string>(['v']);

  for (let i = 1; i < pieces.length; i++) {
    const isLast = i === pieces.length - 1;
    let field = (pieces[i] ?? '').replace(LEADING_WSP, '');
    if (isLast) {
      // Only an optional trailing delimiter may end the record: "…; " is fine, but a last field
      // followed by whitespace and no ";" is outside the grammar.
      if (field === '') break;
      if (TRAILING_WSP.test(field)) {
        problems.push(problem('ESTS_TRAILING_WHITESPACE', 'whitespace after the last field is only allowed before a ";"'));
        field = field.replace(TRAILING_WSP, '');
      }
    } else {
      field = field.replace(TRAILING_WSP, '');
    }
    if (field === '') {
      problems.push(problem('ESTS_EMPTY_FIELD', `empty field ${i} (two ";" in a row?)`));
      continue;
    }
    const eq = field.indexOf('=');
    if (eq < 0) {
      problems.push(problem('ESTS_FIELD_SYNTAX', `field ${JSON.stringify(field)} is not name=value`));
      continue;
    }
    const name = field.slice(0, eq);
    const value = field.slice(eq + 1);

    // The first "id" is the policy id and must match sts-id. Reading a malformed first "id=" as
    // an extension named "id" (which the ABNF would allow) would only hide the real mistake.
    if (name === 'id' && !seen.has('id')) {
      seen.add('id');
      if (ID_VALUE.test(value)) {
        id = value;
      } else {
        problems.push(problem('ESTS_ID_INVALID', `id must be 1 to ${MAX_STS_ID_LENGTH} letters or digits, got ${JSON.stringify(value)}`));
      }
      continue;
    }
    if (!EXT_NAME.test(name)) {
      problems.push(
        problem(
          'ESTS_EXT_NAME_INVALID',
          `field name ${JSON.stringify(name)} must be a letter or digit then up to ` +
            `${MAX_STS_EXT_NAME_LENGTH - 1} of letters, digits, "_", "-", "."`,
        ),
      );
      continue;
    }
    if (!EXT_VALUE.test(value)) {
      problems.push(
        problem(
          'ESTS_EXT_VALUE_INVALID',
          `value of ${name} must be non-empty printable ASCII without space, ";" or "=", ` + `got ${JSON.stringify(value)}`,
        ),
      );
      continue;
    }
    if (seen.has(name)) {
      warnings.push(problem('ESTS_DUPLICATE_FIELD', `duplicate field ${name}: the first one counts`));
      continue;
    }
    seen.add(name);
    extensions.push([name, value] as const);
  }

  if (!seen.has('id')) {
    problems.push(problem('ESTS_ID_MISSING', 'the record has no id= field'));
  }
  if (problems.length > 0 || id === undefined) return fail(problems);
  return { ok: true, value: { id, extensions, text }, warnings };
}

function problem(code: StsProblemCode, message: string): ParseProblem {
  return { code, message };
}

function fail(problems: readonly ParseProblem[]): ParseResult<never> {
  return { ok: false, problems };
}
