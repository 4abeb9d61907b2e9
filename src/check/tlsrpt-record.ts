/**
 * The `_smtp._tls` TXT record of SMTP TLS Reporting (RFC 8460 §3). Pure: text in, data out.
 *
 * ```
 * tlsrpt-record    = tlsrpt-version 1*(field-delim tlsrpt-field) [field-delim]
 * field-delim      = *WSP ";" *WSP
 * tlsrpt-field     = tlsrpt-rua / tlsrpt-extension
 * tlsrpt-version   = %s"v=TLSRPTv1"
 * tlsrpt-rua       = %s"rua=" tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri)
 * tlsrpt-uri       = URI     ; "," and ";" percent-encoded
 * tlsrpt-extension = tlsrpt-ext-name "=" tlsrpt-ext-value
 * tlsrpt-ext-name  = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
 * tlsrpt-ext-value = 1*(%x21-3A / %x3C / %x3E-7E)
 * ```
 * The extension name and value rules are RFC 8461's (sts-ext-name, sts-ext-value), so they
 * are the MTA-STS record parser's own (src/policy/sts-record.ts).
 * RFC 8460 §3: records not starting with `v=TLSRPTv1` are discarded; with not exactly one left
 * the domain does not do TLSRPT. Report URIs are `mailto:` or `https:` (§3, §5.3, §5.4).
 */
import { EXT_NAME, EXT_VALUE } from '../policy/sts-record.js';
import type { ParseProblem } from '../policy/types.js';

/** RFC 8460 §3: the record lives at this label under the policy domain. */
export const TLSRPT_LABEL = '_smtp._tls';

export type TlsrptProblemCode =
  'ETLSRPT_FIELD_SYNTAX' | 'ETLSRPT_RUA_MISSING' | 'ETLSRPT_RUA_SCHEME' | 'ETLSRPT_RUA_INVALID' | 'ETLSRPT_DUPLICATE_FIELD';

export interface TlsrptRecord {
  readonly rua: readonly string[];
  readonly extensions: ReadonlyArray<readonly [string, string]>;
}

export type TlsrptParse =
  | { readonly ok: true; readonly value: TlsrptRecord; readonly warnings: readonly ParseProblem[] }
  | { readonly ok: false; readonly problems: readonly ParseProblem[] };

const CANDIDATE = /^v=TLSRPTv1[ \t]*(;|$)/;

export function isTlsrptCandidate(text: string): boolean {
  return CANDIDATE.test(text);
}

function problem(code: TlsrptProblemCode, message: string): ParseProblem {
  return { code, message };
}

/** One report URI: `mailto:` with an address, or an `https:` URL with a host. */
export function checkRuaUri(uri: string): ParseProblem | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return problem('ETLSRPT_RUA_INVALID', `rua URI ${JSON.stringify(uri)} is not a URI`);
  }
  switch (url.protocol) {
    case 'mailto:':
      return /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(decodeURIComponent(url.pathname))
        ? undefined
        : problem('ETLSRPT_RUA_INVALID', `rua ${JSON.stringify(uri)} has no valid mail address`);
    case 'https:':
      return url.hostname !== '' ? undefined : problem('ETLSRPT_RUA_INVALID', `rua ${JSON.stringify(uri)} has no host`);
    default:
      return problem('ETLSRPT_RUA_SCHEME', `rua ${JSON.stringify(uri)}: only mailto: and https: are defined (RFC 8460 §3)`);
  }
}

/** Parse one candidate record (its strings concatenated). Never throws. */
export function parseTlsrptRecord(text: string): TlsrptParse {
  const problems: ParseProblem[] = [];
  const warnings: ParseProblem[] = [];
  let rua: string[] | undefined;
  const extensions: Array<readonly [string, string]> = [];
  const seen = new Set<string>();
  const fields = text
    .replace(/^v=TLSRPTv1/, '')
    .split(';')
    .map((f) => f.replace(/^[ \t]+|[ \t]+$/g, ''));
  // fields[0] is what stood between the version and the first ";": nothing but blanks.
  for (const [i, field] of fields.entries()) {
    if (i === 0 || (field === '' && i === fields.length - 1)) continue;
    const eq = field.indexOf('=');
    if (eq <= 0) {
      problems.push(problem('ETLSRPT_FIELD_SYNTAX', `field ${JSON.stringify(field)} is not name=value`));
      continue;
    }
    const name = field.slice(0, eq);
    const value = field.slice(eq + 1);
    if (seen.has(name)) {
      warnings.push(problem('ETLSRPT_DUPLICATE_FIELD', `duplicate field ${name}: the first one counts`));
      continue;
    }
    seen.add(name);
    if (name === 'rua') {
      rua = value.split(',').map((u) => u.trim());
      for (const uri of rua) {
        const p = checkRuaUri(uri);
        if (p !== undefined) problems.push(p);
      }
    } else if (!EXT_NAME.test(name) || !EXT_VALUE.test(value)) {
      problems.push(problem('ETLSRPT_FIELD_SYNTAX', `extension ${JSON.stringify(field)} is not a valid name=value`));
    } else {
      extensions.push([name, value]);
    }
  }
  if (rua === undefined) problems.push(problem('ETLSRPT_RUA_MISSING', 'no rua= field: reports have nowhere to go'));
  if (problems.length > 0 || rua === undefined) return { ok: false, problems };
  return { ok: true, value: { rua, extensions }, warnings };
}
