/**
 * `query DOMAIN`: resolve one domain now, without the cache, and show every step.
 */
import { toPolicyDomain } from '../../src/policy/domain.js';
import { systemClock } from '../../src/clock.js';
import type { DnsPort, PolicyFetcher } from '../../src/resolver/types.js';
import { formatProblem } from '../../src/config/problems.js';
import { parseArgs, stringOption } from './args.js';
import { loadConfigOrReport } from './config-source.js';
import { EXIT_ERROR, EXIT_OK, PROGRAM, type CliIo, usageError } from './io.js';
import { exitCodeFor, runQuery, type QueryDeps } from './query-run.js';
import { formatQueryReport } from './query-format.js';
import type { DnssecDns } from '../../src/dane/types.js';
import { commandHelp, optionSpecs } from './help.js';
import { buildResolverStack } from '../resolver-stack.js';

/** Network seams; the system resolver and the real HTTPS fetcher by default. */
export interface QueryCommandDeps {
  readonly dns?: DnsPort;
  readonly fetcher?: PolicyFetcher;
  /** The DANE side's DNSSEC client (tests); default: the configured validating resolver. */
  readonly dnssec?: DnssecDns;
}

function isBufferJson(v: unknown): v is { type: 'Buffer'; data: number[] } {
  return typeof v === 'object' && v !== null && 'type' in v && v.type === 'Buffer' && 'data' in v && Array.isArray(v.data);
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
        `unknown zone ${JSON.stringify(zoneName)}${known.length > 0 ? ` (zones: ${known.join(', ')})` : ' (the config defines no zones)'}`,
        'query',
      );
    }
    zone = found;
  }

  // No cache: `query` shows what a lookup finds now.
  const stack = await buildResolverStack({
    clock: systemClock,
    dns: deps.dns,
    fetcher: deps.fetcher,
    dane: { zones: [zone], resolver: config.dns?.resolver, dnssec: deps.dnssec },
  });
  const seams: QueryDeps = { dns: stack.dns, fetcher: stack.fetcher, clock: systemClock };
  const daneSettings = zone.dane;
  // The DANE side beside the MTA-STS steps, on a tracing client so every query is shown.
  const daneDns = stack.dane === undefined ? undefined : (await import('../../src/dane/trace.js')).tracingDns(stack.dane.dns);
  const [report, finding] = await Promise.all([
    runQuery(checked.domain, zoneName ?? DEFAULT_ZONE_LABEL, zone, seams),
    daneDns === undefined
      ? undefined
      : (await import('../../src/dane/finding.js')).findDane(daneDns, checked.domain, zone.timeoutSec * 1000),
  ]);
  if (finding === undefined || daneDns === undefined || daneSettings === undefined) {
    if (args.options.has('json')) io.out(`${JSON.stringify(report, null, 2)}\n`);
    else io.out(formatQueryReport(report));
    return exitCodeFor(report.outcome);
  }
  const { decideDane } = await import('../../src/dane/decision.js');
  const { stsVerdictOf } = await import('../../src/verdict.js');
  const { postfixAnswer } = await import('../../adapters/protocol/postfix-answer.js');
  const stsResult = { zoneName: zoneName ?? DEFAULT_ZONE_LABEL, zone, resolution: report.resolution };
  const decision = decideDane(daneSettings, stsVerdictOf(stsResult), finding);
  const postfix = postfixAnswer(decision.kind === 'sts' ? stsResult : { ...stsResult, dane: decision });
  const withDaneReport = { ...report, postfix, dane: { queries: daneDns.queries, finding, decision } };
  if (args.options.has('json')) {
    io.out(
      `${JSON.stringify(withDaneReport, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('hex') : isBufferJson(v) ? Buffer.from(v.data).toString('hex') : v), 2)}\n`,
    );
  } else {
    const { formatTrace } = await import('../../src/dane/trace.js');
    const { formatDecision, formatFinding } = await import('../../src/dane/report.js');
    const lines = [
      '',
      'DANE (RFC 7672)',
      ...formatTrace(daneDns.queries).map((l) => `   ${l}`),
      ...formatFinding(finding).map((l) => `   ${l}`),
      `   ${formatDecision(decision)}`,
      '',
    ];
    io.out(`${formatQueryReport(withDaneReport)}${lines.join('\n')}`);
  }
  // A DANE answer is a policy for the exit status; a DANE temp an error.
  return decision.kind === 'dane' ? EXIT_OK : decision.kind === 'temp' ? EXIT_ERROR : exitCodeFor(report.outcome);
}
