/**
 * The MTA-STS policy file (RFC 8461 §3.2). Pure function: text in, data out.
 *
 * Grammar (RFC 8461 §3.2; keywords and keys case-sensitive per RFC 7405 `%s`):
 *
 * ```
 * sts-policy-record   = sts-policy-field *WSP *(sts-policy-term sts-policy-field *WSP) [sts-policy-term]
 * sts-policy-field    = version / mode / max_age / mx / extension   ; in any order
 * field-delim         = ":" *WSP
 * version             = %s"version" field-delim %s"STSv1"
 * mode                = %s"mode" field-delim (%s"testing" / %s"enforce" / %s"none")
 * max_age             = %s"max_age" field-delim 1*10(DIGIT)
 * mx                  = %s"mx" field-delim ["*."] Domain                ; Domain: RFC 5321
 * extension           = ext-name field-delim ext-value
 * ext-name            = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
 * ext-value           = vchar [*(%x20 / vchar) vchar]                  ; vchar: %x21-7E / UTF-8
 * sts-policy-term     = LF / CRLF
 * ```
 *
 * Where the RFC leaves room, the choices below are explained in docs/rfc-decisions.md, "Parsing the TXT record and the policy file".
 */
import { domainToASCII } from 'node:url';
import { aLabelsDecode, isValidAsciiDomain } from './domain.js';
import type { ParseProblem, ParseResult, PolicyMode, StsPolicy } from './types.js';

/** Largest policy body accepted. */
export const MAX_POLICY_BYTES = 64 * 1024; // RFC 8461 §3.3
/** Largest `max_age` value, in seconds (about one year). */
export const MAX_MAX_AGE = 31557600; // RFC 8461 §3.2
/** `sts-policy-max-age-value = 1*10(DIGIT)`. */
export const MAX_MAX_AGE_DIGITS = 10; // RFC 8461 §3.2
/** `sts-policy-ext-name`: one letter or digit then up to 31 more characters. */
export const MAX_POLICY_KEY_LENGTH = 32; // RFC 8461 §3.2

/** Stable problem codes of {@link parsePolicyFile}. Listed in docs/errors.md. */
export type PolicyProblemCode =
  | 'EPOLICY_TOO_LARGE'
  | 'EPOLICY_EMPTY'
  | 'EPOLICY_BOM'
  | 'EPOLICY_BLANK_LINE'
  | 'EPOLICY_BARE_CR'
  | 'EPOLICY_CONTROL_CHAR'
  | 'EPOLICY_LINE_SYNTAX'
  | 'EPOLICY_LEADING_WHITESPACE'
  | 'EPOLICY_SPACE_BEFORE_COLON'
  | 'EPOLICY_KEY_INVALID'
  | 'EPOLICY_EXT_VALUE_INVALID'
  | 'EPOLICY_DUPLICATE_FIELD'
  | 'EPOLICY_VERSION_INVALID'
  | 'EPOLICY_VERSION_MISSING'
  | 'EPOLICY_MODE_INVALID'
  | 'EPOLICY_MODE_MISSING'
  | 'EPOLICY_MAX_AGE_INVALID'
  | 'EPOLICY_MAX_AGE_MISSING'
  | 'EPOLICY_MAX_AGE_CLAMPED'
  | 'EPOLICY_MX_INVALID'
  | 'EPOLICY_MX_MISSING';

const BOM = '\uFEFF';
const WSP_ONLY = /^[ \t]*$/;
const WSP_EDGES = /^[ \t]+|[ \t]+$/g;
// CTLs other than HTAB; LF never occurs inside a line and a CRLF's CR is removed before this.
const CONTROL_CHAR = /[\x00-\x08\x0A-\x1F\x7F]/;
const KEY = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;
const MAX_AGE = /^[0-9]{1,10}$/;
// vchar = %x21-7E / UTF-8 (any code unit >= 0x80 in a decoded string); SP only inside.
const EXT_VALUE = /^[\x21-\x7E\u0080-\uFFFF](?:[\x20-\x7E\u0080-\uFFFF]*[\x21-\x7E\u0080-\uFFFF])?$/;
const NON_ASCII = /[^\x00-\x7F]/;
const MODES: ReadonlySet<string> = new Set<PolicyMode>(['enforce', 'testing', 'none']);

type SingleField = 'version' | 'mode' | 'max_age';

