/**
 * Debian's Exim, unpacked by `.ci/install-exim.sh` next to the installed Postfix (the packages
 * conflict as system MTAs), as a real `${readsocket}` client inside the fake internet.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { NetNs, RunResult } from './netns.js';

/** Where install-exim.sh unpacks Exim (overridable, as the script is). */
export const EXIM_ROOT = process.env.EXIM_TEST_ROOT ?? '/opt/exim-test';
export const EXIM_BINARY = join(EXIM_ROOT, 'usr/sbin/exim4');

/** Why Exim cannot be run here, or undefined when it can. */
export function eximProblem(): string | undefined {
  if (!existsSync(EXIM_BINARY)) return `${EXIM_BINARY} is missing: run "bash .ci/install-exim.sh" (as root) first`;
  return undefined;
}

/** The unpacked library directories (libidn12 is not in a bookworm base system). */
function libraryPath(): string {
  const dirs: string[] = [];
  for (const base of ['usr/lib', 'lib']) {
    const dir = join(EXIM_ROOT, base);
    if (!existsSync(dir)) continue;
    for (const e of readdirSync(dir)) if (e.endsWith('-linux-gnu')) dirs.push(join(dir, e));
  }
  return dirs.join(':');
}

/** `exim -C <config> <args...>` inside the namespace. */
export function exim(ns: NetNs, config: string, args: readonly string[]): Promise<RunResult> {
  return ns.run('env', [`LD_LIBRARY_PATH=${libraryPath()}`, EXIM_BINARY, '-C', config, ...args], { timeoutMs: 30_000 });
}

/** `exim -be <expression>`: the expansion, or exit 1 with the error on stderr. */
export function eximExpand(ns: NetNs, config: string, expression: string): Promise<RunResult> {
  return exim(ns, config, ['-be', expression]);
}
