/**
 * `generate`: resolve a list of domains and write a static TLS policy map (Postfix
 * smtp_tls_policy_maps, Exim lsearch, JSON) for hosts that run cron rather than a daemon.
 * Exit 0: done; 1: done, but some domains failed (listed on stderr); 2: nothing written.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { PolicyCache } from '../../src/cache/types.js';
import { openCache, openConfiguredCacheReadOnly, type ConfiguredCache, type OpenCacheDeps } from '../../adapters/cache/registry.js';
import { systemClock, type Clock } from '../../src/clock.js';
import { DEFAULT_SQLITE_TIMEOUT_SEC } from '../../src/config/defaults.js';
import { formatProblem } from '../../src/config/problems.js';
import type { CacheConfig, ZoneConfig } from '../../src/config/types.js';
import { cleanupStaleTemps } from '../../src/generate/atomic-writer.js';
import { parseDomainList } from '../../src/generate/domain-list.js';
import { GenerateError, messageOf } from '../../src/generate/errors.js';
import { JsonFilePolicyCache } from '../../src/generate/json-state.js';
import { acquireLock, systemLockDeps, type LockDeps } from '../../src/generate/lock.js';
import { formatDiff, MAP_FORMATS, MAP_TYPES, type MapFormat, type MapType } from '../../adapters/map/map-format.js';
import { systemPostfixTools, type PostfixTools } from '../../src/generate/postfix-tools.js';
import { DEFAULT_CONCURRENCY, MAX_CONCURRENCY, runGenerate, summaryLine, type GenerateReport } from './generate-run.js';
import { createLogger, isLogLevel, LOG_LEVELS } from '../../src/log/logger.js';
import { toPolicyDomain } from '../../src/policy/domain.js';
import type { DaneFinding } from '../../src/dane/types.js';
import { BATCH_TUNING, buildResolverStack } from '../resolver-stack.js';
import type { DnsPort, PolicyFetcher } from '../../src/resolver/types.js';
import { parseArgs, stringOption } from './args.js';
import { loadConfigOrReport } from './config-source.js';
import { EXIT_ERROR, EXIT_NEGATIVE, EXIT_OK, PROGRAM, reportError, type CliIo, usageError } from './io.js';
import { commandHelp, optionSpecs } from './help.js';

/** Seams for tests; production uses the system DNS, real HTTPS, Postfix's tools and the process. */
export interface GenerateCommandDeps {
  readonly dns?: DnsPort;
  readonly fetcher?: PolicyFetcher;
  readonly clock?: Clock;
  readonly tools?: PostfixTools;
  readonly lock?: LockDeps;
  readonly readStdin?: () => string;
  /** Draw the progress bar (default: stderr is a TTY). */
  readonly progress?: boolean;
  /** Where the progress bar goes (default: process.stderr). */
  readonly progressWrite?: (text: string) => void;
  /** `--from-cache`: where the daemon's cache is looked for (default: the process's environment and home). */
  readonly env?: OpenCacheDeps['env'];
  readonly homeDir?: string;
}

/** Default state file, next to the map: `<output>.state.sqlite`. */
export const STATE_SUFFIX = '.state.sqlite';
/** Entries of the state's in-process layer; a run reads each domain once, so it need not hold them all. */
const STATE_MEMORY_ENTRIES = 10_000;

/** Redraw the progress bar at most this often. */
const PROGRESS_INTERVAL_MS = 100;
const PROGRESS_WIDTH = 30;

function isFormat(v: string): v is MapFormat {
  return (MAP_FORMATS as readonly string[]).includes(v);
}
function isType(v: string): v is MapType {
  return (MAP_TYPES as readonly string[]).includes(v);
}

function progressBar(write: (t: string) => void): { update: (done: number, total: number) => void; end: () => void } {
  let last = 0;
  let drawn = false;
  return {
    update(done, total) {
      const now = Date.now();
      if (done !== total && now - last < PROGRESS_INTERVAL_MS) return;
      last = now;
      const filled = total === 0 ? PROGRESS_WIDTH : Math.round((done / total) * PROGRESS_WIDTH);
      write(`\r[${'#'.repeat(filled)}${' '.repeat(PROGRESS_WIDTH - filled)}] ${done}/${total}`);
      drawn = true;
    },
    end() {
      if (drawn) write('\r\x1b[K');
    },
  };
}

