/**
 * Can the daemon's user create and write its SQLite cache? Checked without creating anything
 * (`check-config`, main/preflight.ts), for the account that will run the daemon: by
 * default this process's, or another one (the configured `user:` after a privilege drop) given
 * as ids. The same refusals as `serve`, with the same code, ECACHE_OPEN.
 *
 * For this process's own account access(2) decides (it knows ACLs and read-only mounts); for
 * another account the mode bits do (owner, group and supplementary groups, others; root may
 * write anywhere).
 */
import { constants, type Stats } from 'node:fs';
import { access, lstat, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { SqliteCacheConfig } from '../config/types.js';
import { BridgeError } from '../errors.js';
import { describeInspection, type CacheFileInspection } from './cache-file-inspection.js';
import { cacheFileLocation, type OpenCacheDeps } from './cache-location.js';

/** The account whose rights are checked. */
export interface RunAccount {
  readonly uid: number;
  readonly gid: number;
  /** Supplementary groups. */
  readonly groups: readonly number[];
}

/** This process's effective account. */
export function currentAccount(): RunAccount {
  return { uid: process.geteuid?.() ?? 0, gid: process.getegid?.() ?? 0, groups: process.getgroups?.() ?? [] };
}

function isCurrent(account: RunAccount): boolean {
  return account.uid === (process.geteuid?.() ?? 0) && account.gid === (process.getegid?.() ?? 0);
}

const R = 4;
const W = 2;
const X = 1;

/** Whether `account` has the `want` bits (R|W|X) on a file with `st`, by its mode bits. */
export function allowedByMode(st: Pick<Stats, 'mode' | 'uid' | 'gid'>, account: RunAccount, want: number): boolean {
  // Root passes permission checks (only directories are asked for X here).
  if (account.uid === 0) return true;
  if (st.uid === account.uid) return ((st.mode >> 6) & want) === want;
  if (st.gid === account.gid || account.groups.includes(st.gid)) return ((st.mode >> 3) & want) === want;
  return (st.mode & want) === want;
}

async function allowed(path: string, st: Stats, account: RunAccount, want: number): Promise<boolean> {
  if (!isCurrent(account)) return allowedByMode(st, account, want);
  const mode = ((want & R) !== 0 ? constants.R_OK : 0) | ((want & W) !== 0 ? constants.W_OK : 0) | ((want & X) !== 0 ? constants.X_OK : 0);
  try {
    await access(path, mode);
    return true;
  } catch {
    return false;
  }
}

function who(account: RunAccount): string {
  return isCurrent(account) ? `this user (uid ${account.uid})` : `uid ${account.uid}`;
}

/**
 * Whether `dir` exists and is writable by `account`, or can be created by it (the nearest
 * existing directory above it is writable, every one on the way searchable). A message when not.
 */
export async function checkStateDirectory(dir: string, account: RunAccount = currentAccount()): Promise<string | undefined> {
  const target = resolve(dir);
  // From the root down: each existing directory must be searchable; the last existing one
  // must be writable (it is the directory itself, or where it would be created).
  const parts: string[] = [];
  for (let d = target; ; d = dirname(d)) {
    parts.unshift(d);
    if (dirname(d) === d) break;
  }
  let last: { path: string; st: Stats } | undefined;
  for (const d of parts) {
    let st: Stats;
    try {
      st = await stat(d);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') break;
      return `cannot inspect ${d}: ${(err as Error).message}`;
    }
    if (!st.isDirectory()) return `${d} is not a directory (on the way to the state directory ${target})`;
    if (!(await allowed(d, st, account, X)))
      return `${d} cannot be entered by ${who(account)} (on the way to the state directory ${target})`;
    last = { path: d, st };
  }
  if (last === undefined) return `no directory of ${target} exists`;
  if (!(await allowed(last.path, last.st, account, W | X))) {
    return last.path === target
      ? `the state directory ${target} is not writable by ${who(account)}`
      : `the state directory ${target} does not exist and cannot be created by ${who(account)}: ${last.path} is not writable`;
  }
  return undefined;
}

/**
 * What `serve` would refuse about the sqlite cache of `config`, for `account`: no state
 * directory, one that cannot be created or written, a file that is not writable or that
 * SqlitePolicyCache would refuse (another program's, the Python tool's, damaged, newer).
 * `inspect` reads an existing file without changing it (the SQLite adapter's, passed in by
 * the composition root: inspectSqliteCacheFile in adapters/cache/registry.ts).
 */
export async function checkSqliteCache(
  config: SqliteCacheConfig,
  inspect: (path: string) => Promise<CacheFileInspection>,
  account: RunAccount = currentAccount(),
  deps: OpenCacheDeps = {},
): Promise<BridgeError | undefined> {
  const fail = (message: string): BridgeError => new BridgeError('ECACHE_OPEN', `cannot open sqlite cache: ${message}`);
  const where = cacheFileLocation(config, deps);
  if (!where.ok) return fail(where.message);
  const problem = await checkStateDirectory(dirname(where.path), account);
  if (problem !== undefined) return fail(problem);
  let st: Stats;
  try {
    st = await lstat(where.path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined; // created at the first start
    return fail(`cannot inspect ${where.path}: ${(err as Error).message}`);
  }
  if (st.isSymbolicLink()) st = await stat(where.path).catch(() => st);
  if (!st.isFile()) return fail(`${where.path} is not a regular file`);
  if (!(await allowed(where.path, st, account, R | W))) return fail(`${where.path} is not readable and writable by ${who(account)}`);
  const message = describeInspection(where.path, await inspect(where.path), config.onCorrupt ?? 'move');
  return message === undefined ? undefined : fail(message);
}
