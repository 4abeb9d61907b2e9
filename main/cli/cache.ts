/**
 * `cache list|show DOMAIN|evict DOMAIN`: look into the configured persistent cache directly
 * (the file, not a running daemon). A memory cache exists only inside a running daemon, so
 * there is nothing to open then.
 */
import type { ConfiguredCache, OpenCacheDeps } from '../../adapters/cache/registry.js';
import { openConfiguredCacheReadOnly } from '../../adapters/cache/registry.js';
import type { PolicyCache, PolicyEntry } from '../../src/cache/types.js';
import { systemClock, type Clock } from '../../src/clock.js';
import { toPolicyDomain } from '../../src/policy/domain.js';
import { parseArgs, stringOption } from './args.js';
import { loadConfigOrReport } from './config-source.js';
import { EXIT_ERROR, EXIT_NEGATIVE, EXIT_OK, PROGRAM, reportError, type CliIo, usageError } from './io.js';
import { commandHelp, optionSpecs } from './help.js';

export type CacheDeps = OpenCacheDeps;

const SUBCOMMANDS = ['list', 'show', 'evict'] as const;
type Subcommand = (typeof SUBCOMMANDS)[number];

/** One line of `cache list --json`. Times are milliseconds since the epoch, as stored. */
export interface CacheListItem {
  readonly domain: string;
  readonly mode: string;
  readonly id: string;
  readonly fetchedAt: number;
  readonly expiresAt: number;
  readonly checkedAt: number;
  readonly expired: boolean;
}

export async function cacheCommand(argv: readonly string[], io: CliIo, deps: CacheDeps = {}): Promise<number> {
  const args = parseArgs(argv, optionSpecs('cache'));
  if (!args.ok) return usageError(io, args.message, 'cache');
  if (args.options.has('help')) {
    io.out(commandHelp('cache'));
    return EXIT_OK;
  }
  const [sub, ...operands] = args.positionals;
  if (sub === undefined) return usageError(io, 'missing subcommand: list, show or evict', 'cache');
  if (!(SUBCOMMANDS as readonly string[]).includes(sub)) return usageError(io, `unknown cache subcommand ${JSON.stringify(sub)}`, 'cache');
  const subcommand = sub as Subcommand;
  const wanted = subcommand === 'list' ? 0 : 1;
  if (operands.length !== wanted) {
    return usageError(
      io,
      wanted === 0 ? `unexpected argument ${JSON.stringify(operands[0])}` : `cache ${subcommand} needs one DOMAIN`,
      'cache',
    );
  }
  let domain = '';
  if (wanted === 1) {
    const checked = toPolicyDomain(operands[0] as string);
    if (!checked.ok) return usageError(io, checked.message, 'cache');
    domain = checked.domain;
  }
  const json = args.options.has('json');

  const configPath = stringOption(args.options, 'config');
  const loaded = await loadConfigOrReport(configPath, io);
  if (loaded === undefined) return EXIT_ERROR;
  const cacheConfig = loaded.config.cache;

  let cache: ConfiguredCache | undefined;
  try {
    cache = await openConfiguredCacheReadOnly(cacheConfig, deps);
    if (cache === undefined) {
      io.err(
        `${PROGRAM}: the configured cache is "internal" (in memory): its policies live only inside a running daemon, ` +
          `there is nothing to ${subcommand} here [ECACHE_NOT_PERSISTENT]\n`,
      );
      return EXIT_ERROR;
    }
    const clock = deps.clock ?? systemClock;
    switch (subcommand) {
      case 'list':
        return await list(cache, io, json, clock);
      case 'show':
        return await show(cache, domain, io, json, clock);
      case 'evict':
        return await evict(cache, domain, io, json);
      default: {
        const _never: never = subcommand;
        return _never;
      }
    }
  } catch (err) {
    reportError(io, err);
    return EXIT_ERROR;
  } finally {
    await cache?.close().catch(() => undefined);
  }
}

