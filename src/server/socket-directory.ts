/**
 * Is a unix socket's directory safe to put the socket in?
 *
 * Whoever can write to a directory can remove or rename the entries in it (unless the
 * directory is sticky) and put their own socket where Postfix expects ours: they would then
 * answer Postfix's TLS policy lookups ("no policy" for everyone). So the directory, and every
 * directory above it, must be writable only by trusted accounts: root, the daemon's own user,
 * and the socket's configured owner (who gets the socket anyway, e.g. `postfix` for
 * `/var/spool/postfix/private`). A sticky directory (`/tmp`) is accepted: others may create
 * entries there but cannot remove or rename ours.
 *
 * An owner that is not trusted is refused whatever the mode bits say: the owner of a
 * directory can chmod it at any time. Group write is trusted only for group 0 and the
 * daemon's own group (group membership of other groups is not looked up).
 */
import { realpath, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/** What the check needs to know about one directory (from stat(2)). */
export interface DirectoryFacts {
  readonly path: string;
  readonly isDirectory: boolean;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
}

/** The accounts allowed to write to a socket's directory. */
export interface TrustedWriters {
  readonly uids: readonly number[];
  readonly gids: readonly number[];
}

export type DirectoryVerdict =
  | { readonly kind: 'safe' }
  | { readonly kind: 'not-directory'; readonly path: string }
  | { readonly kind: 'writable-by-others'; readonly path: string; readonly who: string; readonly ownerUid?: number };

export type SocketDirectoryCheck =
  | DirectoryVerdict
  /** Safe, at `real` (the directory with symbolic links resolved): where the socket must be created. */
  | { readonly kind: 'safe'; readonly real: string }
  | { readonly kind: 'missing'; readonly path: string }
  | { readonly kind: 'unreadable'; readonly path: string; readonly message: string };

const S_ISVTX = 0o1000;

/** Judge one directory. Pure. */
export function judgeDirectory(facts: DirectoryFacts, trusted: TrustedWriters): DirectoryVerdict {
  if (!facts.isDirectory) return { kind: 'not-directory', path: facts.path };
  if ((facts.mode & S_ISVTX) !== 0) return { kind: 'safe' };
  const mode = (facts.mode & 0o7777).toString(8).padStart(4, '0');
  if (!trusted.uids.includes(facts.uid)) {
    return {
      kind: 'writable-by-others',
      path: facts.path,
      who: `its owner, uid ${facts.uid} (mode ${mode}; an owner can always make it writable)`,
      ownerUid: facts.uid,
    };
  }
  if ((facts.mode & 0o002) !== 0) return { kind: 'writable-by-others', path: facts.path, who: `every user (mode ${mode}, not sticky)` };
  if ((facts.mode & 0o020) !== 0 && !trusted.gids.includes(facts.gid)) {
    return { kind: 'writable-by-others', path: facts.path, who: `the members of group ${facts.gid} (mode ${mode})` };
  }
  return { kind: 'safe' };
}

/** The trusted writers for a socket owned by `ownerUid` (undefined: the daemon's own user). */
export function trustedWriters(ownerUid: number | undefined): TrustedWriters {
  const uid = process.geteuid?.() ?? 0;
  const gid = process.getegid?.() ?? 0;
  return {
    uids: [...new Set([0, uid, ...(ownerUid !== undefined && ownerUid >= 0 ? [ownerUid] : [])])],
    gids: [...new Set([0, gid])],
  };
}

/** `/a/b/c` -> `/`, `/a`, `/a/b`, `/a/b/c`. */
function chain(dir: string): string[] {
  const out: string[] = [];
  let d = resolve(dir);
  for (;;) {
    out.unshift(d);
    const up = dirname(d);
    if (up === d) return out;
    d = up;
  }
}

/**
 * Check the directory that will hold the socket at `socketPath`: it exists, and it and every
 * directory above it (as written, and after resolving symbolic links) pass `judgeDirectory`.
 */
export async function checkSocketDirectory(socketPath: string, trusted: TrustedWriters): Promise<SocketDirectoryCheck> {
  const dir = dirname(resolve(socketPath));
  let real: string;
  try {
    real = await realpath(dir);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') return { kind: 'missing', path: dir };
    if (e.code === 'ENOTDIR') return { kind: 'not-directory', path: dir };
    return { kind: 'unreadable', path: dir, message: e.message };
  }
  // Written chain first (a symlink on the way is only as safe as the directory holding it),
  // then the real one; each directory once.
  const dirs = [...new Set([...chain(dir), ...chain(real)])];
  for (const d of dirs) {
    let facts: DirectoryFacts;
    try {
      const st = await stat(d);
      facts = { path: d, isDirectory: st.isDirectory(), mode: st.mode, uid: st.uid, gid: st.gid };
    } catch (err) {
      return { kind: 'unreadable', path: d, message: (err as Error).message };
    }
    const verdict = judgeDirectory(facts, trusted);
    if (verdict.kind !== 'safe') return verdict;
  }
  return { kind: 'safe', real };
}

/** One sentence for an unsafe or missing directory (undefined when safe). */
export function describeDirectoryProblem(check: SocketDirectoryCheck, socketPath: string): string | undefined {
  switch (check.kind) {
    case 'safe':
      return undefined;
    case 'missing':
      return `the directory ${check.path} of ${socketPath} does not exist (create it first)`;
    case 'not-directory':
      return `${check.path} (on the way to ${socketPath}) is not a directory`;
    case 'unreadable':
      return `cannot inspect ${check.path} (on the way to ${socketPath}): ${check.message}`;
    case 'writable-by-others':
      return (
        `refusing to create ${socketPath}: ${check.path} can be written by ${check.who}, ` +
        'who could replace the socket; use a directory writable only by root, the daemon and the socket owner, or a sticky one' +
        (check.ownerUid !== undefined
          ? `, or make uid ${check.ownerUid} the socket's owner (the listener's owner key) if it is meant to be`
          : '')
      );
    default: {
      const _never: never = check;
      return String(_never);
    }
  }
}
