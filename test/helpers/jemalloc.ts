/**
 * Where bin/mta-sts-bridge.js's launcher looks for jemalloc, worked out by the launcher's own
 * code: the part of its preload line that finds the C library's multiarch directory and its
 * `for msb_d in ...` list, taken from the file and run with /bin/sh. The tests and the bench
 * follow it and cannot drift from it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const LAUNCHER = fileURLToPath(new URL('../../../bin/mta-sts-bridge.js', import.meta.url));
export const JEMALLOC_LIBRARY = 'libjemalloc.so.2';
/** What the launcher reads to learn the C library it runs on, as written in it. */
const MAPS = '"/proc/$$/maps"';

/** The launcher's search, from its text: `arch` sets msb_arch, `list` is the `for msb_d in` list. */
export function launcherSearchCode(): { arch: string; list: string } {
  const line = readFileSync(LAUNCHER, 'utf8')
    .split('\n')
    .find((l) => l.startsWith("':' //;") && l.includes(JEMALLOC_LIBRARY));
  const m = /\b(msb_arch=; .*?); for msb_d in ([^;]+);/.exec(line ?? '');
  if (m === null) throw new Error(`no "msb_arch=; ...; for msb_d in ...;" in the launcher's preload line (${LAUNCHER})`);
  return { arch: m[1] ?? '', list: (m[2] ?? '').trim() };
}

/**
 * The directories the launcher searches, in its order: on this machine, or, with `maps`, where
 * its shell's /proc/PID/maps reads `maps` (null: where that file cannot be read, /proc not
 * mounted).
 */
export function launcherJemallocDirs(maps?: string | null): string[] {
  const { list, arch: code } = launcherSearchCode();
  let arch = code;
  let dir: string | undefined;
  try {
    if (maps !== undefined) {
      dir = mkdtempSync(join(tmpdir(), 'msb-maps-'));
      const file = join(dir, 'maps');
      if (maps !== null) writeFileSync(file, maps);
      if (arch.split(MAPS).length !== 3) throw new Error(`the launcher no longer reads ${MAPS} twice (test and redirection): ${arch}`);
      arch = arch.split(MAPS).join(JSON.stringify(file));
    }
    const r = spawnSync('/bin/sh', ['-c', `${arch}; for msb_d in ${list}; do printf '%s\\n' "$msb_d"; done`], { encoding: 'utf8' });
    if (r.status !== 0 || r.stderr !== '') throw new Error(`the launcher's search failed (${String(r.status)}): ${r.stderr}`);
    return r.stdout.split('\n').filter(Boolean);
  } finally {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}

/** The library the launcher preloads on this machine, or undefined when it is not installed. */
export function installedJemalloc(): string | undefined {
  return launcherJemallocDirs()
    .map((d) => join(d, JEMALLOC_LIBRARY))
    .find((p) => existsSync(p));
}
