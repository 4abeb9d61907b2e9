/**
 * sd_notify(3) for Type=notify and Type=notify-reload units: READY=1, RELOADING=1 (with
 * MONOTONIC_USEC=), STOPPING=1, WATCHDOG=1 and STATUS= datagrams to `$NOTIFY_SOCKET`.
 *
 * Node's `dgram` has no unix datagram type, so a path socket is written through the
 * `unix-dgram` native addon: the datagram leaves from this process, so systemd reads our own
 * pid in its credentials (NotifyAccess=main works), and sendmsg(2) either queues it or fails
 * (no child that may exit before systemd looks at it). The addon cannot address an abstract
 * socket (`@name`; its sockaddr copy stops at the leading NUL): those go through
 * `systemd-notify --pid=<our pid>` run synchronously, so the order of messages is kept.
 */
import type * as ChildProcess from 'node:child_process';
import { createRequire } from 'node:module';

/** Where to send, read from the environment; undefined when not run under a notify unit. */
export type NotifyTarget = { readonly kind: 'path'; readonly path: string } | { readonly kind: 'abstract'; readonly name: string };

/** sockaddr_un's sun_path holds 108 bytes, the NUL included. */
const SUN_PATH_MAX = 107;

/** Parse `$NOTIFY_SOCKET`: an absolute path, or `@name` for an abstract socket. */
export function notifyTarget(value: string | undefined): NotifyTarget | undefined {
  if (value === undefined || value === '') return undefined;
  if (value.startsWith('@') && value.length > 1 && Buffer.byteLength(value) <= SUN_PATH_MAX)
    return { kind: 'abstract', name: value.slice(1) };
  if (value.startsWith('/') && Buffer.byteLength(value) <= SUN_PATH_MAX) return { kind: 'path', path: value };
  return undefined;
}

/**
 * The watchdog interval in ms (half of `$WATCHDOG_USEC`, as sd_watchdog_enabled(3) advises), or
 * undefined when no watchdog is asked of this process (`$WATCHDOG_PID` set to another pid).
 */
export function watchdogIntervalMs(env: Readonly<Record<string, string | undefined>>, pid: number): number | undefined {
  const usec = env['WATCHDOG_USEC'];
  if (usec === undefined || !/^[0-9]{1,15}$/.test(usec) || Number(usec) === 0) return undefined;
  const forPid = env['WATCHDOG_PID'];
  if (forPid !== undefined && forPid !== '' && forPid !== String(pid)) return undefined;
  return Math.max(1, Math.floor(Number(usec) / 2000));
}

/** CLOCK_MONOTONIC in µs (libuv's hrtime reads it on Linux), for RELOADING=1's MONOTONIC_USEC=. */
export function monotonicUsec(): bigint {
  return process.hrtime.bigint() / 1000n;
}

/** One STATUS= value: a single line, bounded. */
export function statusLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').slice(0, 200);
}

/** What the daemon tells its service manager. All methods are no-ops without `$NOTIFY_SOCKET`. */
export interface Notifier {
  readonly enabled: boolean;
  ready(status?: string): void;
  reloading(status?: string): void;
  stopping(status?: string): void;
  status(text: string): void;
  /** Start WATCHDOG=1 pings when `$WATCHDOG_USEC` asks for them; returns the interval (ms) or undefined. */
  startWatchdog(): number | undefined;
  /** Stop the pings and close the socket. */
  close(): void;
}

/** Reports of a failed send go here (the daemon's logger); a lost notification is never fatal. */
export type NotifyErrorSink = (message: string) => void;

interface DgramSocket {
  send(buf: Buffer, offset: number, length: number, path: string, callback: (err?: Error) => void): void;
  close(): void;
  on(event: 'error', listener: (err: Error) => void): void;
}

/** The notifier for this process, from `env` (the variables are left as they are). */
export function createNotifier(
  env: Readonly<Record<string, string | undefined>> = process.env,
  onError: NotifyErrorSink = () => undefined,
): Notifier {
  const target = notifyTarget(env['NOTIFY_SOCKET']);
  if (env['NOTIFY_SOCKET'] !== undefined && env['NOTIFY_SOCKET'] !== '' && target === undefined) {
    onError(`NOTIFY_SOCKET ${JSON.stringify(env['NOTIFY_SOCKET'])} is neither an absolute path nor @abstract (or too long): not notifying`);
  }
  let socket: DgramSocket | undefined;
  let watchdog: NodeJS.Timeout | undefined;

  const send = (fields: readonly string[]): void => {
    if (target === undefined) return;
    const text = fields.join('\n');
    if (target.kind === 'abstract') {
      // node:child_process only here (an abstract socket), not at every start.
      const { spawnSync } = createRequire(import.meta.url)('node:child_process') as typeof ChildProcess;
      const r = spawnSync('systemd-notify', [`--pid=${process.pid}`, ...fields], {
        env: { ...process.env, NOTIFY_SOCKET: `@${target.name}` },
        timeout: 5000,
        stdio: 'ignore',
      });
      if (r.error !== undefined || r.status !== 0)
        onError(`systemd-notify ${fields[0] ?? ''} failed: ${r.error?.message ?? `exit ${String(r.status)}`}`);
      return;
    }
    try {
      if (socket === undefined) {
        const require = createRequire(import.meta.url);
        const unix = require('unix-dgram') as { createSocket(type: 'unix_dgram'): DgramSocket };
        socket = unix.createSocket('unix_dgram');
        socket.on('error', (err) => onError(`notify socket: ${err.message}`));
      }
      const buf = Buffer.from(text, 'utf8');
      socket.send(buf, 0, buf.length, target.path, (err) => {
        if (err !== undefined && err !== null) onError(`cannot notify ${target.path}: ${err.message}`);
      });
    } catch (err) {
      onError(`cannot notify ${target.path}: ${(err as Error).message}`);
    }
  };
  const withStatus = (first: readonly string[], status: string | undefined): string[] =>
    status === undefined ? [...first] : [...first, `STATUS=${statusLine(status)}`];

  return {
    enabled: target !== undefined,
    ready: (status) => send(withStatus(['READY=1'], status)),
    reloading: (status) => send(withStatus(['RELOADING=1', `MONOTONIC_USEC=${monotonicUsec()}`], status)),
    stopping: (status) => send(withStatus(['STOPPING=1'], status)),
    status: (text) => send([`STATUS=${statusLine(text)}`]),
    startWatchdog(): number | undefined {
      if (target === undefined || watchdog !== undefined) return undefined;
      const ms = watchdogIntervalMs(env, process.pid);
      if (ms === undefined) return undefined;
      send(['WATCHDOG=1']);
      watchdog = setInterval(() => send(['WATCHDOG=1']), ms);
      watchdog.unref();
      return ms;
    },
    close(): void {
      if (watchdog !== undefined) clearInterval(watchdog);
      watchdog = undefined;
      socket?.close();
      socket = undefined;
    },
  };
}