/** Print what changed and failed; the caller decides whether to call it (quiet when nothing did). */
function printReport(io: CliIo, report: GenerateReport, dryRun: boolean): void {
  if (dryRun) io.out(formatDiff(report.diff));
  for (const f of report.failed) {
    io.err(`${PROGRAM}: generate: ${f.domain}: ${f.reason}${f.kept ? ' (last-known-good policy kept)' : ''}\n`);
  }
  io.out(`${summaryLine(report)}\n`);
}

export async function generateCommand(argv: readonly string[], io: CliIo, deps: GenerateCommandDeps = {}): Promise<number> {
  const args = parseArgs(argv, optionSpecs('generate'));
  if (!args.ok) return usageError(io, args.message, 'generate');
  if (args.options.has('help')) {
    io.out(commandHelp('generate'));
    return EXIT_OK;
  }
  const opt = (name: string): string | undefined => stringOption(args.options, name);
  if (args.positionals.length > 0) return usageError(io, `unexpected argument ${JSON.stringify(args.positionals[0])}`, 'generate');

  const output = opt('output');
  if (output === undefined || output === '') return usageError(io, 'generate needs --output PATH', 'generate');
  const fromCache = args.options.has('from-cache');
  const offline = args.options.has('offline');
  const dryRun = args.options.has('dry-run');
  const domainsArg = opt('domains');
  if (domainsArg === undefined && !fromCache && !offline) {
    return usageError(io, 'generate needs --domains FILE (or - for stdin), --from-cache or --offline', 'generate');
  }

  const formatArg = opt('format') ?? 'postfix';
  if (!isFormat(formatArg))
    return usageError(io, `--format must be one of ${MAP_FORMATS.join(', ')}, not ${JSON.stringify(formatArg)}`, 'generate');
  const format = formatArg;
  const postfixFormat = format === 'postfix' || format === 'postfix-tlsrpt';
  const typeArg = opt('type');
  if (typeArg !== undefined && !isType(typeArg))
    return usageError(io, `--type must be one of ${MAP_TYPES.join(', ')}, not ${JSON.stringify(typeArg)}`, 'generate');
  if (typeArg !== undefined && !postfixFormat)
    return usageError(io, `--type applies to the postfix formats only (the ${format} map is a text file)`, 'generate');
  const type: MapType | undefined = postfixFormat ? (typeArg ?? 'lmdb') : undefined;

  const concurrencyArg = opt('concurrency');
  const concurrency = concurrencyArg === undefined ? DEFAULT_CONCURRENCY : Number(concurrencyArg);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY) {
    return usageError(io, `--concurrency must be an integer from 1 to ${MAX_CONCURRENCY}`, 'generate');
  }
  const level = opt('log-level');
  if (level !== undefined && !isLogLevel(level)) return usageError(io, `log level must be one of ${LOG_LEVELS.join(', ')}`, 'generate');

  const configPath = opt('config');
  const loaded = await loadConfigOrReport(configPath, io);
  if (loaded === undefined) return EXIT_ERROR;
  const config = loaded.config;
  for (const w of loaded.warnings) io.err(`${formatProblem(configPath ?? '', w)} (warning)\n`);
  const zoneName = opt('zone');
  let zone: ZoneConfig = config.defaultZone;
  if (zoneName !== undefined) {
    const found = config.zones[zoneName];
    if (found === undefined) return usageError(io, `unknown zone ${JSON.stringify(zoneName)}`, 'generate');
    zone = found;
  }

  // The domain list: invalid lines are reported and skipped, never fatal.
  let domains: string[] | undefined;
  if (domainsArg !== undefined) {
    let text: string;
    try {
      text = domainsArg === '-' ? (deps.readStdin ?? (() => readFileSync(0, 'utf8')))() : readFileSync(domainsArg, 'utf8');
    } catch (err) {
      io.err(`${PROGRAM}: cannot read the domain list ${domainsArg}: ${messageOf(err)} [EGEN_DOMAINS_READ]\n`);
      return EXIT_ERROR;
    }
    const list = parseDomainList(text);
    const shown = domainsArg === '-' ? '(stdin)' : domainsArg;
    for (const p of list.problems) io.err(`${shown}:${p.line}: ${p.message}, line skipped [${p.code}]\n`);
    if (list.domains.length === 0) {
      // An empty list would empty the map: far more likely a mistake than an intent.
      io.err(`${PROGRAM}: the domain list ${shown} names no valid domain; nothing written [EGEN_NO_DOMAINS]\n`);
      return EXIT_ERROR;
    }
    domains = [...list.domains];
  }

  const tools = deps.tools ?? systemPostfixTools;
  const clock = deps.clock ?? systemClock;
  if (fromCache) {
    // Every domain in the daemon's persistent cache, added to the --domains list (the union).
    const fromDaemon = await daemonCacheDomains(config.cache, io, {
      clock,
      ...(deps.env !== undefined ? { env: deps.env } : {}),
      ...(deps.homeDir !== undefined ? { homeDir: deps.homeDir } : {}),
    });
    if (fromDaemon === undefined) return EXIT_ERROR;
    const listed = new Set(domains ?? []);
    domains = [...(domains ?? []), ...fromDaemon.domains.filter((d) => !listed.has(d))];
    if (domains.length === 0) {
      // Same rule as an empty --domains list: emptying the map is far more likely a mistake.
      io.err(`${PROGRAM}: the daemon's cache ${fromDaemon.path} holds no domain; nothing written [EGEN_NO_DOMAINS]\n`);
      return EXIT_ERROR;
    }
  }

  const log = createLogger(config.logging, { level: level ?? 'error' });
  const lockPath = `${output}.lock`;
  let lock;
  try {
    if (type !== undefined && type !== 'texthash' && !dryRun) {
      const supported = await tools.mapTypes();
      if (!supported.includes(type)) {
        throw new GenerateError(
          'EGEN_MAP_TYPE',
          `this Postfix does not support ${type} tables (postconf -m lists: ${supported.join(', ')}); install postfix-${type} or choose another --type`,
        );
      }
    }
    lock = acquireLock(lockPath, deps.lock ?? systemLockDeps);
  } catch (err) {
    return failWith(io, err);
  }
  if (lock.kind === 'held') {
    io.err(
      `${PROGRAM}: another generate run${lock.pid !== undefined ? ` (pid ${lock.pid})` : ''} holds ${lockPath}; nothing written [EGEN_LOCKED]\n`,
    );
    return EXIT_ERROR;
  }
  const pid = (deps.lock ?? systemLockDeps).pid;
  let cache: PolicyCache | undefined;
  try {
    if (lock.staleFrom !== undefined) log.warn('took over a stale lock', { path: lockPath, pid: String(lock.staleFrom) });
    cleanupStaleTemps(output, pid);

    cache = await openState(opt('state'), output, clock, log);
    if (domains === undefined) {
      // --offline without --domains or --from-cache: every policy domain the state knows.
      const all: string[] = [];
      for await (const batch of cache.entries()) for (const e of batch) all.push(e.domain);
      domains = all.sort();
    }
    // The DANE side, only for a zone with `dane: true` (docs/dane.md), on the configured resolver.
    const stack = await buildResolverStack({
      clock,
      dns: deps.dns,
      fetcher: deps.fetcher,
      cache: { cache, tuning: BATCH_TUNING, log },
      dane: offline ? undefined : { zones: [zone], resolver: config.dns?.resolver },
    });
    const resolver = stack.resolver;
    let daneFinding: ((domain: string, timeoutMs: number) => Promise<DaneFinding>) | undefined;
    if (stack.dane !== undefined) {
      const { findDane } = await import('../../src/dane/finding.js');
      const dnssec = stack.dane.dns;
      daneFinding = (domain, timeoutMs) => findDane(dnssec, domain, timeoutMs);
    }
    const bar =
      (deps.progress ?? process.stderr.isTTY === true)
        ? progressBar(deps.progressWrite ?? ((t) => void process.stderr.write(t)))
        : undefined;
    const report = await runGenerate(
      { domains, output, format, type, zoneName: zoneName ?? 'default', zone, dryRun, concurrency, offline },
      { cache, resolver, clock, tools, pid, onProgress: bar?.update, daneFinding },
    );
    bar?.end();
    await closeState(cache);
    cache = undefined;

    const changed = report.diff.added.length + report.diff.removed.length + report.diff.changed.length > 0;
    switch (report.result) {
      case 'nothing-reached':
        printReport(io, report, false);
        io.err(`${PROGRAM}: every lookup failed and nothing is cached: the existing map ${output} is kept [EGEN_NOTHING_REACHED]\n`);
        return EXIT_ERROR;
      case 'dry-run':
        printReport(io, report, true);
        break;
      case 'written':
      case 'unchanged':
        // Cron mails whatever is printed: quiet unless something changed or failed.
        if (changed || report.failed.length > 0) printReport(io, report, false);
        break;
      default: {
        const _never: never = report.result;
        return _never;
      }
    }
    return report.failed.length > 0 ? EXIT_NEGATIVE : EXIT_OK;
  } catch (err) {
    return failWith(io, err);
  } finally {
    if (cache !== undefined) await cache.close().catch(() => undefined);
    lock.handle.release();
  }
}

