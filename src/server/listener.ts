/**
 * Opening one listening socket: TCP (`HOST:PORT`, `[IPV6]:PORT`) or a unix socket path.
 *
 * Unix socket paths get careful treatment because a daemon restarted after a crash finds its
 * old socket file still there: a STALE socket (nobody accepts on it) is removed and replaced;
 * a LIVE one (another process answers) is never stolen; a file that is not a socket is never
 * deleted. A new socket file is created aside and linked into place with its mode and owner
 * (unix-socket-file.ts), in a directory that only trusted accounts can write to
 * (socket-directory.ts): no step follows a symbolic link someone else could have put there.
 */
import net from 'node:net';
import { constants } from 'node:fs';
import { access, lstat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ListenerConfig } from '../config/types.js';
import { BridgeError } from '../errors.js';
import { formatListenAddress as formatAddress } from './listen-address.js';
import { formatHostPort } from './address.js';
import { resolveAccountId } from './accounts.js';
import { checkSocketDirectory, describeDirectoryProblem, trustedWriters } from './socket-directory.js';
import { placeSocketFile } from './unix-socket-file.js';

/**
 * How long the probe of an existing unix socket may take. A local connect answers at once;
 * one that hangs means a live server with a full backlog, so it counts as live.
 */
export const STALE_PROBE_TIMEOUT_MS = 1000;

/** A bound, listening socket. */
export interface OpenListener {
  readonly config: ListenerConfig;
  readonly server: net.Server;
  /** The bound address as text (with the real port when port 0 was asked for). */
  readonly address: string;
  /** TCP port actually bound, for TCP listeners. */
  readonly port: number | undefined;
  /**
   * Stop accepting at once; resolves when the listening socket AND every connection it
   * accepted are closed (net.Server semantics), and the socket file is removed.
   */
  close(): Promise<void>;
}

/**
 * Bind and listen. Accepted sockets go to `onConnection`. Half-open connections are allowed:
 * Exim's `${readsocket}` shuts its write side after the request and still reads the reply.
 * Throws BridgeError ELISTEN_IN_USE, ELISTEN_ADDRESS, ELISTEN_UNSAFE_DIRECTORY or ELISTEN_FAILED.
 */
export async function openListener(config: ListenerConfig, onConnection: (socket: net.Socket) => void): Promise<OpenListener> {
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: false }, onConnection);
  const address = config.address;
  switch (address.kind) {
    case 'tcp': {
      // SO_REUSEPORT (`reusePort`) exists from Node 22.12/23.1 on and is absent from the Node 20
      // types; Node 20 ignores the unknown option, so it is passed through for newer runtimes.
      const options = { host: address.host, port: address.port, reusePort: config.reusePort } as net.ListenOptions;
      await listen(server, options, config);
      const bound = server.address();
      const port = typeof bound === 'object' && bound !== null ? bound.port : address.port;
      return {
        config,
        server,
        address: formatHostPort(address.host, port),
        port,
        close: () => closeServer(server),
      };
    }
    case 'unix': {
      const ids = await checkUnixSocketPlace(address.path, config);
      await clearStaleSocket(address.path, config);
      // Created aside and linked into place with its mode and owner: see unix-socket-file.ts.
      const placed = await placeSocketFile(
        address.path,
        { origin: config.origin, mode: config.mode, uid: ids.uid, gid: ids.gid, directory: ids.directory },
        (listenPath) => listen(server, { path: listenPath }, config),
        () => closeServer(server),
      );
      return {
        config,
        server,
        address: formatAddress(address),
        port: undefined,
        close: async () => {
          await closeServer(server);
          // libuv unlinks only the private name it bound; the socket's own name is removed
          // by `release`, and only while it is still our socket (a symlink put there is not
          // followed; another instance's socket has another inode and is left alone).
          await placed.release();
        },
      };
    }
    default: {
      const _never: never = address;
      throw new BridgeError('ELISTEN_ADDRESS', `unknown listen address ${JSON.stringify(_never)}`);
    }
  }
}

/**
 * Adopt a listening socket passed by systemd (socket activation) instead of binding one. The
 * configured address, mode, owner and group are not applied: the .socket unit decides them,
 * and closing leaves the socket file to systemd.
 */
export async function adoptListener(config: ListenerConfig, fd: number, onConnection: (socket: net.Socket) => void): Promise<OpenListener> {
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: false }, onConnection);
  try {
    await listen(server, { fd } as net.ListenOptions, config);
  } catch (err) {
    throw new BridgeError('ELISTEN_ACTIVATION', `${config.origin}: cannot use the socket systemd passed as fd ${fd}: ${errMessage(err)}`, {
      cause: err,
    });
  }
  const bound = server.address();
  const address =
    typeof bound === 'string'
      ? `unix:${bound === '' ? `fd:${fd}` : bound}`
      : bound === null
        ? `fd:${fd}`
        : formatHostPort(bound.address, bound.port);
  return {
    config,
    server,
    address,
    port: typeof bound === 'object' && bound !== null ? bound.port : undefined,
    close: () => closeServer(server),
  };
}

/**
 * Everything about a unix socket's place that can be checked without creating it (shared
 * with `check-config`, main/preflight.ts): the configured owner and group resolve to
 * ids (-1: unchanged), the directory exists, is writable by this process, and is safe (see
 * socket-directory.ts). Throws BridgeError ELISTEN_FAILED or ELISTEN_UNSAFE_DIRECTORY.
 */
