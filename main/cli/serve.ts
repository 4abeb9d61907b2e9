/**
 * `serve`: run the daemon until SIGTERM or SIGINT; SIGHUP reloads the configuration.
 */
import type { Writable } from 'node:stream';
import { startApp, type App, type AppOptions } from '../app.js';
import { createLogger, isLogFormat, isLogLevel, LOG_FORMATS, LOG_LEVELS, reconfigureLogger } from '../../src/log/logger.js';
import { stderrIsJournal } from '../../src/log/journal.js';
import { ConfigError } from '../../src/config/problems.js';
import type { BridgeConfig } from '../../src/config/types.js';
import { createNotifier, type Notifier } from '../../src/systemd/notify.js';
import { describeRunAs, planRunAs, type RunAs } from '../../src/privileges.js';
import { parseArgs, stringOption } from './args.js';
import { loadConfigOrReport } from './config-source.js';
import { EXIT_ERROR, EXIT_NEGATIVE, EXIT_OK, packageVersion, type CliIo, usageError } from './io.js';
import { commandHelp, optionSpecs } from './help.js';

/** Signals that stop the daemon gracefully. */
export const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/** The signal that reloads the configuration (`systemctl reload`, ExecReload=/bin/kill -HUP $MAINPID). */
export const RELOAD_SIGNAL = 'SIGHUP';

/** Conventional exit status of a process ended by signal `n`: 128 + n. */
const SIGNAL_NUMBERS: Record<(typeof STOP_SIGNALS)[number], number> = { SIGINT: 2, SIGTERM: 15 };

export interface ServeDeps {
  /** Ends the process at once (second signal). */
  readonly exit: (code: number) => void;
  /** Seams for tests: a fake network, a log capture. */
  readonly appOptions?: Omit<AppOptions, 'log'>;
  readonly logStream?: Writable;
  /** sd_notify; from $NOTIFY_SOCKET by default. */
  readonly notifier?: Notifier;
}

const defaultDeps: ServeDeps = { exit: (code) => process.exit(code) };

