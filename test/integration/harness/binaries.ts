/**
 * Finding the database servers the cache tests start as child processes. A missing binary is
 * a test FAILURE with the command that installs it, never a silent skip.
 */
import { accessSync, constants, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** How to install what the cache backend tests need (also in the report for .ci/run). */
export const INSTALL_HINT = 'run "bash .ci/install-databases.sh" (apt-get install redis-server postgresql)';

/** The executable `name` on PATH, then in `extraDirs`, or undefined. */
export function findBinary(name: string, extraDirs: readonly string[] = []): string | undefined {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter).filter(Boolean), ...extraDirs];
  for (const dir of dirs) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/** Debian keeps PostgreSQL's server binaries off PATH in /usr/lib/postgresql/<major>/bin: newest first. */
export function postgresBinDirs(): string[] {
  try {
    return readdirSync('/usr/lib/postgresql')
      .filter((v) => /^[0-9]+$/.test(v))
      .sort((a, b) => Number(b) - Number(a))
      .map((v) => join('/usr/lib/postgresql', v, 'bin'));
  } catch {
    return [];
  }
}
