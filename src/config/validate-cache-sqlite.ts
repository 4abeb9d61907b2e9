/**
 * `cache: {type: sqlite, options: {...}}` and the top-level `state_directory` key. Option keys
 * are the Python postfix-mta-sts-resolver's (`filename`, `threads`, `timeout`) plus our
 * `cache_size` for the memory layer in front of the file.
 */
import { isAbsolute } from 'node:path';
import { DEFAULT_CACHE, DEFAULT_CACHE_SIZE, DEFAULT_SQLITE_FILENAME, DEFAULT_SQLITE_TIMEOUT_SEC } from './defaults.js';
import { CACHE_ENTRIES_MAX, SQLITE_THREADS_MAX, SQLITE_TIMEOUT_MAX_SEC } from './limits.js';
import { asMap, readMap, readNumber, readString, report, warn, type Field, type ReadContext } from './node-reader.js';
import type { SqliteCacheConfig } from './types.js';

export const SQLITE_CACHE_OPTION_KEYS = ['filename', 'threads', 'timeout', 'cache_size', 'on_corrupt'] as const;

/** The `state_directory` key: an absolute path (a relative one would depend on the working directory). */
export function readStateDirectory(ctx: ReadContext, field: Field | undefined): string | undefined {
  if (field === undefined) return undefined;
  const path = readString(ctx, field);
  if (path === undefined) return undefined;
  if (!isAbsolute(path)) {
    report(ctx, 'ECONFIG_BAD_VALUE', field.path, field.node, `must be an absolute path, found "${path}"`);
    return undefined;
  }
  return path;
}

/** The sqlite cache's `options` block (absent: every default). */
export function readSqliteCache(ctx: ReadContext, options: Field | undefined, stateDirectory: string | undefined): SqliteCacheConfig {
  const dir = stateDirectory !== undefined ? { stateDirectory } : {};
  if (options === undefined) return { ...DEFAULT_CACHE, ...dir };
  const map = asMap(ctx, options);
  if (map === undefined) return { ...DEFAULT_CACHE, ...dir };
  const f = readMap(ctx, map, options.path, SQLITE_CACHE_OPTION_KEYS);

  const filenameField = f.get('filename');
  let filename: string | undefined;
  if (filenameField !== undefined) {
    filename = readString(ctx, filenameField);
    if (filename === ':memory:') {
      report(ctx, 'ECONFIG_BAD_VALUE', filenameField.path, filenameField.node, 'an in-memory SQLite database persists nothing; use "type: internal" instead');
      filename = undefined;
    }
  }
  const threads = f.get('threads');
  if (threads !== undefined && readNumber(ctx, threads, { integer: true, min: 1, max: SQLITE_THREADS_MAX }) !== undefined) {
    warn(ctx, 'ECONFIG_IGNORED', threads.path, threads.keyNode, 'ignored: one connection serves every lookup here (statements take microseconds)');
  }
  const timeout = f.get('timeout');
  const size = f.get('cache_size');
  const onCorruptField = f.get('on_corrupt');
  let onCorrupt: 'move' | 'refuse' | undefined;
  if (onCorruptField !== undefined) {
    const value = readString(ctx, onCorruptField);
    if (value === 'move' || value === 'refuse') onCorrupt = value;
    else if (value !== undefined) report(ctx, 'ECONFIG_BAD_VALUE', onCorruptField.path, onCorruptField.node, `must be "move" or "refuse", found "${value}"`);
  }
  return {
    type: 'sqlite',
    filename: filename ?? DEFAULT_SQLITE_FILENAME,
    timeoutSec: (timeout === undefined ? undefined : readNumber(ctx, timeout, { above: 0, max: SQLITE_TIMEOUT_MAX_SEC })) ?? DEFAULT_SQLITE_TIMEOUT_SEC,
    cacheSize: (size === undefined ? undefined : readNumber(ctx, size, { integer: true, min: 1, max: CACHE_ENTRIES_MAX })) ?? DEFAULT_CACHE_SIZE,
    ...(onCorrupt !== undefined ? { onCorrupt } : {}),
    ...dir,
  };
}