export async function serveCommand(argv: readonly string[], io: CliIo, deps: ServeDeps = defaultDeps): Promise<number> {
  const args = parseArgs(argv, optionSpecs('serve'));
  if (!args.ok) return usageError(io, args.message, 'serve');
  if (args.options.has('help')) {
    io.out(commandHelp('serve'));
    return EXIT_OK;
  }
  if (args.positionals.length > 0) return usageError(io, `unexpected argument ${JSON.stringify(args.positionals[0])}`, 'serve');
  const level = stringOption(args.options, 'log-level');
  if (level !== undefined && !isLogLevel(level)) {
    return usageError(io, `log level must be one of ${LOG_LEVELS.join(', ')}, not ${JSON.stringify(level)}`, 'serve');
  }

  const format = stringOption(args.options, 'log-format');
  if (format !== undefined && !isLogFormat(format)) {
    return usageError(io, `log format must be one of ${LOG_FORMATS.join(', ')}, not ${JSON.stringify(format)}`, 'serve');
  }

  // A SIGHUP during start-up (Type=notify-reload may send one) must not end the process
  // (Node's default for SIGHUP): it is kept and the reload runs once the daemon answers.
  let earlyHup = false;
  const onEarlyHup = (): void => {
    earlyHup = true;
  };
  process.on(RELOAD_SIGNAL, onEarlyHup);
  // Likewise a stop signal while starting (the "listening" lines are already out): stop once started.
  let earlyStop: (typeof STOP_SIGNALS)[number] | undefined;
  const earlyStopHandlers = { SIGTERM: () => (earlyStop ??= 'SIGTERM'), SIGINT: () => (earlyStop ??= 'SIGINT') };
  for (const sig of STOP_SIGNALS) process.on(sig, earlyStopHandlers[sig]);
  const dropEarlyHandlers = (): void => {
    process.off(RELOAD_SIGNAL, onEarlyHup);
    for (const sig of STOP_SIGNALS) process.off(sig, earlyStopHandlers[sig]);
  };

  const configPath = stringOption(args.options, 'config');
  const loaded = await loadConfigOrReport(configPath, io);
  if (loaded === undefined) {
    dropEarlyHandlers();
    return EXIT_ERROR;
  }
  const config = loaded.config;

  // Lines for the journal get priority prefixes and no timestamp (systemd.exec(5), JOURNAL_STREAM).
  const journal = deps.logStream === undefined && stderrIsJournal();
  const log = createLogger(config.logging, { level, format, stream: deps.logStream, journal });
  const mainLog = log.child({ component: 'main' });
  mainLog.info('starting', { version: packageVersion(), config: configPath ?? '(embedded defaults)', pid: process.pid });
  logConfigWarnings(mainLog, loaded.warnings);
  const notifier =
    deps.notifier ??
    createNotifier(process.env, (message) => mainLog.warn('systemd notification failed', { code: 'ENOTIFY', reason: message }));

  let app: App;
  let dropTo: RunAs | undefined;
  try {
    const plan = await planRunAs(config.user, config.group);
    switch (plan.kind) {
      case 'drop':
        dropTo = plan.target;
        break;
      case 'root':
        mainLog.warn(
          'running as root: set "user:" (or User=/DynamicUser= in the systemd unit) to drop privileges once the listeners are bound',
          { code: 'EPRIVILEGES_ROOT' },
        );
        break;
      case 'already':
      case 'none':
        break;
      default: {
        const _never: never = plan;
        return _never;
      }
    }
    app = await startApp(config, {
      ...deps.appOptions,
      log,
      dropTo,
      applyLogging: (logging) => reconfigureLogger(log, logging, { level, format, journal }),
    });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    mainLog.error('cannot start', { code: typeof code === 'string' ? code : 'EINTERNAL', reason: (err as Error).message });
    notifier.status(`cannot start: ${(err as Error).message}`);
    notifier.close();
    dropEarlyHandlers();
    return EXIT_NEGATIVE;
  }
  notifier.ready(`answering on ${app.listeners.length} listener(s)`);
  const watchdogMs = notifier.startWatchdog();
  if (watchdogMs !== undefined) mainLog.info('systemd watchdog enabled', { intervalMs: watchdogMs });

  // SIGHUP: reload. One at a time; a signal arriving during a reload runs one more after it.
  let reloadRunning: Promise<void> | undefined;
  let reloadAgain = false;
  let stopped = false;
  const reload = async (): Promise<void> => {
    notifier.reloading('reloading the configuration');
    mainLog.info('reloading', { signal: RELOAD_SIGNAL, config: configPath ?? '(embedded defaults)' });
    let status: string;
    try {
      status = await reloadFrom(configPath, app, mainLog, dropTo);
    } catch (err) {
      mainLog.error('reload failed: the running configuration stays in force', { code: 'EINTERNAL', reason: (err as Error).message });
      status = 'last reload failed';
    }
    notifier.ready(`answering on ${app.listeners.length} listener(s); ${status}`);
  };
  const onHup = (): void => {
    if (stopped) return;
    if (reloadRunning !== undefined) {
      reloadAgain = true;
      return;
    }
    reloadRunning = (async () => {
      do {
        reloadAgain = false;
        await reload();
      } while (reloadAgain && !stopped);
      reloadRunning = undefined;
    })();
  };
  process.on(RELOAD_SIGNAL, onHup);
  process.off(RELOAD_SIGNAL, onEarlyHup);
  if (earlyHup && earlyStop === undefined) onHup();

  return new Promise<number>((resolve) => {
    let signals = 0;
    const onSignal = (signal: (typeof STOP_SIGNALS)[number]): void => {
      signals += 1;
      if (signals > 1) {
        mainLog.warn('second signal: exiting at once', { signal });
        deps.exit(128 + SIGNAL_NUMBERS[signal]);
        return;
      }
      stopped = true;
      const timeoutSec = app.config.shutdownTimeoutSec;
      mainLog.info('stopping', { signal, timeoutSec });
      notifier.stopping('stopping');
      const force = setTimeout(() => {
        mainLog.warn('shutdown timeout: closing remaining connections', {
          timeoutSec,
          connections: app.server.connectionCount(),
        });
        app.stop(false).catch((err: unknown) => {
          mainLog.error('forced stop failed', { code: 'EINTERNAL', reason: (err as Error).message });
        });
      }, timeoutSec * 1000);
      void app.stop(true).then(
        () => {
          clearTimeout(force);
          for (const s of STOP_SIGNALS) process.off(s, handlers[s]);
          process.off(RELOAD_SIGNAL, onHup);
          notifier.close();
          mainLog.info('stopped');
          resolve(EXIT_OK);
        },
        (err: unknown) => {
          clearTimeout(force);
          process.off(RELOAD_SIGNAL, onHup);
          notifier.close();
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
    for (const s of STOP_SIGNALS) process.off(s, earlyStopHandlers[s]);
    if (earlyStop !== undefined) onSignal(earlyStop);
  });
}

type MainLog = ReturnType<ReturnType<typeof createLogger>['child']>;

function logConfigWarnings(
  mainLog: MainLog,
  warnings: readonly { code: string; path: string; message: string; line?: number | undefined }[],
): void {
  for (const w of warnings) {
    mainLog.warn('configuration warning', {
      code: w.code,
      path: w.path,
      reason: w.message,
      ...(w.line !== undefined ? { line: w.line } : {}),
    });
  }
}

/**
 * Re-read `configPath` and apply it. An unreadable or invalid file is logged with every
 * problem and changes nothing; what cannot change at run time is logged as needing a restart.
 */
async function reloadFrom(configPath: string | undefined, app: App, mainLog: MainLog, dropTo: RunAs | undefined): Promise<string> {
  if (configPath === undefined) {
    mainLog.info('reloaded', { changes: 'none', reason: 'no configuration file (embedded defaults)' });
    return 'reloaded';
  }
  let next: BridgeConfig;
  try {
    const { loadConfigFileWithWarnings } = await import('../../src/config/load.js');
    const loaded = await loadConfigFileWithWarnings(configPath);
    logConfigWarnings(mainLog, loaded.warnings);
    next = loaded.config;
  } catch (err) {
    const code = err instanceof ConfigError ? err.code : 'EINTERNAL';
    const cause = (err as { cause?: { code?: unknown } }).cause;
    if (code === 'ECONFIG_READ' && cause?.code === 'EACCES' && dropTo !== undefined) {
      mainLog.warn(
        'reload needs a restart: the configuration file is not readable after the privilege drop; the running configuration stays in force',
        {
          code: 'ERELOAD_RESTART',
          reason: `${configPath} is not readable by ${describeRunAs(dropTo)}`,
        },
      );
      return 'last reload needs a restart (configuration file not readable)';
    }
    mainLog.error('reload refused: the new configuration has problems; the running configuration stays in force', {
      code,
      reason: (err as Error).message,
      config: configPath,
    });
    if (err instanceof ConfigError) {
      for (const p of err.problems) {
        mainLog.error('configuration problem', {
          code: p.code,
          path: p.path,
          reason: p.message,
          ...(p.line !== undefined ? { line: p.line } : {}),
        });
      }
    }
    return 'last reload refused: invalid configuration';
  }
  const outcome = await app.reload(next);
  for (const r of outcome.restartNeeded) {
    mainLog.warn('reload: needs a restart to apply', { code: 'ERELOAD_RESTART', path: r.key, reason: r.reason });
  }
  for (const f of outcome.failed) {
    mainLog.error('reload: cannot apply', { code: 'ERELOAD_LISTENER', listener: f.key, reason: f.reason });
  }
  mainLog.info('reloaded', {
    changes: outcome.applied.length > 0 ? outcome.applied.join(',') : 'none',
    restartNeeded: outcome.restartNeeded.length,
    failed: outcome.failed.length,
  });
  return outcome.restartNeeded.length > 0 || outcome.failed.length > 0
    ? 'reloaded; some changes need a restart or failed (see the log)'
    : 'reloaded';
}
