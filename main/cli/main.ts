/**
 * The command line: `mta-sts-bridge <command> [options]`. Returns the exit status.
 *
 * Each command's module is loaded when that command runs: the daemon does not carry the code
 * (and the memory) of `generate`, `query` or `cache`, nor they the daemon's.
 */
import { EXIT_OK, packageVersion, processIo, PROGRAM, type CliIo, usageError } from './io.js';
import { commandHelp, isCommandName, mainHelp } from './help.js';

/** Run the command in `argv` (without node and the script). */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return (await import('./serve.js')).serveCommand(rest, io);
    case 'query':
      return (await import('./query.js')).queryCommand(rest, io);
    case 'check-config':
      return (await import('./check-config.js')).checkConfigCommand(rest, io);
    case 'check':
      return (await import('./check.js')).checkCommand(rest, io);
    case 'cache':
      return (await import('./cache.js')).cacheCommand(rest, io);
    case 'generate':
      return (await import('./generate.js')).generateCommand(rest, io);
    case 'help': {
      // `help TOPIC`: one command's help; `help` alone: the overview.
      const [topic, ...extra] = rest;
      if (extra.length > 0) return usageError(io, `help takes one topic, not ${rest.length}`);
      if (topic === undefined) {
        io.out(mainHelp());
        return EXIT_OK;
      }
      if (!isCommandName(topic)) return usageError(io, `no help topic ${JSON.stringify(topic)}`);
      io.out(commandHelp(topic));
      return EXIT_OK;
    }
    case '--help':
    case '-h':
      io.out(mainHelp());
      return EXIT_OK;
    case '--version':
    case '-V':
      io.out(`${PROGRAM} ${packageVersion()}\n`);
      return EXIT_OK;
    case undefined:
      return usageError(io, 'a command is needed (serve, query, check-config, check, generate, cache, help)');
    default:
      return command.startsWith('-')
        ? usageError(io, `unknown option ${command}`)
        : usageError(io, `unknown command ${JSON.stringify(command)}`);
  }
}
