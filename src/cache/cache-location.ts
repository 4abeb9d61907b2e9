/**
 * Where the configured SQLite cache file is, with this process's environment and home
 * directory as defaults (the choice itself is src/cache/state-dir.ts). Used by the daemon, by
 * `check-config` and by the cache registry (adapters/cache/registry.ts).
 */
import { homedir } from 'node:os';
import type { Clock } from '../clock.js';
import type { SqliteCacheConfig } from '../config/types.js';
import { resolveStateFile, type StateFileChoice } from './state-dir.js';

/** What opening a persistent cache depends on besides the config; production passes nothing. */
export interface OpenCacheDeps {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly homeDir?: string;
  readonly clock?: Clock;
}

/** Where a persistent cache's file is (or why there is none): `$STATE_DIRECTORY`, `state_directory`, XDG. */
export function cacheFileLocation(config: SqliteCacheConfig, deps: OpenCacheDeps = {}): StateFileChoice {
  return resolveStateFile(config.filename, {
    configured: config.stateDirectory,
    env: deps.env ?? process.env,
    homeDir: deps.homeDir ?? safeHomeDir(),
  });
}

function safeHomeDir(): string {
  try {
    return homedir();
  } catch {
    // No passwd entry and no $HOME (some containers): the state directory must then be given.
    return '';
  }
}
