/**
 * Creating a unix socket file with its mode and owner without ever following a symbolic link.
 *
 * The daemon starts as root, and the socket's directory may be writable by another account
 * (`/var/spool/postfix/private` belongs to `postfix`). Binding at the final path and then
 * calling chmod(path)/chown(path) lets that account swap the fresh socket for a symlink (or a
 * hard link) between the steps, and root then gives any file, e.g. /etc/shadow, the socket's
 * mode and owner. On Linux fchmod on a socket's descriptor does not reach the file and there
 * is no lchmod, so:
 *
 * 0. the socket's directory is opened once, and its real path (readlink of its descriptor in
 *    /proc) must be the one checked (socket-directory.ts): a directory swapped for a symlink
 *    between the check and here is refused; every later step names it through the descriptor,
 *    so a swap afterwards is not followed either (close removes the name there too);
 * 1. `mkdtemp` creates a private directory (0700, ours) INSIDE the target directory, so that
 *    the final step stays on one filesystem;
 * 2. it is opened with O_DIRECTORY|O_NOFOLLOW and checked with fstat (a directory, owned by
 *    us, private): had someone replaced it in between, it is refused;
 * 3. every later step names the socket as `/proc/self/fd/N/s`, i.e. through that descriptor:
 *    even if the private directory is renamed or replaced by a symlink afterwards (its parent
 *    may be writable by the socket's owner), the path still reaches our directory, where only
 *    we can write. bind, chmod and lchown act on a file nobody else can touch;
 * 4. the finished socket is hard-linked to the final path (link(2) never follows a symlink at
 *    the new name and fails with EEXIST rather than replace anything: a socket that appeared
 *    meanwhile is never stolen), and the private name and directory are removed.
 *
 * The socket appears at its final path with its final mode and owner already set. The
 * alternative, a umask around `listen`, was not chosen: the umask is process-wide (a file
 * created by the libuv thread pool meanwhile would get it too), and it does not help with the
 * owner, which would still need a path-based call on the final path.
 *
 * Needs procfs (always mounted on Linux systems with systemd); without it the start fails with
 * ELISTEN_FAILED rather than fall back to an unsafe path.
 */
