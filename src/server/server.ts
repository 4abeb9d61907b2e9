/**
 * The server: every configured listener, its connections, and a graceful close.
 * The only module (with listener.ts and connection.ts) that touches sockets.
 */
import type net from 'node:net';
import type { Logger } from 'winston';
import type { ListenerConfig, ProtocolName } from '../config/types.js';
import type { LookupService } from '../lookup.js';
import type { HandlerContext, ProtocolAdapter } from '../protocol/types.js';
import { Connection, type ConnectionLimits } from './connection.js';
import { RequestMemo } from './request-memo.js';
import { adoptListener, openListener, type OpenListener } from './listener.js';
import { matchInheritedFds, type InheritedFd } from './socket-activation.js';
import type { WarmService } from '../warm/types.js';
import { formatPeer } from './address.js';
import { formatListenAddress } from './listen-address.js';
import { LogLimiter, peerHost, rateLimitedLogger } from './log-limiter.js';
import { DEFAULT_REQUESTS_PER_TURN, TurnScheduler } from './turn-scheduler.js';
import { defaultMaxConnections, readFdLimit } from './fd-limit.js';

export interface ServerDeps {
  readonly lookup: LookupService;
  /** Root or component logger; the server logs as component `server`. */
  readonly log: Logger;
  /** Seconds an idle connection is kept (config `idleTimeoutSec`); 0 disables. */
  readonly idleTimeoutSec: number;
  /** Seconds within which a request must be complete once its first byte arrived; 0 disables. */
  readonly requestTimeoutSec?: number;
  /**
   * Requests each connection may start per event-loop turn (turn-scheduler.ts); Infinity
   * turns the fairness scheduler off (benchmarks compare both).
   */
  readonly requestsPerTurn?: number;
  /** The fd soft limit the default `max_connections` derives from (fd-limit.ts); read when absent. */
  readonly fdLimit?: number;
  /**
   * The adapter serving each protocol: the composition root passes the protocol registry
   * (adapters/protocol/registry.ts), tests pass fakes. The server knows no protocol itself.
   */
  readonly adapterFor: (protocol: ProtocolName) => ProtocolAdapter;
  readonly limits?: ConnectionLimits;
  /** Background cache warm-up handed to adapters (policy delegation). */
  readonly warm?: WarmService;
  /** Listening sockets passed by systemd, adopted instead of binding (socket-activation.ts). */
  readonly inheritedFds?: readonly InheritedFd[];
}

/** What a started listener is bound to. */
export interface BoundListener {
  readonly protocol: ProtocolName;
  /** `127.0.0.1:8461`, `[::1]:8461`, `unix:/run/x.sock` (real port when 0 was asked). */
  readonly address: string;
  /** TCP port actually bound; undefined for unix sockets. */
  readonly port: number | undefined;
  readonly origin: string;
  /** The systemd-passed fd this listener adopted; absent when it bound its own socket. */
  readonly inheritedFd?: number;
  /** Open connections accepted at most (`max_connections`, configured or derived). */
  readonly maxConnections: number;
}

export interface ServerHandle {
  readonly listeners: readonly BoundListener[];
  /** Open client connections. */
  connectionCount(): number;
  /** Connections closed at once because their listener had `max_connections` open. */
  rejectedConnections(): number;
  /**
   * Stop accepting, then either let every connection answer what it has received, flush and
   * close (`graceful`), or destroy connections at once. Unix socket files created are removed.
   * May be called again with `false` to force a graceful close that takes too long.
   */
  close(graceful: boolean): Promise<void>;
  /**
   * Open one more listener at run time (configuration reload). Throws like startServer; the
   * listeners already open are untouched.
   */
  addListener(config: ListenerConfig): Promise<BoundListener>;
  /**
   * Stop accepting on the listener bound to `address` (as in `listeners`, or as configured) and remove its socket
   * file. Connections it accepted are not cut: they are answered until their clients close them
   * (or they idle out), and the daemon's stop still waits for them. False when no such listener.
   */
  removeListener(address: string): Promise<boolean>;
}