export async function checkUnixSocketPlace(
  path: string,
  config: ListenerConfig,
): Promise<{ uid: number; gid: number; directory: string | undefined }> {
  const uid = config.owner === undefined ? { ok: true as const, id: -1 } : await resolveAccountId('passwd', config.owner);
  const gid = config.group === undefined ? { ok: true as const, id: -1 } : await resolveAccountId('group', config.group);
  if (!uid.ok || !gid.ok) {
    const message = !uid.ok ? uid.message : !gid.ok ? gid.message : '';
    throw new BridgeError('ELISTEN_FAILED', `${config.origin}: cannot set the owner of ${path}: ${message}`);
  }
  const directory = await checkSocketDirectory(path, trustedWriters(uid.id === -1 ? undefined : uid.id));
  const problem = describeDirectoryProblem(directory, path);
  if (problem !== undefined) {
    throw new BridgeError(
      directory.kind === 'writable-by-others' ? 'ELISTEN_UNSAFE_DIRECTORY' : 'ELISTEN_FAILED',
      `${config.origin}: ${problem}`,
    );
  }
  try {
    await access(dirname(path), constants.W_OK | constants.X_OK);
  } catch (err) {
    throw new BridgeError(
      'ELISTEN_FAILED',
      `${config.origin}: cannot create ${path}: its directory is not writable by this process (${errMessage(err)})`,
      {
        cause: err,
      },
    );
  }
  return { uid: uid.id, gid: gid.id, directory: directory.kind === 'safe' && 'real' in directory ? directory.real : undefined };
}

/**
 * Whether `config`'s TCP host is an address of this machine, without taking its port: bind
 * port 0 on it and close at once (what `serve` would get from bind(2), EADDRNOTAVAIL for a
 * foreign address; names resolve as for `serve`). Throws BridgeError ELISTEN_ADDRESS or
 * ELISTEN_FAILED.
 */
export async function probeTcpHost(config: ListenerConfig, host: string): Promise<void> {
  const server = net.createServer();
  await listen(server, { host, port: 0 }, config);
  await closeServer(server);
}

/** Result of probing an existing socket file. */
export type SocketProbe = 'live' | 'stale' | 'gone';

/** Connect to the unix socket at `path` to learn whether a server still accepts on it. */
export function probeUnixSocket(path: string, timeoutMs = STALE_PROBE_TIMEOUT_MS): Promise<SocketProbe> {
  return new Promise((resolve) => {
    const socket = net.connect({ path });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve('live');
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      // A polite close (FIN, then let the owner close) rather than a reset in its face.
      socket.resume();
      socket.end();
      setTimeout(() => socket.destroy(), timeoutMs).unref();
      resolve('live');
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      if (err.code === 'ECONNREFUSED') resolve('stale');
      else if (err.code === 'ENOENT') resolve('gone');
      // EACCES and the like: someone else's socket we cannot judge; never steal it.
      else resolve('live');
    });
  });
}

async function clearStaleSocket(path: string, config: ListenerConfig): Promise<void> {
  const stat = await lstat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw new BridgeError('ELISTEN_FAILED', `${config.origin}: cannot inspect ${path}: ${err.message}`, { cause: err });
  });
  if (stat === undefined) return;
  if (!stat.isSocket()) {
    throw new BridgeError('ELISTEN_ADDRESS', `${config.origin}: ${path} exists and is not a socket; refusing to replace it`);
  }
  switch (await probeUnixSocket(path)) {
    case 'live':
      throw new BridgeError(
        'ELISTEN_IN_USE',
        `${config.origin}: another process is listening on ${path} (is mta-sts-bridge already running?)`,
      );
    case 'stale': {
      // Removed only if the name still designates the file judged stale. unlink(2) removes
      // the name itself and never follows a symlink, so a swap in between cannot make it
      // remove another file.
      const again = await lstat(path).catch(() => undefined);
      if (again === undefined) return;
      if (!again.isSocket() || again.ino !== stat.ino || again.dev !== stat.dev) {
        throw new BridgeError('ELISTEN_IN_USE', `${config.origin}: ${path} changed while it was being checked; it is left alone`);
      }
      await unlink(path).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') {
          throw new BridgeError('ELISTEN_FAILED', `${config.origin}: cannot remove stale socket ${path}: ${err.message}`, {
            cause: err,
          });
        }
      });
      return;
    }
    case 'gone':
      return;
  }
}

function listen(server: net.Server, options: net.ListenOptions, config: ListenerConfig): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      const where = formatAddress(config.address);
      if (err.code === 'EADDRINUSE') {
        reject(new BridgeError('ELISTEN_IN_USE', `${config.origin}: ${where} is already in use`, { cause: err }));
      } else if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') {
        reject(new BridgeError('ELISTEN_ADDRESS', `${config.origin}: cannot bind ${where}: ${err.message}`, { cause: err }));
      } else {
        reject(new BridgeError('ELISTEN_FAILED', `${config.origin}: cannot listen on ${where}: ${err.message}`, { cause: err }));
      }
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(options);
  });
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    // The listening handle closes at once; the callback waits for accepted connections too.
    server.close(() => resolve());
  });
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
