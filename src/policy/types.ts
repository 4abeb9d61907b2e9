/**
 * Data types of RFC 8461 as this project models them. Pure data: no Postfix, no I/O.
 */

/** `mode:` of a policy file (RFC 8461 §3.2). */
export type PolicyMode = 'enforce' | 'testing' | 'none';

/** A parsed, valid `_mta-sts` TXT record (RFC 8461 §3.1). */
export interface StsRecord {
  /** `id=` value: 1-32 letters or digits. */
  readonly id: string;
  /** Extension fields in record order, first occurrence of each name only. */
  readonly extensions: ReadonlyArray<readonly [name: string, value: string]>;
  /** The record as seen: its strings concatenated without separators. */
  readonly text: string;
}

/** A parsed, valid policy file (RFC 8461 §3.2). JSON-able. */
export interface StsPolicy {
  readonly version: 'STSv1';
  readonly mode: PolicyMode;
  /** Seconds, 0..31557600 (see docs/rfc-decisions.md: "where the RFC is ambiguous"). */
  readonly maxAge: number;
  /** `mx:` values in file order, lower-cased A-labels, as written (`*.example.net` kept in `*.` form). */
  readonly mx: readonly string[];
  /**
   * Every `key: value` line of the file in file order (including ignored extension lines and
   * duplicates), with the value trimmed of trailing whitespace. Used for Postfix's
   * `{ policy_string = ... }` attributes (TLSRPT, RFC 8460 §4.4).
   */
  readonly lines: ReadonlyArray<readonly [key: string, value: string]>;
}

/** A coded problem found by a parser. `code` is stable and listed in docs/errors.md. */
export interface ParseProblem {
  readonly code: string;
  readonly message: string;
  /** 1-based line number in a policy file, when the problem is on a line. */
  readonly line?: number;
}

export type ParseResult<T> =
  | { readonly ok: true; readonly value: T; readonly warnings: readonly ParseProblem[] }
  | { readonly ok: false; readonly problems: readonly ParseProblem[] };
