/**
 * `<output>.lock`: one `generate` run per map at a time. Created with O_CREAT|O_EXCL (atomic on
 * local filesystems) and holding the owner's pid, so that a lock left by a killed run (SIGKILL,
 * OOM, reboot) is recognised as stale when that pid is gone, and taken over.
 */
import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync, constants } from 'node:fs';
import { GenerateError, messageOf } from './errors.js';

/**
 * A lock file without a readable pid is taken for a run that has created it but not yet
 * written its pid, for this long; older, it is a leftover of a run killed in that instant.
 */
export const LOCK_EMPTY_GRACE_MS = 10_000;

export interface LockDeps {
  readonly pid: number;
  /** Whether a process with this pid exists (signal 0; EPERM means it exists). */
  readonly isAlive: (pid: number) => boolean;
  readonly now: () => number;
}

export const systemLockDeps: LockDeps = {
  pid: process.pid,
  isAlive: (pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
  },
  now: () => Date.now(),
};

export interface LockHandle {
  readonly path: string;
  /** Remove the lock if it is still ours. Idempotent; never throws. */
  release(): void;
}

export type LockOutcome =
  | {
      readonly kind: 'acquired';
      readonly handle: LockHandle;
      /** pid of a dead owner whose lock was taken over */ readonly staleFrom?: number | 'unknown';
    }
  | { readonly kind: 'held'; readonly pid: number | undefined };

/** The pid in a lock file's text, if it is one. */
export function parseLockPid(text: string): number | undefined {
  const t = text.trim();
  if (!/^[1-9][0-9]{0,9}$/.test(t)) return undefined;
  return Number(t);
}

function tryCreate(path: string, pid: number): boolean {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new GenerateError('EGEN_LOCK', `cannot create lock ${path}: ${messageOf(err)}`, { cause: err });
  }
  try {
    writeSync(fd, `${pid}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

function readOwner(path: string): { text: string; mtimeMs: number } | undefined {
  try {
    const st = statSync(path);
    return { text: readFileSync(path, 'utf8'), mtimeMs: st.mtimeMs };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new GenerateError('EGEN_LOCK', `cannot read lock ${path}: ${messageOf(err)}`, { cause: err });
  }
}

/**
 * Take the lock at `path`, or report who holds it. A lock whose pid is dead (or that stayed
 * empty longer than LOCK_EMPTY_GRACE_MS) is removed and taken over. Two runs taking over the
 * same stale lock in the same instant is a window this design accepts: cron runs are minutes
 * apart, and the loser still only rewrites the map atomically.
 */
export function acquireLock(path: string, deps: LockDeps = systemLockDeps): LockOutcome {
  let staleFrom: number | 'unknown' | undefined;
  // Two attempts: the first may find a stale lock, the second runs after removing it.
  for (let attempt = 0; attempt < 2; attempt++) {
    if (tryCreate(path, deps.pid)) {
      const handle: LockHandle = {
        path,
        release: () => {
          try {
            if (parseLockPid(readFileSync(path, 'utf8')) === deps.pid) unlinkSync(path);
          } catch {
            /* already gone: nothing to release */
          }
        },
      };
      return staleFrom === undefined ? { kind: 'acquired', handle } : { kind: 'acquired', handle, staleFrom };
    }
    const owner = readOwner(path);
    if (owner === undefined) continue; // removed between our open and our read: try again
    const pid = parseLockPid(owner.text);
    if (pid !== undefined) {
      if (pid !== deps.pid && deps.isAlive(pid)) return { kind: 'held', pid };
      staleFrom = pid;
    } else {
      if (deps.now() - owner.mtimeMs < LOCK_EMPTY_GRACE_MS) return { kind: 'held', pid: undefined };
      staleFrom = 'unknown';
    }
    try {
      unlinkSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new GenerateError('EGEN_LOCK', `cannot remove stale lock ${path}: ${messageOf(err)}`, { cause: err });
      }
    }
  }
  const last = readOwner(path);
  return { kind: 'held', pid: last === undefined ? undefined : parseLockPid(last.text) };
}