/**
 * Open every listener (all or none: if one fails, those already open are closed and the error,
 * a BridgeError ELISTEN_* or ECONFIG_UNSUPPORTED, is thrown).
 */
export async function startServer(listeners: readonly ListenerConfig[], deps: ServerDeps): Promise<ServerHandle> {
  const log = deps.log.child({ component: 'server' });
  const resolveAdapter = deps.adapterFor;
  // Resolve every adapter first, so an unsupported protocol fails before any socket is bound.
  const adapters = listeners.map((l) => resolveAdapter(l.protocol));
  // Likewise an fd systemd passed that no listener claims.
  const fdFor = deps.inheritedFds === undefined || deps.inheritedFds.length === 0 ? [] : matchInheritedFds(listeners, deps.inheritedFds);
  const connections = new Set<Connection<unknown>>();
  const opened: OpenListener[] = [];
  let closing = false;
  const budget = deps.requestsPerTurn ?? DEFAULT_REQUESTS_PER_TURN;
  const scheduler = budget === Infinity ? undefined : new TurnScheduler(budget);
  const limiter = new LogLimiter();
  const derivedMax = defaultMaxConnections(deps.fdLimit ?? readFdLimit(), listeners.length);
  /** Per listener: its connection cap and how many of its connections are open. */
  interface Quota {
    readonly max: number;
    open: number;
  }
  // Decoded requests by their bytes (request-memo.ts), one memo per configured protocol, which is
  // what adapterFor is keyed by: the listeners of a protocol share it (a request does not depend
  // on its listener), also when each was given its own wrapper of the adapter (metrics wrap it
  // per listener, keeping its decoder).
  const memos = new Map<ProtocolName, RequestMemo<unknown>>();
  const memoFor = (protocol: ProtocolName, adapter: ProtocolAdapter): RequestMemo<unknown> | undefined => {
    if (adapter.statelessDecoder !== true) return undefined;
    let memo = memos.get(protocol);
    if (memo === undefined) {
      memo = new RequestMemo();
      memos.set(protocol, memo);
    }
    return memo;
  };
  const quotaFor = (config: ListenerConfig): Quota => ({ max: config.maxConnections ?? derivedMax, open: 0 });
  const quotas = listeners.map(quotaFor);
  let rejected = 0;

  const accept = (quota: Quota, config: ListenerConfig, adapter: ProtocolAdapter, address: string, socket: net.Socket): void => {
    if (closing) {
      socket.destroy();
      return;
    }
    const peer = formatPeer(socket);
    const max = quota.max;
    if (quota.open >= max) {
      // Closed before reading a byte: the cap is what keeps descriptors for DNS and HTTPS.
      socket.destroy();
      rejected += 1;
      const dropped = limiter.take(`max_connections ${address}`);
      if (dropped !== false) {
        log.warn('connection refused: max_connections reached', {
          code: 'ECLIENT_TOO_MANY',
          listener: address,
          peer,
          maxConnections: max,
          rejected,
          ...(dropped > 0 ? { suppressed: dropped } : {}),
        });
      }
      return;
    }
    quota.open += 1;
    const host = peerHost(peer);
    const connLog = log.child({ listener: address, peer });
    const context: HandlerContext = {
      lookup: deps.lookup,
      log: rateLimitedLogger(deps.log.child({ component: adapter.protocol, listener: address, peer }), limiter, host),
      ...(config.zone !== undefined ? { listenerZone: config.zone } : {}),
      ...(deps.warm !== undefined ? { warm: deps.warm } : {}),
    };
    const memo = memoFor(config.protocol, adapter);
    const conn = new Connection(socket, {
      adapter,
      context,
      ...(memo !== undefined ? { memo } : {}),
      log: connLog,
      idleTimeoutMs: deps.idleTimeoutSec * 1000,
      requestTimeoutMs: (deps.requestTimeoutSec ?? 0) * 1000,
      ...(deps.limits !== undefined ? { limits: deps.limits } : {}),
      ...(scheduler !== undefined ? { scheduler } : {}),
      limiter,
      limiterKey: host,
    });
    connections.add(conn);
    connLog.debug('connection opened');
    void conn.closed.then(() => {
      connections.delete(conn);
      quota.open -= 1;
    });
  };

  try {
    for (const [i, config] of listeners.entries()) {
      const adapter = adapters[i] as ProtocolAdapter;
      // The real port is only known once bound (port 0), and a client may connect before
      // openListener resolves (a unix socket's chmod is still pending): read the address late.
      let bound: OpenListener | undefined;
      const onConnection = (socket: net.Socket): void =>
        accept(quotas[i] as Quota, config, adapter, bound?.address ?? formatListenAddress(config.address), socket);
      const fd = fdFor[i];
      const l = fd === undefined ? await openListener(config, onConnection) : await adoptListener(config, fd, onConnection);
      bound = l;
      opened.push(l);
    }
  } catch (err) {
    await Promise.all(opened.map((l) => l.close()));
    throw err;
  }

  // Listeners opened or removed at run time (reload); `opened` keeps the start-up ones.
  const added: { readonly listener: OpenListener; readonly quota: Quota }[] = [];
  const removed = new Set<OpenListener>();
  const describeListener = (l: OpenListener, fd: number | undefined, quota: Quota): BoundListener => ({
    protocol: l.config.protocol,
    address: l.address,
    port: l.port,
    origin: l.config.origin,
    ...(fd !== undefined ? { inheritedFd: fd } : {}),
    maxConnections: quota.max,
  });

  let listenersClosed: Promise<void> | undefined;
  return {
    get listeners(): readonly BoundListener[] {
      return [
        // `opened` follows `listeners` one to one: a failure closes them all.
        ...opened.flatMap((l, i) => (removed.has(l) ? [] : [describeListener(l, fdFor[i], quotas[i] as Quota)])),
        ...added.filter((a) => !removed.has(a.listener)).map((a) => describeListener(a.listener, undefined, a.quota)),
      ];
    },
    async addListener(config: ListenerConfig): Promise<BoundListener> {
      if (closing) throw new Error('server is closing');
      const adapter = resolveAdapter(config.protocol);
      let bound: OpenListener | undefined;
      // The default cap is the one derived at start; a listener added by a reload does not
      // shrink the others' (their connections are open already).
      const quota = quotaFor(config);
      const l = await openListener(config, (socket) =>
        accept(quota, config, adapter, bound?.address ?? formatListenAddress(config.address), socket),
      );
      bound = l;
      added.push({ listener: l, quota });
      return describeListener(l, undefined, quota);
    },
    async removeListener(address: string): Promise<boolean> {
      const l = [...opened, ...added.map((a) => a.listener)].find(
        (x) => !removed.has(x) && (x.address === address || formatListenAddress(x.config.address) === address),
      );
      if (l === undefined) return false;
      removed.add(l);
      // The listening socket closes at once (net.Server.close); the promise waits for the
      // connections it accepted, which the daemon's stop awaits through listenersClosed.
      l.close().catch((err: unknown) => {
        log.error('closing a removed listener failed', { listener: address, code: 'EINTERNAL', reason: (err as Error).message });
      });
      return true;
    },
    connectionCount: () => connections.size,
    rejectedConnections: () => rejected,
    async close(graceful: boolean): Promise<void> {
      closing = true;
      listenersClosed ??= Promise.all([...opened, ...added.map((a) => a.listener)].map((l) => l.close())).then(() => undefined);
      const open = [...connections];
      await Promise.all(open.map((c) => (graceful ? c.shutdown() : c.destroy())));
      await listenersClosed;
    },
  };
}
