/**
 * `check-config`: validate a configuration file and summarize it, or list every problem;
 * then check what `serve` would refuse at startup (main/preflight.ts).
 */
import type { BridgeConfig, ListenerConfig } from '../../src/config/types.js';
import { defaultConfig, parseConfigText } from '../../src/config/load.js';
import { formatListenAddress } from '../../src/server/listen-address.js';
import { formatProblem } from '../../src/config/problems.js';
import { readConfigFile } from '../../src/config/read-file.js';
import { describeRedisConnection, redactDsn } from '../../src/cache/describe-connection.js';
import { cacheFileLocation } from '../../adapters/cache/registry.js';
import { preflight } from '../preflight.js';
import { parseArgs, stringOption } from './args.js';
import { reusePortWarning } from './reuse-port.js';
import { EXIT_ERROR, EXIT_OK, PROGRAM, type CliIo, usageError } from './io.js';
import { commandHelp, optionSpecs } from './help.js';

export async function checkConfigCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, optionSpecs('check-config'));
  if (!args.ok) return usageError(io, args.message, 'check-config');
  if (args.options.has('help')) {
    io.out(commandHelp('check-config'));
    return EXIT_OK;
  }
  if (args.positionals.length > 0) {
    return usageError(io, `unexpected argument ${JSON.stringify(args.positionals[0])} (use -c FILE)`, 'check-config');
  }
  const path = stringOption(args.options, 'config');
  if (path === undefined) {
    const config = defaultConfig();
    if (!(await startupChecks(config, 'embedded defaults', io))) return EXIT_ERROR;
    io.out(`OK: embedded defaults\n${summarize(config)}`);
    return EXIT_OK;
  }

  const read = await readConfigFile(path);
  if (!read.ok) {
    const problem = read.problem;
    io.err(
      problem.code === 'ECONFIG_READ'
        ? `${PROGRAM}: cannot read ${path}: ${errorText(read.cause)} [ECONFIG_READ]\n`
        : `${formatProblem(path, problem)}\n`,
    );
    return EXIT_ERROR;
  }
  const result = parseConfigText(read.text, path);
  if (!result.ok) {
    for (const p of result.problems) io.err(`${formatProblem(path, p)}\n`);
    const n = result.problems.length;
    io.err(`${path}: ${n} ${n === 1 ? 'problem' : 'problems'}\n`);
    return EXIT_ERROR;
  }
  for (const w of result.warnings) io.err(`${formatProblem(path, w)} (warning)\n`);
  if (result.config.user === undefined && process.geteuid?.() === 0) io.err(`${path}: ${ROOT_WARNING} (warning)\n`);
  const reuse = reusePortWarning(read.text, process.versions.node);
  if (reuse !== undefined) io.err(`${path}: reuse_port: ${reuse} (warning)\n`);
  // With `user:`, serve prepares the state directory as root before the drop: the checks run
  // as the account that starts it, which is this one.
  if (!(await startupChecks(result.config, path, io))) return EXIT_ERROR;
  io.out(`OK: ${path}\n${summarize(result.config)}`);
  return EXIT_OK;
}

/** What `serve` would refuse, printed as serve prints it; false when anything was found. */
async function startupChecks(config: BridgeConfig, source: string, io: CliIo): Promise<boolean> {
  const problems = await preflight(config);
  for (const p of problems) io.err(`${PROGRAM}: ${p.message} [${p.code}]\n`);
  if (problems.length === 0) return true;
  io.err(`${source}: serve would not start (${problems.length} ${problems.length === 1 ? 'problem' : 'problems'})\n`);
  return false;
}