async function list(cache: PolicyCache & { readonly path: string }, io: CliIo, json: boolean, clock: Clock): Promise<number> {
  const items: CacheListItem[] = [];
  for await (const batch of cache.entries()) for (const e of batch) items.push(listItem(e, clock.now()));
  // The backend's order is its own (SQLite: by domain); the output's is fixed.
  items.sort((a, b) => (a.domain < b.domain ? -1 : a.domain > b.domain ? 1 : 0));
  if (json) {
    io.out(`${JSON.stringify(items)}\n`);
    return EXIT_OK;
  }
  const rows = [
    ['DOMAIN', 'MODE', 'ID', 'FETCHED', 'EXPIRES', 'CHECKED'],
    ...items.map((i) => [
      printable(i.domain),
      printable(i.mode),
      printable(i.id),
      isoTime(i.fetchedAt),
      isoTime(i.expiresAt) + (i.expired ? ' (expired)' : ''),
      isoTime(i.checkedAt),
    ]),
  ];
  io.out(formatTable(rows));
  const expired = items.filter((i) => i.expired).length;
  io.out(`${items.length} ${items.length === 1 ? 'policy' : 'policies'}${expired > 0 ? ` (${expired} expired)` : ''} in ${cache.path}\n`);
  return EXIT_OK;
}

async function show(
  cache: PolicyCache & { readonly path: string },
  domain: string,
  io: CliIo,
  json: boolean,
  clock: Clock,
): Promise<number> {
  const entry = await cache.get(domain);
  if (entry === undefined) {
    io.err(`${PROGRAM}: ${domain} is not in ${cache.path}\n`);
    return EXIT_NEGATIVE;
  }
  if (json) {
    io.out(`${JSON.stringify(entry)}\n`);
    return EXIT_OK;
  }
  const expired = entry.expiresAt <= clock.now();
  const fields: [string, string][] = [
    ['domain', printable(entry.domain)],
    ['mode', printable(entry.policy.mode)],
    ['id', printable(entry.id)],
    ['mx', printable(Array.isArray(entry.policy.mx) ? entry.policy.mx.join(' ') : entry.policy.mx)],
    ['max_age', printable(entry.policy.maxAge)],
    ['fetched', isoTime(entry.fetchedAt)],
    ['expires', isoTime(entry.expiresAt) + (expired ? ' (expired)' : '')],
    ['checked', isoTime(entry.checkedAt)],
    ['file', cache.path],
  ];
  const width = Math.max(...fields.map(([k]) => k.length)) + 1;
  const head = fields.map(([k, v]) => `${`${k}:`.padEnd(width)} ${v}`).join('\n');
  // The policy text exactly as fetched, but with CRLF shown as plain line ends.
  // Other control characters are escaped, line by line.
  const text = entry.policyText.replace(/\r\n/g, '\n').split('\n').map(printable).join('\n');
  io.out(`${head}\n\n${text}${text.endsWith('\n') ? '' : '\n'}`);
  return EXIT_OK;
}

async function evict(cache: PolicyCache & { readonly path: string }, domain: string, io: CliIo, json: boolean): Promise<number> {
  const deleted = await cache.delete(domain);
  if (json) io.out(`${JSON.stringify({ domain, evicted: deleted })}\n`);
  else if (deleted) io.out(`evicted ${domain} from ${cache.path}\n`);
  else io.err(`${PROGRAM}: ${domain} is not in ${cache.path}\n`);
  return deleted ? EXIT_OK : EXIT_NEGATIVE;
}

function listItem(e: PolicyEntry, now: number): CacheListItem {
  return {
    domain: e.domain,
    mode: e.policy.mode,
    id: e.id,
    fetchedAt: e.fetchedAt,
    expiresAt: e.expiresAt,
    checkedAt: e.checkedAt,
    expired: e.expiresAt <= now,
  };
}

/** UTC, to the second: `2026-01-01T00:00:00Z`. */
export function isoTime(ms: number): string {
  const date = new Date(ms);
  // A stored time may be anything (1e300, NaN): show it, never throw RangeError.
  if (!Number.isFinite(date.getTime())) return `invalid(${String(ms)})`;
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A stored value for the terminal: control characters (raw newlines included) as escapes. */
export function printable(value: unknown): string {
  return String(value).replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    const code = c.charCodeAt(0);
    return code === 0x0a ? '\\n' : code === 0x0d ? '\\r' : code === 0x09 ? '\\t' : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** Left-aligned columns separated by two spaces; the last column is not padded. */
export function formatTable(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')).join('\n') + '\n';
}