import { constants } from 'node:fs';
import { chmod, lchown, link, lstat, mkdtemp, open, readlink, rmdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { BridgeError } from '../errors.js';

/** Name prefix of the short-lived private directory (a crash in between may leave one behind). */
export const PRIVATE_DIRECTORY_PREFIX = '.mta-sts-bridge-';

export interface SocketFileOptions {
  /** For messages: where in the config the listener is. */
  readonly origin: string;
  readonly mode?: number | undefined;
  /** -1 leaves the owner as created (the daemon's user). */
  readonly uid: number;
  /** -1 leaves the group as created. */
  readonly gid: number;
  /**
   * The socket's directory as checked (symbolic links resolved, socket-directory.ts): the
   * directory opened must still be that one, or the start is refused. Undefined: not compared.
   */
  readonly directory?: string | undefined;
}

/** A socket file in place. */
export interface PlacedSocketFile {
  /** Identity of the socket file, so that close never removes a file that is not ours. */
  readonly ino: number;
  readonly dev: number;
  /**
   * After the server has closed: remove the socket's name if it is still our socket (through
   * the directory's descriptor: the directory it was created in, even if renamed or swapped
   * since), and release the descriptors.
   */
  release(): Promise<void>;
}

/**
 * Bind `server` (through `listen`) to a new socket at `path` with `options`' mode and owner,
 * as described in the module comment. On failure nothing is left behind and the server is
 * closed (through `close`). Throws BridgeError.
 */
export async function placeSocketFile(
  path: string,
  options: SocketFileOptions,
  listen: (listenPath: string) => Promise<void>,
  close: () => Promise<void>,
): Promise<PlacedSocketFile> {
  const dir = dirname(path);
  // 0. The directory itself is opened once and named through its descriptor from then on: a
  //    directory swapped (for a symlink elsewhere) after it was checked is found here, and
  //    one swapped later is not followed.
  let dirHandle: FileHandle;
  try {
    dirHandle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  } catch (err) {
    throw new BridgeError(
      'ELISTEN_FAILED',
      `${options.origin}: cannot open the directory ${dir} of ${basename(path)}: ${errMessage(err)}`,
      { cause: err },
    );
  }
  const viaDir = `/proc/self/fd/${dirHandle.fd}`;
  const opened = await readlink(viaDir).catch(() => undefined);
  if (opened === undefined) {
    await dirHandle.close().catch(() => undefined);
    throw new BridgeError('ELISTEN_FAILED', `${options.origin}: creating ${path} safely needs /proc (procfs) mounted`);
  }
  if (options.directory !== undefined && opened !== options.directory) {
    await dirHandle.close().catch(() => undefined);
    throw unsafe(
      options,
      `the directory of ${path} changed after it was checked (it was ${options.directory}, it is now ${opened}); nothing was created`,
    );
  }
  const finalName = join(viaDir, basename(path));
  let privateName: string;
  try {
    privateName = basename(await mkdtemp(join(viaDir, PRIVATE_DIRECTORY_PREFIX)));
  } catch (err) {
    await dirHandle.close().catch(() => undefined);
    throw new BridgeError(
      'ELISTEN_FAILED',
      `${options.origin}: cannot create a private directory in ${dir} for ${basename(path)}: ${errMessage(err)}`,
      {
        cause: err,
      },
    );
  }
  const privateDir = join(viaDir, privateName);
  const shownPrivateDir = join(dir, privateName);
  let handle: FileHandle | undefined;
  let privateIno: number | undefined;
  let inner: string | undefined;
  let listening = false;
  try {
    handle = await open(privateDir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW).catch((err: unknown) => {
      throw unsafe(options, `${shownPrivateDir} was replaced before it could be opened (${errMessage(err)})`, err);
    });
    const own = await handle.stat();
    const euid = process.geteuid?.() ?? 0;
    if (!own.isDirectory() || own.uid !== euid || (own.mode & 0o077) !== 0) {
      throw unsafe(options, `${shownPrivateDir} is not the private directory just created (someone replaced it)`);
    }
    privateIno = own.ino;
    const viaFd = `/proc/self/fd/${handle.fd}`;
    const seen = await stat(viaFd).catch(() => undefined);
    if (seen === undefined || seen.ino !== own.ino || seen.dev !== own.dev) {
      throw new BridgeError('ELISTEN_FAILED', `${options.origin}: creating ${path} safely needs /proc (procfs) mounted`);
    }
    inner = `${viaFd}/s`;
    await listen(inner);
    listening = true;
    if (options.mode !== undefined) {
      try {
        await chmod(inner, options.mode);
      } catch (err) {
        throw new BridgeError(
          'ELISTEN_FAILED',
          `${options.origin}: cannot set mode ${options.mode.toString(8)} on ${path}: ${errMessage(err)}`,
          { cause: err },
        );
      }
    }
    if (options.uid !== -1 || options.gid !== -1) {
      try {
        // lchown: even here, never follow a link.
        await lchown(inner, options.uid, options.gid);
      } catch (err) {
        const hint = process.getuid?.() === 0 ? '' : ' (changing the owner needs root)';
        throw new BridgeError('ELISTEN_FAILED', `${options.origin}: cannot set owner/group of ${path}: ${errMessage(err)}${hint}`, {
          cause: err,
        });
      }
    }
    const created = await lstat(inner);
    try {
      await link(inner, finalName);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') {
        throw new BridgeError('ELISTEN_IN_USE', `${options.origin}: ${path} appeared while the daemon was starting; it is left alone`, {
          cause: err,
        });
      }
      throw new BridgeError('ELISTEN_FAILED', `${options.origin}: cannot put the socket at ${path}: ${errMessage(err)}`, { cause: err });
    }
    await unlink(inner).catch(() => undefined);
    await removePrivateDirectory(privateDir, privateIno);
    const privateHandle = handle;
    return {
      ino: created.ino,
      dev: created.dev,
      release: async () => {
        // lstat: a symlink put there is not followed; unlink(2) removes the name only.
        const now = await lstat(finalName).catch(() => undefined);
        if (now !== undefined && now.isSocket() && now.ino === created.ino && now.dev === created.dev) {
          await unlink(finalName).catch(() => undefined);
        }
        await privateHandle.close().catch(() => undefined);
        await dirHandle.close().catch(() => undefined);
      },
    };
  } catch (err) {
    // The server first: libuv unlinks the bound path on close, which must still reach our directory.
    if (listening) await close();
    if (inner !== undefined) await unlink(inner).catch(() => undefined);
    // Removed by name only if it is still the directory created (or, before it was opened, if
    // it is a directory owned by us: an empty one, so rmdir cannot remove anything else).
    if (privateIno !== undefined) await removePrivateDirectory(privateDir, privateIno);
    else await removeUnopenedPrivateDirectory(privateDir);
    await handle?.close().catch(() => undefined);
    await dirHandle.close().catch(() => undefined);
    throw err;
  }
}

/** The private directory could not be opened or judged: rmdir it if it is still an (empty) directory of ours. */
async function removeUnopenedPrivateDirectory(path: string): Promise<void> {
  const now = await lstat(path).catch(() => undefined);
  if (now === undefined || !now.isDirectory() || now.uid !== (process.geteuid?.() ?? 0)) return;
  await rmdir(path).catch(() => undefined);
}

/** rmdir the private directory, only if the name still designates it (it is empty by now). */
async function removePrivateDirectory(path: string, ino: number): Promise<void> {
  const now = await lstat(path).catch(() => undefined);
  if (now === undefined || !now.isDirectory() || now.ino !== ino) return;
  await rmdir(path).catch(() => undefined);
}

function unsafe(options: SocketFileOptions, message: string, cause?: unknown): BridgeError {
  return new BridgeError('ELISTEN_UNSAFE_DIRECTORY', `${options.origin}: ${message}`, cause === undefined ? undefined : { cause });
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