/**
 * Parse an MTA-STS policy file body (already decoded to text) by RFC 8461 §3.2. Never throws.
 * Any syntax error, missing required field or invalid value gives `ok: false` with every
 * problem found (each with its 1-based line when it has one). Tolerated oddities (a BOM,
 * blank lines, duplicated fields, `max_age` above the maximum) are `warnings` of a valid result.
 */
export function parsePolicyFile(text: string): ParseResult<StsPolicy> {
  // A decoded string never has more UTF-16 code units than its body had bytes, so this never
  // rejects what the fetcher's byte cap let through; it bounds the work on direct callers.
  if (text.length > MAX_POLICY_BYTES) {
    return fail([problem('EPOLICY_TOO_LARGE', `policy is longer than ${MAX_POLICY_BYTES} bytes`)]);
  }
  const problems: ParseProblem[] = [];
  const warnings: ParseProblem[] = [];
  let body = text;
  if (body.startsWith(BOM)) {
    warnings.push(problem('EPOLICY_BOM', 'ignored a byte order mark at the start of the policy', 1));
    body = body.slice(BOM.length);
  }

  const rawLines = body.split('\n');
  // The last terminator is optional: a final "\n" ends the last line instead of starting a new one.
  if (rawLines[rawLines.length - 1] === '') rawLines.pop();

  const lines: Array<readonly [string, string]> = [];
  const mx: string[] = [];
  const first = new Set<SingleField>();
  let version: 'STSv1' | undefined;
  let mode: PolicyMode | undefined;
  let maxAge: number | undefined;

  const applySingle = (field: SingleField, value: string, lineNo: number): void => {
    switch (field) {
      case 'version':
        if (value === 'STSv1') version = value;
        else problems.push(problem('EPOLICY_VERSION_INVALID', `version must be "STSv1", got ${quote(value)}`, lineNo));
        return;
      case 'mode':
        if (MODES.has(value)) mode = value as PolicyMode;
        else {
          problems.push(problem('EPOLICY_MODE_INVALID', `mode must be enforce, testing or none, got ${quote(value)}`, lineNo));
        }
        return;
      case 'max_age': {
        if (!MAX_AGE.test(value)) {
          problems.push(
            problem('EPOLICY_MAX_AGE_INVALID', `max_age must be 1 to ${MAX_MAX_AGE_DIGITS} digits, got ${quote(value)}`, lineNo),
          );
          return;
        }
        const seconds = Number(value);
        if (seconds > MAX_MAX_AGE) {
          // Clamped, not rejected: see docs/rfc-decisions.md, "Parsing the TXT record and the policy file" (`max_age` above 31557600).
          warnings.push(
            problem('EPOLICY_MAX_AGE_CLAMPED', `max_age ${seconds} is above the maximum ${MAX_MAX_AGE}; using ${MAX_MAX_AGE}`, lineNo),
          );
          maxAge = MAX_MAX_AGE;
        } else {
          maxAge = seconds;
        }
        return;
      }
      default: {
        const _never: never = field;
        return _never;
      }
    }
  };

  rawLines.forEach((raw, index) => {
    const lineNo = index + 1;
    const terminated = index < rawLines.length - 1 || body.endsWith('\n');
    const line = terminated && raw.endsWith('\r') ? raw.slice(0, -1) : raw;

    if (WSP_ONLY.test(line)) {
      warnings.push(problem('EPOLICY_BLANK_LINE', 'ignored a blank line', lineNo));
      return;
    }
    if (line.includes('\r')) {
      problems.push(problem('EPOLICY_BARE_CR', 'a CR not followed by LF is not a line terminator', lineNo));
      return;
    }
    if (CONTROL_CHAR.test(line)) {
      problems.push(problem('EPOLICY_CONTROL_CHAR', 'control character (NUL, ESC, DEL, …) in the line', lineNo));
      return;
    }
    const colon = line.indexOf(':');
    if (colon < 0) {
      problems.push(problem('EPOLICY_LINE_SYNTAX', `expected "key: value", got ${quote(line)}`, lineNo));
      return;
    }
    const key = line.slice(0, colon);
    if (/^[ \t]/.test(key)) {
      problems.push(problem('EPOLICY_LEADING_WHITESPACE', 'whitespace at the start of a line', lineNo));
      return;
    }
    if (/[ \t]$/.test(key)) {
      problems.push(problem('EPOLICY_SPACE_BEFORE_COLON', `whitespace before the colon after ${quote(key)}`, lineNo));
      return;
    }
    if (!KEY.test(key)) {
      problems.push(
        problem(
          'EPOLICY_KEY_INVALID',
          `key ${quote(key)} must be a letter or digit then up to ${MAX_POLICY_KEY_LENGTH - 1} of ` + 'letters, digits, "_", "-", "."',
          lineNo,
        ),
      );
      return;
    }
    const value = line.slice(colon + 1).replace(WSP_EDGES, '');
    lines.push([key, value] as const);

    switch (key) {
      case 'mx': {
        const checked = checkMx(value);
        if (checked.ok) mx.push(checked.mx);
        else problems.push(problem('EPOLICY_MX_INVALID', checked.message, lineNo));
        return;
      }
      case 'version':
      case 'mode':
      case 'max_age': {
        if (first.has(key)) {
          // RFC 8461 §3.2: "senders MUST ignore all but the first". The ignored line must still be
          // a well-formed line, which for a value means a well-formed extension value.
          warnings.push(problem('EPOLICY_DUPLICATE_FIELD', `ignored a second "${key}" line`, lineNo));
          checkExtValue(key, value, lineNo, problems);
          return;
        }
        first.add(key);
        applySingle(key, value, lineNo);
        return;
      }
      default:
        // Extension field: ignored, but it still has to be well-formed.
        checkExtValue(key, value, lineNo, problems);
        return;
    }
  });

  if (lines.length === 0 && problems.length === 0) {
    return fail([problem('EPOLICY_EMPTY', 'the policy has no "key: value" line')]);
  }
  if (!first.has('version')) problems.push(problem('EPOLICY_VERSION_MISSING', 'no "version" line'));
  if (!first.has('mode')) problems.push(problem('EPOLICY_MODE_MISSING', 'no "mode" line'));
  if (!first.has('max_age')) problems.push(problem('EPOLICY_MAX_AGE_MISSING', 'no "max_age" line'));
  // Only meaningful once the mode is known; an unknown mode is reported on its own.
  if (mode !== undefined && mode !== 'none' && mx.length === 0 && !lines.some(([k]) => k === 'mx')) {
    problems.push(problem('EPOLICY_MX_MISSING', `mode ${mode} needs at least one "mx" line`));
  }

  if (problems.length > 0 || version === undefined || mode === undefined || maxAge === undefined) {
    return fail(problems);
  }
  return { ok: true, value: { version, mode, maxAge, mx, lines }, warnings };
}