function failWith(io: CliIo, err: unknown): number {
  if (err instanceof GenerateError) io.err(`${PROGRAM}: ${err.message}; nothing written [${err.code}]\n`);
  else reportError(io, err);
  return EXIT_ERROR;
}

/**
 * The state between runs, behind the PolicyCache port: a SQLite file next to the map
 * (`<output>.state.sqlite`) or the one given with `--state`; a `--state` name ending in `.json`
 * selects the JSON-file state instead (for hosts without the native SQLite module).
 */
async function openState(
  statePath: string | undefined,
  output: string,
  clock: Clock,
  log: Parameters<typeof openCache>[1],
): Promise<PolicyCache> {
  const path = resolve(statePath ?? `${output}${STATE_SUFFIX}`);
  if (path.endsWith('.json')) {
    const cache = new JsonFilePolicyCache(path, clock);
    await cache.open();
    return cache;
  }
  // An absolute filename is used as is (not inside a state directory).
  return openCache({ type: 'sqlite', filename: path, timeoutSec: DEFAULT_SQLITE_TIMEOUT_SEC, cacheSize: STATE_MEMORY_ENTRIES }, log, {
    clock,
  });
}

/**
 * `--from-cache`: the domains of every entry in the daemon's configured persistent cache, opened
 * as `mta-sts-bridge cache` opens it (never created, no memory layer). Expired entries count: the
 * domain is still one the daemon was asked about (until the daemon purges it). On an error,
 * prints it and returns undefined.
 */
async function daemonCacheDomains(
  config: CacheConfig,
  io: CliIo,
  deps: OpenCacheDeps,
): Promise<{ readonly domains: readonly string[]; readonly path: string } | undefined> {
  let cache: ConfiguredCache | undefined;
  try {
    cache = await openConfiguredCacheReadOnly(config, deps);
    if (cache === undefined) {
      io.err(
        `${PROGRAM}: --from-cache: the configured cache is "internal" (in memory): its domains live only inside a running daemon, ` +
          `there is no list to read here; use --domains [ECACHE_NOT_PERSISTENT]\n`,
      );
      return undefined;
    }
    const seen = new Set<string>();
    for await (const batch of cache.entries()) {
      for (const e of batch) {
        const checked = toPolicyDomain(e.domain);
        if (checked.ok) seen.add(checked.domain);
        else io.err(`${PROGRAM}: --from-cache: ${cache.path}: ${checked.message}, entry skipped [${checked.code}]\n`);
      }
    }
    return { domains: [...seen].sort(), path: cache.path };
  } catch (err) {
    reportError(io, err);
    return undefined;
  } finally {
    await cache?.close().catch(() => undefined);
  }
}

async function closeState(cache: PolicyCache): Promise<void> {
  await cache.close();
}
