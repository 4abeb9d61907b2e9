/**
 * What `serve` would refuse, found without starting it: `check-config` runs this (the unit's
 * ExecStartPre), and `serve` may run it before binding. Nothing is bound for good, nothing is
 * created: a TCP host is checked by binding port 0 on it and closing at once; a unix socket's
 * place by the same checks `openListener` makes before it creates the socket; the sqlite
 * cache by checking that its directory can be created and written and by reading its file
 * read-only; a Redis cache by connecting to it (PING) and closing again, a PostgreSQL one by checking its tables in a read-only transaction (never creating them). Each problem carries the code `serve` would stop with.
 *
 * Not checked: whether a port is free (the running daemon holds it while its config is
 * checked), ports below 1024 without the right to bind them, and a unix socket somebody already listens on (systemd with socket
 * activation, or the running daemon): its place was decided by whoever created it.
 */
import type { BridgeConfig, ListenerConfig } from '../src/config/types.js';
import { BridgeError, type BridgeErrorCode } from '../src/errors.js';
import { checkSqliteCache, currentAccount, type RunAccount } from '../src/cache/state-dir-check.js';
import { inspectSqliteCacheFile, probeSharedBackend, type OpenCacheDeps } from '../adapters/cache/registry.js';
import { lstat } from 'node:fs/promises';
import { checkUnixSocketPlace, probeTcpHost, probeUnixSocket } from '../src/server/listener.js';

export interface PreflightProblem {
  readonly code: BridgeErrorCode;
  readonly message: string;
}

export interface PreflightOptions {
  /** The account that will run the daemon (owns the cache); default: this process's. */
  readonly account?: RunAccount;
  /** Where the state directory is looked for (tests); default: this process's environment. */
  readonly cacheDeps?: OpenCacheDeps;
}

/** Every problem `serve` would stop at, in config order; empty when none is found. */
export async function preflight(config: BridgeConfig, options: PreflightOptions = {}): Promise<readonly PreflightProblem[]> {
  const problems: PreflightProblem[] = [];
  for (const listener of config.listeners) {
    const problem = await checkListener(listener);
    if (problem !== undefined) problems.push(problem);
  }
  const cache = config.cache;
  switch (cache.type) {
    case 'internal':
      break;
    case 'sqlite': {
      const problem = await checkSqliteCache(cache, inspectSqliteCacheFile, options.account ?? currentAccount(), options.cacheDeps);
      if (problem !== undefined) problems.push({ code: problem.code, message: problem.message });
      break;
    }
    case 'redis':
    case 'postgres':
      // Connected to as `serve` would at startup (ECACHE_OPEN), but nothing is written:
      // PostgreSQL's tables are checked, not created (see probeSharedBackend).
      try {
        await probeSharedBackend(cache, options.cacheDeps);
      } catch (err) {
        problems.push(
          err instanceof BridgeError ? { code: err.code, message: err.message } : { code: 'ECACHE_OPEN', message: (err as Error).message },
        );
      }
      break;
    default: {
      const _never: never = cache;
      problems.push({
        code: 'ECONFIG_UNSUPPORTED',
        message: `cache type ${String((_never as { type: unknown }).type)} is not implemented`,
      });
    }
  }
  return problems;
}

/** One listener's problem, if any. */
export async function checkListener(listener: ListenerConfig): Promise<PreflightProblem | undefined> {
  try {
    const address = listener.address;
    switch (address.kind) {
      case 'tcp':
        await probeTcpHost(listener, address.host);
        return undefined;
      case 'unix': {
        const st = await lstat(address.path).catch(() => undefined);
        // A socket somebody listens on is systemd's (socket activation: its place is the
        // .socket unit's business, and ExecStartPre is not told) or the running daemon's:
        // not ours to judge, and not reported (checking a config while it runs is normal).
        if (st?.isSocket() === true && (await probeUnixSocket(address.path)) === 'live') return undefined;
        await checkUnixSocketPlace(address.path, listener);
        // What serve would refuse to replace.
        if (st !== undefined && !st.isSocket()) {
          return {
            code: 'ELISTEN_ADDRESS',
            message: `${listener.origin}: ${address.path} exists and is not a socket; refusing to replace it`,
          };
        }
        return undefined;
      }
      default: {
        const _never: never = address;
        return { code: 'ELISTEN_ADDRESS', message: `unknown listen address ${JSON.stringify(_never)}` };
      }
    }
  } catch (err) {
    if (err instanceof BridgeError) return { code: err.code, message: err.message };
    return { code: 'EINTERNAL', message: (err as Error).message };
  }
}
