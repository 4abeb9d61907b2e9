/**
 * What subcommands print through, so tests can capture output without touching the process.
 */
import { readFileSync } from 'node:fs';
import { BridgeError } from '../errors.js';
import { formatProblem } from '../config/problems.js';
import type { ConfigProblem } from '../config/problems.js';

export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

export const processIo: CliIo = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

/** Exit statuses shared by the subcommands. */
export const EXIT_OK = 0;
/** `query`: no policy; `serve`: could not start (listen, cache). */
export const EXIT_NEGATIVE = 1;
/** Usage or configuration error; `query`: a lookup error. */
export const EXIT_ERROR = 2;

export const PROGRAM = 'mta-sts-bridge';

/** The package version, read from package.json next to dist/. */
export function packageVersion(): string {
  try {
    const text = readFileSync(new URL('../../../package.json', import.meta.url), 'utf8');
    const version = (JSON.parse(text) as { version?: unknown }).version;
    return typeof version === 'string' ? version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Config problems attached to an error thrown by the config loader, if any. */
export function problemsOf(err: unknown): readonly ConfigProblem[] | undefined {
  const problems = (err as { problems?: unknown } | null)?.problems;
  return Array.isArray(problems) ? (problems as ConfigProblem[]) : undefined;
}

/**
 * Print an error that ends a command: each config problem as `FILE:LINE:COL: path: message
 * [CODE]`, a BridgeError as `mta-sts-bridge: message [CODE]`, anything else with its stack.
 */
export function reportError(io: CliIo, err: unknown, fileName?: string): void {
  const problems = problemsOf(err);
  if (problems !== undefined && problems.length > 0 && fileName !== undefined) {
    for (const p of problems) io.err(`${formatProblem(fileName, p)}\n`);
    return;
  }
  if (err instanceof BridgeError) {
    io.err(`${PROGRAM}: ${err.message} [${err.code}]\n`);
    return;
  }
  io.err(`${PROGRAM}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
}

/**
 * Print a usage error as one line and a hint naming the command's `--help` (`usage` is the
 * command's help text, see usage.ts); returns EXIT_ERROR.
 */
export function usageError(io: CliIo, message: string, usage: string): number {
  const m = new RegExp(`^Usage: ${PROGRAM} ([a-z][a-z-]*)`).exec(usage);
  const command = m?.[1] !== undefined && m[1] !== 'COMMAND' ? `${m[1]} ` : '';
  io.err(`${PROGRAM}: ${message} [EUSAGE]\ntry '${PROGRAM} ${command}--help'\n`);
  return EXIT_ERROR;
}
