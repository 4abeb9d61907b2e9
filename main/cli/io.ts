/**
 * What subcommands print through, so tests can capture output without touching the process.
 */
import { readFileSync } from 'node:fs';
import { BridgeError } from '../../src/errors.js';
import { formatProblem } from '../../src/config/problems.js';
import type { ConfigProblem } from '../../src/config/problems.js';

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
 * Print a usage error as one line, then a one-line hint to the command's help; returns
 * EXIT_ERROR. `command` absent: the hint points at the overview.
 */
export function usageError(io: CliIo, message: string, command?: string): number {
  const help = command === undefined ? `${PROGRAM} --help` : `${PROGRAM} ${command} --help`;
  io.err(`${PROGRAM}${command === undefined ? '' : ` ${command}`}: ${message} [EUSAGE]\nTry "${help}".\n`);
  return EXIT_ERROR;
}
