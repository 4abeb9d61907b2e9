/**
 * `serve`: run the daemon until SIGTERM or SIGINT.
 */
import type { Writable } from 'node:stream';
import { startApp, type App, type AppOptions } from '../app.js';
import { createLogger, isLogLevel, LOG_LEVELS } from '../log/logger.js';
import { parseArgs, stringOption } from './args.js';
import { loadConfigOrReport } from './config-source.js';
import { EXIT_ERROR, EXIT_NEGATIVE, EXIT_OK, packageVersion, type CliIo, usageError } from './io.js';
import { SERVE_USAGE } from './usage.js';

/** Signals that stop the daemon gracefully. */
export const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/** Conventional exit status of a process ended by signal `n`: 128 + n. */
const SIGNAL_NUMBERS: Record<(typeof STOP_SIGNALS)[number], number> = { SIGINT: 2, SIGTERM: 15 };

export interface ServeDeps {
  /** Ends the process at once (second signal). */
  readonly exit: (code: number) => void;
  /** Seams for tests: a fake network, a log capture. */
  readonly appOptions?: Omit<AppOptions, 'log'>;
  readonly logStream?: Writable;
}

const defaultDeps: ServeDeps = { exit: (code) => process.exit(code) };

export async function serveCommand(argv: readonly string[], io: CliIo, deps: ServeDeps = defaultDeps): Promise<number> {
  const args = parseArgs(argv, [
    { name: 'config', short: 'c', value: true },
    { name: 'log-level', short: 'v', value: true },
    { name: 'help', short: 'h', value: false },
  ]);
  if (!args.ok) return usageError(io, args.message, SERVE_USAGE);
  if (args.options.has('help')) {
    io.out(`${SERVE_USAGE}\n`);
    return EXIT_OK;
  }
  if (args.positionals.length > 0) return usageError(io, `unexpected argument ${JSON.stringify(args.positionals[0])}`, SERVE_USAGE);
  const level = stringOption(args.options, 'log-level');
  if (level !== undefined && !isLogLevel(level)) {
    return usageError(io, `log level must be one of ${LOG_LEVELS.join(', ')}, not ${JSON.stringify(level)}`, SERVE_USAGE);
  }

  const configPath = stringOption(args.options, 'config');
  const loaded = await loadConfigOrReport(configPath, io);
  if (loaded === undefined) return EXIT_ERROR;
  const config = loaded.config;

  const log = createLogger(config.logging, {
    ...(level !== undefined ? { level } : {}),
    ...(deps.logStream !== undefined ? { stream: deps.logStream } : {}),
  });
  const mainLog = log.child({ component: 'main' });
  mainLog.info('starting', { version: packageVersion(), config: configPath ?? '(embedded defaults)', pid: process.pid });
  for (const w of loaded.warnings) {
    mainLog.warn('configuration warning', { code: w.code, path: w.path, reason: w.message, ...(w.line !== undefined ? { line: w.line } : {}) });
  }

  let app: App;
  try {
    app = await startApp(config, { ...deps.appOptions, log });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    mainLog.error('cannot start', { code: typeof code === 'string' ? code : 'EINTERNAL', reason: (err as Error).message });
    return EXIT_NEGATIVE;
  }

  return new Promise<number>((resolve) => {
    let signals = 0;
    const onSignal = (signal: (typeof STOP_SIGNALS)[number]): void => {
      signals += 1;
      if (signals > 1) {
        mainLog.warn('second signal: exiting at once', { signal });
        deps.exit(128 + SIGNAL_NUMBERS[signal]);
        return;
      }
      mainLog.info('stopping', { signal, timeoutSec: config.shutdownTimeoutSec });
      const force = setTimeout(() => {
        mainLog.warn('shutdown timeout: closing remaining connections', {
          timeoutSec: config.shutdownTimeoutSec,
          connections: app.server.connectionCount(),
        });
        void app.stop(false);
      }, config.shutdownTimeoutSec * 1000);
      void app.stop(true).then(
        () => {
          clearTimeout(force);
          for (const s of STOP_SIGNALS) process.off(s, handlers[s]);
          mainLog.info('stopped');
          resolve(EXIT_OK);
        },
        (err: unknown) => {
          clearTimeout(force);
          mainLog.error('error while stopping', { code: 'EINTERNAL', reason: (err as Error).message });
          resolve(EXIT_NEGATIVE);
        },
      );
    };
    const handlers = {
      SIGTERM: () => onSignal('SIGTERM'),
      SIGINT: () => onSignal('SIGINT'),
    };
    for (const s of STOP_SIGNALS) process.on(s, handlers[s]);
  });
}
