/**
 * The process logger: winston, one line per event on stderr, as text or JSON.
 * Components log through a child logger (`log.child({ component: 'resolver' })`) and use the
 * stable field names of {@link STABLE_FIELDS}, so that log searches keep working across versions.
 */
import winston from 'winston';
import type { Writable } from 'node:stream';
import { inspect } from 'node:util';
import type { LoggingConfig } from '../config/types.js';
import { priorityPrefix, stderrIsJournal } from './journal.js';

/** Levels the configuration and `-v` accept, most severe first (winston's npm levels). */
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Fields printed first, in this order, after the message; any other field follows sorted by
 * name. A fixed order keeps text lines diffable and greppable.
 */
export const STABLE_FIELDS = ['domain', 'zone', 'outcome', 'source', 'reason', 'code', 'listener', 'peer'] as const;

/** Keys of a winston info object that are not fields. */
const RESERVED_KEYS = new Set(['level', 'message', 'component', 'timestamp']);

export interface LoggerOptions {
  /** Overrides `cfg.level` (the CLI's `-v LEVEL`). */
  readonly level?: LogLevel | undefined;
  /** Where lines go; stderr by default (tests pass a stream to capture them). */
  readonly stream?: Writable | undefined;
  /** Overrides `cfg.format` (the CLI's `--log-format`). */
  readonly format?: LogFormat | undefined;
  /**
   * Lines go to the systemd journal: text lines get a `<N>` priority prefix and no timestamp
   * (journald stamps them). Detected from `$JOURNAL_STREAM` when absent and `stream` is stderr.
   */
  readonly journal?: boolean;
}

/** Line formats the configuration and `--log-format` accept. */
export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** True when `value` names a line format. */
export function isLogFormat(value: string): value is LogFormat {
  return (LOG_FORMATS as readonly string[]).includes(value);
}

/** True when `value` names a level this program accepts. */
export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

/** Create the root logger. */
export function createLogger(cfg: LoggingConfig, options: LoggerOptions = {}): winston.Logger {
  const journal = options.journal ?? (options.stream === undefined && stderrIsJournal());
  return skipDisabledLevels(
    winston.createLogger({
      level: options.level ?? cfg.level,
      levels: winston.config.npm.levels,
      format: lineFormat(options.format ?? cfg.format, journal),
      transports: [new winston.transports.Stream({ stream: options.stream ?? process.stderr })],
      exitOnError: false,
    }),
  );
}

/** The winston format printing one line as `format` says (journal: see {@link formatJournalLine}). */
export function lineFormat(format: LogFormat, journal: boolean): winston.Logform.Format {
  switch (format) {
    case 'json':
      return winston.format.printf((info) => formatJsonLine(info, new Date()));
    case 'text':
      return journal
        ? winston.format.printf((info) => formatJournalLine(info))
        : winston.format.printf((info) => formatTextLine(info, new Date()));
    default: {
      const _never: never = format;
      return _never;
    }
  }
}

/**
 * Apply a reloaded `logging:` section to a running logger (and its children, which read the
 * parent's level and format): the CLI's `-v` and `--log-format`, when given, still win.
 */
export function reconfigureLogger(
  log: winston.Logger,
  cfg: LoggingConfig,
  options: Pick<LoggerOptions, 'level' | 'format'> & { readonly journal: boolean },
): void {
  log.level = options.level ?? cfg.level;
  log.format = lineFormat(options.format ?? cfg.format, options.journal);
}

/**
 * winston 3 builds the info object and runs the whole format for every call and filters by level
 * only in the transport, so a disabled `log.debug(...)` on the lookup path costs as much as an
 * enabled one (measured: ~7.8 µs and 3.3 KiB per call, see docs/benchmarks.md). Make each level
 * method return at once when its level is off. Child loggers inherit the patched methods (winston's
 * `child()` uses the parent as prototype) and read the level from the parent, so `log.level = ...`
 * later still works.
 */
