/**
 * User and group names -> numeric ids for a unix socket's owner and group. Through getent(1),
 * so that names from NSS (LDAP, systemd-userdb) resolve as they do for every other daemon.
 */
import { execFile } from 'node:child_process';

/** getent answers from local files or a cached NSS service; a slow one is a broken one. */
export const GETENT_TIMEOUT_MS = 5000;

/** The numeric id of `nameOrId` in `database`, or an error message. */
export function resolveAccountId(database: 'passwd' | 'group', nameOrId: string): Promise<{ ok: true; id: number } | { ok: false; message: string }> {
  if (/^[0-9]+$/.test(nameOrId)) return Promise.resolve({ ok: true, id: Number(nameOrId) });
  return new Promise((resolve) => {
    execFile('getent', [database, nameOrId], { timeout: GETENT_TIMEOUT_MS }, (err, stdout) => {
      // getent(1) exits 2 for "key not found".
      const fields = String(stdout).split('\n')[0]?.split(':') ?? [];
      const id = fields[2];
      if (err !== null || id === undefined || !/^[0-9]+$/.test(id)) {
        const what = database === 'passwd' ? 'user' : 'group';
        resolve({ ok: false, message: `no ${what} named "${nameOrId}"${err !== null && (err as NodeJS.ErrnoException).code === 'ENOENT' ? ' (getent not found)' : ''}` });
        return;
      }
      resolve({ ok: true, id: Number(id) });
    });
  });
}

/** One passwd entry: what a privilege drop needs. */
export interface PasswdEntry {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/** The passwd entry of a user name or numeric uid (getent passwd), or undefined when there is none. */
export function lookupPasswd(nameOrId: string): Promise<PasswdEntry | undefined> {
  return new Promise((resolve) => {
    execFile('getent', ['passwd', nameOrId], { timeout: GETENT_TIMEOUT_MS }, (err, stdout) => {
      const fields = String(stdout).split('\n')[0]?.split(':') ?? [];
      const [name, , uid, gid] = fields;
      if (err !== null || name === undefined || uid === undefined || gid === undefined || !/^[0-9]+$/.test(uid) || !/^[0-9]+$/.test(gid)) {
        resolve(undefined);
        return;
      }
      resolve({ name, uid: Number(uid), gid: Number(gid) });
    });
  });
}
