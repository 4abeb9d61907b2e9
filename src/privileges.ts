/**
 * Privilege drop for starts outside systemd (top-level `user:` and `group:`): the daemon binds
 * its listeners and creates its sockets as root, hands the state directory to the user, then
 * drops for good (supplementary groups, gid, uid, in that order) before any network fetch or
 * cache write. Under systemd, `User=`/`DynamicUser=` do this and `user:` stays unset.
 */
import { lstat, lchown, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BridgeError } from './errors.js';
import { lookupPasswd, resolveAccountId } from './server/accounts.js';

/** Who the daemon runs as after the drop. */
export interface RunAs {
  /** The user name (for initgroups), or undefined for a uid without a passwd entry. */
  readonly name: string | undefined;
  readonly uid: number;
  readonly gid: number;
}

/** The process's credential calls (process.* in production; tests may pass fakes). */
export interface CredentialOps {
  getuid(): number;
  geteuid(): number;
  getgid(): number;
  getegid(): number;
  getgroups(): number[];
  setgroups(groups: number[]): void;
  initgroups(user: string, extraGroup: number): void;
  setgid(id: number): void;
  setuid(id: number): void;
}

export const processCredentials: CredentialOps = {
  getuid: () => process.getuid?.() ?? -1,
  geteuid: () => process.geteuid?.() ?? -1,
  getgid: () => process.getgid?.() ?? -1,
  getegid: () => process.getegid?.() ?? -1,
  getgroups: () => process.getgroups?.() ?? [],
  setgroups: (groups) => process.setgroups?.(groups),
  initgroups: (user, extra) => (process as { initgroups?: (user: string, extra: number) => void }).initgroups?.(user, extra),
  setgid: (id) => process.setgid?.(id),
  setuid: (id) => process.setuid?.(id),
};

/** What to do about `user:`/`group:` given who we are now. */
export type RunAsPlan =
  /** Root with `user:`: drop to `target` once bound. */
  | { readonly kind: 'drop'; readonly target: RunAs }
  /** `user:` is who we already are: nothing to do. */
  | { readonly kind: 'already' }
  /** Root and no `user:`: run on as root (a warning). */
  | { readonly kind: 'root' }
  /** Neither root nor `user:`: nothing to do. */
  | { readonly kind: 'none' };

/**
 * Resolve `user`/`group` (names through getent, or numeric ids) and decide. Throws EPRIVILEGES
 * for an unknown user or group, or when not root and `user:` names someone else.
 */
export async function planRunAs(
  user: string | undefined,
  group: string | undefined,
  ops: CredentialOps = processCredentials,
): Promise<RunAsPlan> {
  const euid = ops.geteuid();
  if (user === undefined) return euid === 0 ? { kind: 'root' } : { kind: 'none' };
  const entry = await lookupPasswd(user);
  if (entry === undefined && !/^[0-9]+$/.test(user)) throw new BridgeError('EPRIVILEGES', `user: no user named "${user}"`);
  let gid = entry?.gid;
  if (group !== undefined) {
    const g = await resolveAccountId('group', group);
    if (!g.ok) throw new BridgeError('EPRIVILEGES', `group: ${g.message}`);
    gid = g.id;
  }
  if (gid === undefined) throw new BridgeError('EPRIVILEGES', `user: uid ${user} has no passwd entry: set "group:" too`);
  const target: RunAs = { name: entry?.name, uid: entry?.uid ?? Number(user), gid };
  if (euid === target.uid && ops.getegid() === target.gid) return { kind: 'already' };
  if (euid !== 0) {
    throw new BridgeError(
      'EPRIVILEGES',
      `user: running as uid ${euid}, cannot switch to ${describeRunAs(target)}: start as root, or remove "user:" (under systemd use User= or DynamicUser=)`,
    );
  }
  if (target.uid === 0) return { kind: 'root' };
  return { kind: 'drop', target };
}

/** `nobody (uid 65534, gid 65534)`. */
export function describeRunAs(t: RunAs): string {
  return `${t.name ?? `uid ${t.uid}`} (uid ${t.uid}, gid ${t.gid})`;
}

/**
 * Drop to `target` for good: supplementary groups (the user's, through initgroups; just the
 * gid for a uid without a name), then gid, then uid; then check that neither the real nor the
 * effective ids can be root again. Throws EPRIVILEGES.
 */
export function dropPrivileges(target: RunAs, ops: CredentialOps = processCredentials): void {
  try {
    if (target.name !== undefined) ops.initgroups(target.name, target.gid);
    else ops.setgroups([target.gid]);
    ops.setgid(target.gid);
    ops.setuid(target.uid);
  } catch (err) {
    throw new BridgeError('EPRIVILEGES', `cannot switch to ${describeRunAs(target)}: ${(err as Error).message}`, { cause: err });
  }
  const ids = { uid: ops.getuid(), euid: ops.geteuid(), gid: ops.getgid(), egid: ops.getegid() };
  if (ids.uid !== target.uid || ids.euid !== target.uid || ids.gid !== target.gid || ids.egid !== target.gid) {
    throw new BridgeError(
      'EPRIVILEGES',
      `switched to ${describeRunAs(target)} but now run as uid ${ids.uid}/${ids.euid} gid ${ids.gid}/${ids.egid}`,
    );
  }
  // setuid(0) must now fail; if it does not, the drop is not permanent.
  let regained = false;
  try {
    ops.setuid(0);
    regained = ops.geteuid() === 0;
  } catch {
    regained = false;
  }
  if (regained) throw new BridgeError('EPRIVILEGES', `switched to ${describeRunAs(target)} but could become root again`);
}

/**
 * Before the drop, as root: create the directory of the cache file (mode 0750) and give it,
 * and the cache files already in it, to `target`. Never follows a symlink: a directory or file
 * that is one is refused (EPRIVILEGES). Parents created on the way stay root's.
 */
export async function prepareStateDirectory(cacheFile: string, target: RunAs): Promise<void> {
  const dir = dirname(cacheFile);
  await mkdir(dir, { recursive: true, mode: 0o750 }).catch((err: NodeJS.ErrnoException) => {
    throw new BridgeError('EPRIVILEGES', `cannot create the state directory ${dir}: ${err.message}`, { cause: err });
  });
  const st = await lstat(dir);
  if (!st.isDirectory())
    throw new BridgeError(
      'EPRIVILEGES',
      `state directory ${dir} is not a directory (a symlink?): refusing to hand it to ${describeRunAs(target)}`,
    );
  await lchown(dir, target.uid, target.gid);
  for (const file of [cacheFile, `${cacheFile}-wal`, `${cacheFile}-shm`, `${cacheFile}-journal`]) {
    const f = await lstat(file).catch(() => undefined);
    if (f === undefined) continue;
    if (!f.isFile()) throw new BridgeError('EPRIVILEGES', `${file} is not a regular file: refusing to hand it to ${describeRunAs(target)}`);
    if (f.uid !== target.uid || f.gid !== target.gid) await lchown(file, target.uid, target.gid);
  }
}
