/**
 * The command line: `mta-sts-bridge <command> [options]`. Returns the exit status.
 */
import { cacheCommand } from './cache.js';
import { checkConfigCommand } from './check-config.js';
import { generateCommand } from './generate.js';
import { EXIT_OK, packageVersion, processIo, PROGRAM, type CliIo, usageError } from './io.js';
import { queryCommand } from './query.js';
import { serveCommand } from './serve.js';
import { HELP_TOPICS, USAGE } from './usage.js';

/** Run the command in `argv` (without node and the script). */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serveCommand(rest, io);
    case 'query':
      return queryCommand(rest, io);
    case 'check-config':
      return checkConfigCommand(rest, io);
    case 'cache':
      return cacheCommand(rest, io);
    case 'generate':
      return generateCommand(rest, io);
    case 'help': {
      const [topic, ...extra] = rest;
      if (topic === undefined) {
        io.out(`${USAGE}\n`);
        return EXIT_OK;
      }
      const text = Object.hasOwn(HELP_TOPICS, topic) ? HELP_TOPICS[topic] : undefined;
      if (text === undefined) {
        return usageError(io, `no help topic ${JSON.stringify(topic)} (topics: ${Object.keys(HELP_TOPICS).join(', ')})`, USAGE);
      }
      if (extra.length > 0) return usageError(io, `unexpected argument ${JSON.stringify(extra[0])}`, USAGE);
      io.out(`${text}\n`);
      return EXIT_OK;
    }
    case '--help':
    case '-h':
      io.out(`${USAGE}\n`);
      return EXIT_OK;
    case '--version':
    case '-V':
      io.out(`${PROGRAM} ${packageVersion()}\n`);
      return EXIT_OK;
    case undefined:
      return usageError(io, 'missing command (serve, query, check-config, generate, cache or help)', USAGE);
    default:
      return command.startsWith('-')
        ? usageError(io, `unknown option ${command}`, USAGE)
        : usageError(io, `unknown command ${JSON.stringify(command)}`, USAGE);
  }
}
