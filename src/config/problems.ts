/**
 * What config validation reports: problems with a stable code, the dotted path of the key and
 * its line, and the error thrown when a file cannot be used.
 */
import { BridgeError, type BridgeErrorCode } from '../errors.js';
import type { BridgeConfig } from './types.js';

/** Stable problem codes; docs/errors.md lists them. */
export type ConfigProblemCode =
  | 'ECONFIG_READ'
  | 'ECONFIG_TOO_LARGE'
  | 'ECONFIG_SYNTAX'
  | 'ECONFIG_DUPLICATE_KEY'
  | 'ECONFIG_UNKNOWN_KEY'
  | 'ECONFIG_TYPE'
  | 'ECONFIG_RANGE'
  | 'ECONFIG_BAD_VALUE'
  | 'ECONFIG_ADDRESS'
  | 'ECONFIG_MISSING_KEY'
  | 'ECONFIG_DUPLICATE_LISTENER'
  | 'ECONFIG_UNKNOWN_ZONE'
  | 'ECONFIG_NO_LISTENER'
  | 'ECONFIG_UNSUPPORTED'
  | 'ECONFIG_IGNORED'
  | 'ECONFIG_YAML_WARNING';

/** One thing wrong with (or worth saying about) a config file. */
export interface ConfigProblem {
  code: ConfigProblemCode;
  /** Dotted path of the key: `zones.myzone.timeout`, `listeners[1].address`; '' for the whole file. */
  path: string;
  /** 1-based line of the offending key or value, when known. */
  line?: number;
  /** 1-based column, when known. */
  column?: number;
  message: string;
}

/** `a.b`, `a["odd.key"]`, `a[2]`: the dotted path of key and index segments. */
export function pathText(segments: readonly PropertyKey[]): string {
  return segments.reduce<string>((p, s) => {
    if (typeof s === 'number') return `${p}[${s}]`;
    const key = String(s);
    if (/^[A-Za-z0-9_-]+$/.test(key)) return p === '' ? key : `${p}.${key}`;
    return `${p}[${JSON.stringify(key)}]`;
  }, '');
}

/** Outcome of validating config text: a config (perhaps with warnings) or every problem found. */
export type ConfigLoadResult = { ok: true; config: BridgeConfig; warnings: ConfigProblem[] } | { ok: false; problems: ConfigProblem[] };

/** A config that cannot be used; `problems` holds each one, the message lists them all. */
export class ConfigError extends BridgeError {
  readonly problems: readonly ConfigProblem[];
  constructor(code: BridgeErrorCode, message: string, problems: readonly ConfigProblem[], options?: { cause?: unknown }) {
    super(code, message, options);
    this.problems = problems;
    this.name = 'ConfigError';
  }
}

/** `file:line:column: path: message [CODE]`, the shape editors and grep understand. */
export function formatProblem(fileName: string, p: ConfigProblem): string {
  let where = fileName;
  if (p.line !== undefined) where += `:${p.line}`;
  if (p.line !== undefined && p.column !== undefined) where += `:${p.column}`;
  const path = p.path === '' ? '' : `${p.path}: `;
  return `${where}: ${path}${p.message} [${p.code}]`;
}

/** The BridgeError code for a failed load: syntax beats invalid; unsupported only if nothing else is wrong. */
export function errorCodeFor(problems: readonly ConfigProblem[]): BridgeErrorCode {
  if (problems.some((p) => p.code === 'ECONFIG_SYNTAX')) return 'ECONFIG_SYNTAX';
  if (problems.length > 0 && problems.every((p) => p.code === 'ECONFIG_UNSUPPORTED')) return 'ECONFIG_UNSUPPORTED';
  return 'ECONFIG_INVALID';
}

/** Builds the error thrown by `loadConfigFile` for a file that failed validation. */
export function configErrorFromProblems(fileName: string, problems: readonly ConfigProblem[]): ConfigError {
  const head = `${fileName}: ${problems.length === 1 ? '1 problem' : `${problems.length} problems`} in the configuration`;
  const lines = problems.map((p) => `  ${formatProblem(fileName, p)}`);
  return new ConfigError(errorCodeFor(problems), [head, ...lines].join('\n'), problems);
}