export function skipDisabledLevels(log: winston.Logger): winston.Logger {
  const target = log as unknown as Record<string, (...args: unknown[]) => winston.Logger>;
  for (const level of LOG_LEVELS) {
    const original = target[level];
    if (typeof original !== 'function') continue;
    target[level] = function levelIfEnabled(this: winston.Logger, ...args: unknown[]): winston.Logger {
      return this.isLevelEnabled(level) ? original.apply(this, args) : this;
    };
  }
  return log;
}

/** Fields of `info` other than the reserved ones, stable names first, the rest by name. */
export function orderedFields(info: Record<string, unknown>): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = [];
  for (const key of STABLE_FIELDS) {
    if (info[key] !== undefined) out.push([key, info[key]]);
  }
  const stable = new Set<string>(STABLE_FIELDS);
  const rest = Object.keys(info)
    .filter((k) => !stable.has(k) && !RESERVED_KEYS.has(k) && info[k] !== undefined)
    .sort();
  for (const key of rest) out.push([key, info[key]]);
  return out;
}

/**
 * `2024-05-01T12:00:00.000Z info resolver: fetched policy domain=example.com source=fetched`.
 * Values with spaces, quotes, `=` or control characters are JSON-quoted so a line stays one line
 * and splits unambiguously; arrays are joined with commas, objects shown as JSON.
 */
export function formatTextLine(info: Record<string, unknown>, time: Date | undefined): string {
  const component = typeof info['component'] === 'string' ? info['component'] : 'main';
  let line = `${time === undefined ? '' : `${time.toISOString()} `}${String(info['level'])} ${component}: ${oneLine(messageText(info['message']))}`;
  for (const [key, value] of orderedFields(info)) {
    line += ` ${key}=${textValue(value)}`;
  }
  return line;
}

/** A log message as text: winston passes the string given to it; anything else is shown as inspect(3) would. */
function messageText(message: unknown): string {
  return typeof message === 'string' ? message : message === undefined ? '' : inspect(message, { breakLength: Infinity });
}

/**
 * A text line for the journal: `<6>info resolver: fetched policy domain=...`. The `<N>` syslog
 * priority (sd-daemon(3): 3 err, 4 warning, 6 info, 7 debug) sets the journal's PRIORITY=; no
 * own timestamp, journald records one.
 */
export function formatJournalLine(info: Record<string, unknown>): string {
  return priorityPrefix(info['level']) + formatTextLine(info, undefined);
}

/** One JSON object per line: time, level, component, msg, then the fields in stable order. */
export function formatJsonLine(info: Record<string, unknown>, time: Date): string {
  const obj: Record<string, unknown> = {
    time: time.toISOString(),
    level: info['level'],
    component: typeof info['component'] === 'string' ? info['component'] : 'main',
    msg: messageText(info['message']),
  };
  for (const [key, value] of orderedFields(info)) obj[key] = jsonValue(value);
  try {
    return JSON.stringify(obj);
  } catch {
    // Circular or BigInt values: fall back to their string forms rather than lose the event.
    for (const key of Object.keys(obj))
      obj[key] = typeof obj[key] === 'object' && obj[key] !== null ? inspect(obj[key], { breakLength: Infinity }) : obj[key];
    return JSON.stringify(obj, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  }
}

function jsonValue(value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, code: errorCode(value) };
  return value;
}

function errorCode(err: Error): string | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

function textValue(value: unknown): string {
  if (Array.isArray(value)) return quoteIfNeeded(value.map((v) => plainText(v)).join(','));
  if (typeof value === 'object' && value !== null && !(value instanceof Error)) {
    // JSON splits unambiguously at spaces as long as it has none of its own.
    const json = plainText(value);
    return /\s/.test(json) ? JSON.stringify(json) : json;
  }
  return quoteIfNeeded(plainText(value));
}

function plainText(value: unknown): string {
  if (value instanceof Error) return errorCode(value) !== undefined ? `${errorCode(value)}: ${value.message}` : value.message;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function quoteIfNeeded(s: string): string {
  return s === '' || /[\s"=\u0000-\u001f\u007f]/.test(s) ? JSON.stringify(s) : s;
}

function oneLine(s: string): string {
  return s.replace(/[\r\n\u0000-\u001f\u007f]/g, (c) => JSON.stringify(c).slice(1, -1));
}