type MxCheck = { readonly ok: true; readonly mx: string } | { readonly ok: false; readonly message: string };

/**
 * `["*."] Domain` with Domain from RFC 5321 (LDH labels, so IDNs only as A-labels), lower-cased.
 * The wildcard is only ever the whole left-most label.
 */
function checkMx(value: string): MxCheck {
  if (value === '') return { ok: false, message: 'empty mx value' };
  if (NON_ASCII.test(value)) {
    return {
      ok: false,
      message: `mx ${quote(value)} is not ASCII: internationalized names must be written as A-labels (xn--…)`,
    };
  }
  const lower = value.toLowerCase();
  const wildcard = lower.startsWith('*.');
  const name = wildcard ? lower.slice(2) : lower;
  if (name.includes('*')) {
    return { ok: false, message: `mx ${quote(value)}: "*" is only allowed as the whole left-most label ("*.")` };
  }
  // domainToASCII catches malformed "xn--" labels that a pure LDH check lets through.
  if (!isValidAsciiDomain(name) || domainToASCII(name) !== name || !aLabelsDecode(name)) {
    return { ok: false, message: `mx ${quote(value)} is not a valid host name` };
  }
  return { ok: true, mx: lower };
}

function checkExtValue(key: string, value: string, lineNo: number, problems: ParseProblem[]): void {
  if (!EXT_VALUE.test(value)) {
    problems.push(
      problem(
        'EPOLICY_EXT_VALUE_INVALID',
        `value of ${quote(key)} must be non-empty, without tabs or control characters, got ${quote(value)}`,
        lineNo,
      ),
    );
  }
}

function problem(code: PolicyProblemCode, message: string, line?: number): ParseProblem {
  return line === undefined ? { code, message } : { code, message, line };
}

function fail(problems: readonly ParseProblem[]): ParseResult<never> {
  return { ok: false, problems };
}

/** JSON-quoted and cut short, so a hostile policy cannot flood a log line. */
function quote(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);
}
