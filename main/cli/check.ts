/**
 * `check DOMAIN...`: a domain owner's validator of MTA-STS, TLSRPT and DANE (docs/check.md).
 * Exit 0 all passed, 1 a check failed (a warning too with --strict), 2 the check could not run.
 */
import { writeFileSync } from 'node:fs';
import type { CheckDns } from '../../src/check/dns.js';
import { createSystemCheckDns } from '../../src/check/dns.js';
import { parseResolverAddress, type ResolverAddress } from '../../src/dane/resolver-address.js';
import { formatJunit } from '../../src/check/junit.js';
import { formatJson, formatText } from '../../src/check/output.js';
import { DEFAULT_TIMEOUT_S, runCheck } from '../../src/check/run.js';
import { readState, writeState } from '../../src/check/state.js';
import { exitStatus } from '../../src/check/types.js';
import { parseArgs, stringOption } from './args.js';
import { commandHelp, optionSpecs } from './help.js';
import { EXIT_ERROR, EXIT_OK, PROGRAM, processIo, usageError, type CliIo } from './io.js';

/** Seams for tests; production uses --resolver (or the system's), port 443 and the system's roots. */
export interface CheckCommandDeps {
  readonly dns?: CheckDns;
  readonly policyPort?: number;
  readonly extraCa?: string;
  /** Colour the text report; default: stdout is a TTY and NO_COLOR is unset. */
  readonly colour?: boolean;
  readonly now?: () => number;
  readonly probeTimeoutMs?: number;
  readonly ehloName?: string;
}

/** Longest --timeout accepted, in seconds: a checker that waits an hour is stuck. */
export const MAX_TIMEOUT_S = 3600;

/**
 * Colour only on a terminal: the report goes to this process's stdout, which is a TTY, and
 * neither NO_COLOR (no-color.org) nor TERM=dumb says otherwise. Pipes, files, cron mail and CI
 * logs get plain text.
 */
export function wantsColour(toProcessStdout: boolean, isTty: boolean | undefined, env: NodeJS.ProcessEnv): boolean {
  return toProcessStdout && isTty === true && env['NO_COLOR'] === undefined && env['TERM'] !== 'dumb';
}

export async function checkCommand(argv: readonly string[], io: CliIo, deps: CheckCommandDeps = {}): Promise<number> {
  const args = parseArgs(argv, optionSpecs('check'));
  if (!args.ok) return usageError(io, args.message, 'check');
  if (args.options.has('help')) {
    io.out(commandHelp('check'));
    return EXIT_OK;
  }
  const domains = [...new Set(args.positionals)];
  if (domains.length === 0) return usageError(io, 'check needs at least one DOMAIN', 'check');
  const json = args.options.has('json');
  const junit = stringOption(args.options, 'junit');
  if (json && junit === '-') return usageError(io, '--json and --junit - both want standard output', 'check');

  const portText = stringOption(args.options, 'mx-port') ?? '25';
  const mxPort = Number(portText);
  if (!/^[0-9]+$/.test(portText) || mxPort < 1 || mxPort > 65535)
    return usageError(io, `--mx-port must be a port number (1 to 65535), got ${JSON.stringify(portText)}`, 'check');
  const timeoutText = stringOption(args.options, 'timeout') ?? String(DEFAULT_TIMEOUT_S);
  const timeoutS = Number(timeoutText);
  if (!/^[0-9]+(\.[0-9]+)?$/.test(timeoutText) || !(timeoutS > 0) || timeoutS > MAX_TIMEOUT_S) {
    return usageError(
      io,
      `--timeout must be seconds, more than 0 and at most ${MAX_TIMEOUT_S}, got ${JSON.stringify(timeoutText)}`,
      'check',
    );
  }

  const resolverText = stringOption(args.options, 'resolver');
  let resolver: ResolverAddress | undefined;
  if (resolverText !== undefined) {
    const parsed = parseResolverAddress(resolverText);
    if (!parsed.ok) return usageError(io, `--resolver: ${parsed.message}`, 'check');
    resolver = parsed.address;
  }

  const statePath = stringOption(args.options, 'state');
  let state;
  if (statePath !== undefined) {
    const read = readState(statePath);
    if (!read.ok) {
      io.err(`${PROGRAM} check: ${read.message} [ECHECK_STATE]\n`);
      return EXIT_ERROR;
    }
    state = read.state;
  }

  const { report, state: next } = await runCheck(domains, {
    dns: deps.dns ?? createSystemCheckDns(resolver),
    mxPort,
    timeoutMs: Math.round(timeoutS * 1000),
    ...(deps.policyPort !== undefined ? { policyPort: deps.policyPort } : {}),
    ...(deps.extraCa !== undefined ? { extraCa: deps.extraCa } : {}),
    ...(deps.now !== undefined ? { now: deps.now } : {}),
    ...(deps.probeTimeoutMs !== undefined ? { probeTimeoutMs: deps.probeTimeoutMs } : {}),
    ...(deps.ehloName !== undefined ? { ehloName: deps.ehloName } : {}),
    ...(state !== undefined ? { state } : {}),
  });

  let status: number = exitStatus(report, args.options.has('strict'));
  if (junit === '-') {
    io.out(formatJunit(report));
  } else {
    io.out(json ? formatJson(report) : formatText(report, deps.colour ?? wantsColour(io === processIo, process.stdout.isTTY, process.env)));
    if (junit !== undefined) {
      try {
        writeFileSync(junit, formatJunit(report));
      } catch (err) {
        io.err(`${PROGRAM} check: cannot write ${junit}: ${(err as Error).message} [ECHECK_OUTPUT]\n`);
        status = EXIT_ERROR;
      }
    }
  }
  if (statePath !== undefined && next !== undefined) {
    try {
      writeState(statePath, next);
    } catch (err) {
      io.err(`${PROGRAM} check: cannot write ${statePath}: ${(err as Error).message} [ECHECK_STATE]\n`);
      status = EXIT_ERROR;
    }
  }
  return status;
}
