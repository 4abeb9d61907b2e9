/**
 * `query DOMAIN`: resolve one domain now, without the cache, and show every step.
 */
import { toPolicyDomain } from '../policy/domain.js';
import { systemClock } from '../clock.js';
import type { DnsPort, PolicyFetcher } from '../resolver/types.js';
import { createSystemDns } from '../resolver/dns.js';
import { createHttpsFetcher } from '../resolver/https-fetcher.js';
import { formatProblem } from '../config/problems.js';
import { parseArgs, stringOption } from './args.js';
import { loadConfigOrReport } from './config-source.js';
import { EXIT_ERROR, EXIT_OK, PROGRAM, type CliIo, usageError } from './io.js';
import { exitCodeFor, runQuery, type QueryDeps } from './query-run.js';
import { formatQueryReport } from './query-format.js';
import { commandHelp, optionSpecs } from './help.js';

/** Network seams; the system resolver and the real HTTPS fetcher by default. */
export interface QueryCommandDeps {
  readonly dns?: DnsPort;
  readonly fetcher?: PolicyFetcher;
}

/** Name the default zone is shown under (as the lookup service logs it). */
const DEFAULT_ZONE_LABEL = 'default';

export async function queryCommand(argv: readonly string[], io: CliIo, deps: QueryCommandDeps = {}): Promise<number> {
  const args = parseArgs(argv, optionSpecs('query'));
  if (!args.ok) return usageError(io, args.message, 'query');
  if (args.options.has('help')) {
    io.out(commandHelp('query'));
    return EXIT_OK;
  }
  const [input, ...extra] = args.positionals;
  if (input === undefined) return usageError(io, 'query needs a DOMAIN', 'query');
  if (extra.length > 0) return usageError(io, `unexpected argument ${JSON.stringify(extra[0])}`, 'query');

  const checked = toPolicyDomain(input);
  if (!checked.ok) {
    io.err(`${PROGRAM}: ${checked.message} [${checked.code}]\n`);
    return EXIT_ERROR;
  }

  const configPath = stringOption(args.options, 'config');
  const loaded = await loadConfigOrReport(configPath, io);
  if (loaded === undefined) return EXIT_ERROR;
  const config = loaded.config;
  for (const w of loaded.warnings) io.err(`${formatProblem(configPath ?? '', w)} (warning)\n`);
  const zoneName = stringOption(args.options, 'zone');
  let zone = config.defaultZone;
  if (zoneName !== undefined) {
    const found = config.zones[zoneName];
    if (found === undefined) {
      const known = Object.keys(config.zones).sort();
      return usageError(
        io,
        `unknown zone ${JSON.stringify(zoneName)}${known.length > 0 ? ` (zones: ${known.join(', ')})` : ' (the config defines no zones)'}`, 'query'
      );
    }
    zone = found;
  }

  const dns = deps.dns ?? createSystemDns();
  const seams: QueryDeps = { dns, fetcher: deps.fetcher ?? createHttpsFetcher(dns), clock: systemClock };
  const report = await runQuery(checked.domain, zoneName ?? DEFAULT_ZONE_LABEL, zone, seams);
  if (args.options.has('json')) io.out(`${JSON.stringify(report, null, 2)}\n`);
  else io.out(formatQueryReport(report));
  return exitCodeFor(report.outcome);
}