function errorText(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

/** Human summary of a valid config: listeners, cache, zones, logging. */
export function summarize(config: BridgeConfig, euid: number | undefined = process.geteuid?.()): string {
  const lines: string[] = [];
  lines.push(`listeners (${config.listeners.length}):`);
  for (const l of config.listeners) lines.push(`  ${describeListener(l)}`);
  switch (config.cache.type) {
    case 'internal':
      lines.push(`cache: internal (memory, up to ${config.cache.cacheSize} entries)`);
      break;
    case 'sqlite': {
      const where = cacheFileLocation(config.cache);
      const file = where.ok ? `${where.path} (from ${where.source})` : `${config.cache.filename}: ${where.message}`;
      lines.push(`cache: sqlite ${file}, busy timeout ${config.cache.timeoutSec}s, up to ${config.cache.cacheSize} entries in memory`);
      break;
    }
    case 'redis':
      lines.push(
        `cache: redis ${describeRedisConnection(config.cache.connection)}, keys "${config.cache.prefix}*", ` +
          `timeout ${config.cache.commandTimeoutMs / 1000}s, up to ${config.cache.cacheSize} entries in memory`,
      );
      break;
    case 'postgres':
      lines.push(
        `cache: postgres ${redactDsn(config.cache.dsn)}, timeout ${config.cache.timeoutMs / 1000}s, ` +
          `pool ${config.cache.poolSize}, up to ${config.cache.cacheSize} entries in memory`,
      );
      break;
    default: {
      const _never: never = config.cache;
      lines.push(`cache: ${String((_never as { type: unknown }).type)}`);
    }
  }
  const zoneNames = Object.keys(config.zones).sort();
  lines.push(`zones: default${zoneNames.length > 0 ? `, ${zoneNames.join(', ')}` : ''}`);
  lines.push(`  default: ${describeZone(config.defaultZone)}`);
  for (const name of zoneNames) {
    const zone = config.zones[name];
    if (zone !== undefined) lines.push(`  ${name}: ${describeZone(zone)}`);
  }
  lines.push(
    `timeouts: idle ${config.idleTimeoutSec}s, request ${config.requestTimeoutSec}s, shutdown ${config.shutdownTimeoutSec}s, cache grace ${config.cacheGraceSec}s, ` +
      `negative cache ${config.negativeCacheTtlSec}s (${config.negativeCacheSize} domains)`,
  );
  const refresh = config.proactiveFetching;
  if (refresh !== undefined) {
    lines.push(
      refresh.enabled
        ? `proactive refresh: every ${refresh.intervalSec}s, ${refresh.concurrencyLimit} at once, grace ratio ${refresh.graceRatio}, jitter ${refresh.jitter}`
        : 'proactive refresh: off',
    );
  }
  const warm = config.policyDelegation;
  if (warm !== undefined && config.listeners.some((l) => l.protocol === 'policy')) {
    lines.push(
      `policy delegation: queue ${warm.queueSize}, ${warm.concurrency} at once, ` +
        `skip ${warm.skipDomains.length > 0 ? warm.skipDomains.join(', ') : '(none)'}`,
    );
  }
  lines.push(`runs as: ${describeRunAsConfig(config, euid)}`);
  if (config.metrics !== undefined) {
    lines.push(`metrics: http://${formatListenAddress({ kind: 'tcp', ...config.metrics })}/metrics and /healthz`);
  }
  lines.push(`logging: ${config.logging.level}, ${config.logging.format}`);
  return `${lines.join('\n')}\n`;
}

/** What `serve` logs (warn) when started as root without `user:`. */
export const ROOT_WARNING =
  'started as root, "user:" is not set: serve would keep running as root (set "user:", or User=/DynamicUser= in the systemd unit) [EPRIVILEGES_ROOT]';

/** Who `serve` would run as, for the summary. */
function describeRunAsConfig(config: BridgeConfig, euid: number | undefined): string {
  if (config.user !== undefined) {
    return `user ${config.user}${config.group !== undefined ? `, group ${config.group}` : ''} (when started as root: privileges dropped once the listeners are bound)`;
  }
  return euid === 0 ? `root (warning: ${ROOT_WARNING})` : `the invoking user (uid ${euid ?? '?'})`;
}

function describeListener(l: ListenerConfig): string {
  let s = `${l.protocol} ${formatListenAddress(l.address)}`;
  if (l.mode !== undefined) s += ` mode ${l.mode.toString(8).padStart(4, '0')}`;
  if (l.zone !== undefined) s += ` zone ${l.zone}`;
  return `${s} (${l.origin})`;
}

function describeZone(z: BridgeConfig['defaultZone']): string {
  return [
    `timeout ${z.timeoutSec}s`,
    `strict_testing ${z.strictTesting ? 'yes' : 'no'}`,
    `require_sni ${z.requireSni ? 'yes' : 'no'}`,
    `tlsrpt ${z.tlsrpt ? 'yes' : 'no'}`,
    `dns_error ${z.dnsErrorAnswer}`,
  ].join(', ');
}
