/**
 * Where bin/mta-sts-bridge.js's launcher looks for jemalloc, read from the launcher itself (its
 * `for d in ...` line), so the tests and the bench follow it and cannot drift from it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const LAUNCHER = fileURLToPath(new URL('../../../bin/mta-sts-bridge.js', import.meta.url));
export const JEMALLOC_LIBRARY = 'libjemalloc.so.2';

/** The directories the launcher searches, in its order. */
export function launcherJemallocDirs(): string[] {
  const line = readFileSync(LAUNCHER, 'utf8')
    .split('\n')
    .find((l) => l.startsWith("':' //;") && l.includes(JEMALLOC_LIBRARY));
  const dirs = /\bfor d in ([^;]+);/
    .exec(line ?? '')?.[1]
    ?.trim()
    .split(/\s+/);
  if (dirs === undefined || dirs.length === 0) throw new Error(`no "for d in ...;" list of directories in ${LAUNCHER}`);
  return dirs;
}

/** The library the launcher preloads on this machine, or undefined when it is not installed. */
export function installedJemalloc(): string | undefined {
  return launcherJemallocDirs()
    .map((d) => join(d, JEMALLOC_LIBRARY))
    .find((p) => existsSync(p));
}
