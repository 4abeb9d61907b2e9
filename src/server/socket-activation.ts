/**
 * systemd socket activation (sd_listen_fds(3)): listening sockets passed in as fds 3, 4, ...
 * with LISTEN_FDS, LISTEN_PID and LISTEN_FDNAMES, matched to the configured listeners.
 * Pure functions over the environment and the listener list; listener.ts adopts the fds.
 *
 * Matching (docs/operations.md, "systemd socket activation"), in this order:
 *  1. an fd whose name equals a listener's `name`;
 *  2. an fd whose name is a protocol (`socketmap`, `policy`, ...): the first listener of that
 *     protocol without a `name`, in configuration order;
 *  3. exactly one fd left and exactly one listener without a `name` left: those two.
 * An fd that matches nothing is an error (clients would connect to a socket nobody serves);
 * a listener that no fd matches is bound as usual.
 */
import type { ListenerConfig } from '../config/types.js';
import { BridgeError } from '../errors.js';

/** sd_listen_fds(3): the first passed file descriptor. */
export const SD_LISTEN_FDS_START = 3;

/**
 * Upper bound on LISTEN_FDS accepted: a unit passes a handful; a huge value is a corrupt
 * environment, not thousands of sockets.
 */
export const MAX_LISTEN_FDS = 1024;

/** One passed socket. */
export interface InheritedFd {
  readonly fd: number;
  /** Its LISTEN_FDNAMES entry (systemd's default is the socket unit's name). */
  readonly name: string | undefined;
}

/** What the environment says about passed sockets. */
export type ListenFds =
  | { readonly kind: 'none' }
  | { readonly kind: 'fds'; readonly fds: readonly InheritedFd[] }
  | { readonly kind: 'invalid'; readonly message: string };

/** Read LISTEN_PID / LISTEN_FDS / LISTEN_FDNAMES for process `pid`. */
export function readListenFds(env: Readonly<Record<string, string | undefined>>, pid: number): ListenFds {
  const listenPid = env['LISTEN_PID'];
  const listenFds = env['LISTEN_FDS'];
  // Not for us (a parent's variables leaked into our environment) or no activation at all.
  if (listenPid === undefined || listenFds === undefined) return { kind: 'none' };
  if (!/^[0-9]+$/.test(listenPid.trim()) || Number(listenPid) !== pid) return { kind: 'none' };
  if (!/^[0-9]+$/.test(listenFds.trim())) return { kind: 'invalid', message: `LISTEN_FDS=${JSON.stringify(listenFds)} is not a number` };
  const count = Number(listenFds);
  if (count === 0) return { kind: 'none' };
  if (count > MAX_LISTEN_FDS) return { kind: 'invalid', message: `LISTEN_FDS=${count} is more than ${MAX_LISTEN_FDS}` };
  const rawNames = env['LISTEN_FDNAMES'];
  const names = rawNames === undefined ? [] : rawNames.split(':');
  // sd_listen_fds_with_names(3) ignores names whose count does not match; so do we.
  const usable = names.length === count;
  const fds: InheritedFd[] = [];
  for (let i = 0; i < count; i += 1) {
    const name = usable ? names[i] : undefined;
    fds.push({ fd: SD_LISTEN_FDS_START + i, name: name === '' ? undefined : name });
  }
  return { kind: 'fds', fds };
}

/** sd_listen_fds(3) `unset_environment`: the variables are not meant for our children. */
export function unsetListenEnv(env: Record<string, string | undefined>): void {
  delete env['LISTEN_PID'];
  delete env['LISTEN_FDS'];
  delete env['LISTEN_FDNAMES'];
}

/**
 * Which passed fd serves which listener: `result[i]` is the fd of `listeners[i]`, or undefined
 * when that listener binds its own socket. Throws BridgeError ELISTEN_ACTIVATION when an fd
 * matches no listener.
 */
export function matchInheritedFds(listeners: readonly ListenerConfig[], fds: readonly InheritedFd[]): Array<number | undefined> {
  const result: Array<number | undefined> = listeners.map(() => undefined);
  const left = new Set(fds);
  const take = (fd: InheritedFd, index: number): void => {
    result[index] = fd.fd;
    left.delete(fd);
  };
  for (const fd of [...left]) {
    const i = listeners.findIndex((l, j) => result[j] === undefined && l.name !== undefined && l.name === fd.name);
    if (i >= 0) take(fd, i);
  }
  for (const fd of [...left]) {
    const i = listeners.findIndex((l, j) => result[j] === undefined && l.name === undefined && l.protocol === fd.name);
    if (i >= 0) take(fd, i);
  }
  const unnamed = listeners.flatMap((l, j) => (result[j] === undefined && l.name === undefined ? [j] : []));
  const [onlyFd] = left;
  const [onlyListener] = unnamed;
  if (left.size === 1 && unnamed.length === 1 && onlyFd !== undefined && onlyListener !== undefined) take(onlyFd, onlyListener);
  if (left.size > 0) {
    const desc = [...left].map((f) => `fd ${f.fd}${f.name !== undefined ? ` (${f.name})` : ''}`).join(', ');
    throw new BridgeError(
      'ELISTEN_ACTIVATION',
      `systemd passed ${desc} but no configured listener matches it; set FileDescriptorName= in the .socket unit to a listener's "name" or protocol`,
    );
  }
  return result;
}
