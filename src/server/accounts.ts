/**
 * User and group names -> numeric ids for a unix socket's owner and group. Through getent(1),
 * so that names from NSS (LDAP, systemd-userdb) resolve as they do for every other daemon.
 */
import type { ExecFileException } from 'node:child_process';

/** getent answers from local files or a cached NSS service; a slow one is a broken one. */
export const GETENT_TIMEOUT_MS = 5000;

/** getent's first output line and its error; node:child_process is loaded only when a name needs it. */
async function getent(args: readonly string[]): Promise<{ readonly err: ExecFileException | null; readonly stdout: string }> {
  const { execFile } = await import('node:child_process');
  return new Promise((resolve) => {
    execFile('getent', [...args], { timeout: GETENT_TIMEOUT_MS }, (err, stdout) => resolve({ err, stdout: String(stdout) }));
  });
}

/** The numeric id of `nameOrId` in `database`, or an error message. */
export function resolveAccountId(
  database: 'passwd' | 'group',
  nameOrId: string,
): Promise<{ ok: true; id: number } | { ok: false; message: string }> {
  if (/^[0-9]+$/.test(nameOrId)) return Promise.resolve({ ok: true, id: Number(nameOrId) });
  return getent([database, nameOrId]).then(({ err, stdout }) => {
    // getent(1) exits 2 for "key not found".
    const fields = stdout.split('\n')[0]?.split(':') ?? [];
    const id = fields[2];
    if (err !== null || id === undefined || !/^[0-9]+$/.test(id)) {
      const what = database === 'passwd' ? 'user' : 'group';
      return {
        ok: false,
        message: `no ${what} named "${nameOrId}"${err !== null && (err as NodeJS.ErrnoException).code === 'ENOENT' ? ' (getent not found)' : ''}`,
      };
    }
    return { ok: true, id: Number(id) };
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
  return getent(['passwd', nameOrId]).then(({ err, stdout }) => {
    const fields = stdout.split('\n')[0]?.split(':') ?? [];
    const [name, , uid, gid] = fields;
    if (err !== null || name === undefined || uid === undefined || gid === undefined || !/^[0-9]+$/.test(uid) || !/^[0-9]+$/.test(gid)) {
      return undefined;
    }
    return { name, uid: Number(uid), gid: Number(gid) };
  });
}
