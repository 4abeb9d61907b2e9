/**
 * The daemon's {@link PolicyFetcher}: the HTTPS fetcher (https-fetcher.ts) run in one worker
 * thread (fetch-worker.ts), so that a storm of new domains (TLS handshakes, HTTP parsing) does
 * not delay the cached answers the main thread gives. The policy host is resolved in the worker
 * when the daemon's DNS seam is the system resolver (`systemDns`), else by the main thread's seam
 * when the worker asks; the main thread receives a compact `FetchResult`.
 *
 * - One worker, started at the first fetch (start-up and idle memory stay as without it) and
 *   stopped after `idleMs` without a fetch; it never keeps the process alive while idle.
 * - A worker that exits or fails to answer within the fetch's deadline plus a grace period
 *   fails its pending fetches with `ELOCAL_FAULT` (not the remote's fault: no back-off, a
 *   cached policy still applies) and is replaced at the next fetch.
 * - When no worker can be started at all (the constructor throws, or the thread ends before its
 *   code is loaded, e.g. files unreadable after a privilege drop), fetches run on the main
 *   thread as before, the pending ones included.
 *
 * Never throws or rejects: every outcome is a `FetchResult`.
 */
import { createRequire } from 'node:module';
import type * as WorkerThreads from 'node:worker_threads';
import type { Worker } from 'node:worker_threads';
import { DNS_UNKNOWN_CODE } from './dns.js';
import type { FetchWorkerData, FromFetchWorker, ToFetchWorker } from './fetch-messages.js';
import { createLazyHttpsFetcher } from './lazy-fetcher.js';
import { policyUrl } from './policy-url.js';
import type { DnsPort, FetchResult, PolicyFetcher } from './types.js';

/** A fetch worker with nothing to do for this long is stopped (restarted at the next fetch): its ~10 MB of RSS is not kept after a burst. */
export const FETCH_WORKER_IDLE_MS = 10_000;
/** How long past a fetch's own deadline the main thread waits for the worker's answer. */
export const FETCH_WORKER_GRACE_MS = 2_000;

export interface WorkerFetcherOptions {
  /** Port of the policy host; 443 except in tests. */
  readonly port?: number;
  /** Extra trusted roots (PEM), as for https-fetcher.ts's createHttpsFetcher. */
  readonly ca?: string;
  readonly idleMs?: number;
  readonly graceMs?: number;
  /**
   * `dns` is the system resolver made with these options (createSystemDns): the worker then
   * resolves the policy host itself with an equal one, sparing the main thread those queries.
   */
  readonly systemDns?: { readonly servers?: readonly string[] };
  /** The worker's script; tests give one that misbehaves. */
  readonly workerUrl?: URL;
}

/** A fetcher owning a thread: `close()` stops it (pending fetches fail with ELOCAL_FAULT). */
export interface WorkerPolicyFetcher extends PolicyFetcher {
  close(): Promise<void>;
  /** True while a worker thread exists (for tests and diagnostics). */
  readonly running: boolean;
}

interface Pending {
  readonly domain: string;
  readonly timeoutMs: number;
  readonly resolve: (r: FetchResult) => void;
  readonly guard: NodeJS.Timeout;
}

export function createWorkerFetcher(dns: DnsPort, options: WorkerFetcherOptions = {}): WorkerPolicyFetcher {
  const idleMs = options.idleMs ?? FETCH_WORKER_IDLE_MS;
  const graceMs = options.graceMs ?? FETCH_WORKER_GRACE_MS;
  const workerUrl = options.workerUrl ?? new URL('./fetch-worker.js', import.meta.url);
  const data: FetchWorkerData = {
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.ca !== undefined ? { ca: options.ca } : {}),
    ...(options.systemDns !== undefined
      ? { systemDns: { ...(options.systemDns.servers !== undefined ? { servers: [...options.systemDns.servers] } : {}) } }
      : {}),
  };
  const pending = new Map<number, Pending>();
  let nextId = 0;
  let worker: Worker | undefined;
  let idleTimer: NodeJS.Timeout | undefined;
  let lastUsed = 0;
  let closing = false;
  /** Set when no worker can be started: fetch on the main thread from then on. */
  let inProcess: PolicyFetcher | undefined;
  /** Workers that loaded their code. */
  const ready = new WeakSet<Worker>();
  // Loaded only if it is ever needed: node:https and node:tls stay out of start-up.
  const inProcessFetcher = (): PolicyFetcher =>
    createLazyHttpsFetcher(dns, {
      ...(data.port !== undefined ? { port: data.port } : {}),
      ...(data.ca !== undefined ? { ca: data.ca } : {}),
    });

  const urlOf = (domain: string): string => policyUrl(domain, options.port);
  const localFault = (domain: string, message: string): FetchResult => ({
    kind: 'error',
    url: urlOf(domain),
    code: 'ELOCAL_FAULT',
    message,
    timings: { totalMs: 0 },
  });

  const settle = (id: number, result: FetchResult): void => {
    const p = pending.get(id);
    if (p === undefined) return;
    pending.delete(id);
    clearTimeout(p.guard);
    p.resolve(result);
    if (pending.size === 0) {
      worker?.unref();
      armIdle();
    }
  };

  /** Fail every pending fetch and drop the worker (it exited, or is stuck). */
  const abandon = (w: Worker, why: string, mayFallBack = true): void => {
    if (worker !== w) return;
    worker = undefined;
    if (mayFallBack && !ready.has(w) && !closing) {
      // It never ran: no thread can be had here. Fetch on the main thread, these ones too.
      inProcess ??= inProcessFetcher();
      const fallback = inProcess;
      for (const [id, p] of [...pending]) {
        const entry = pending.get(id);
        if (entry === undefined) continue;
        pending.delete(id);
        clearTimeout(entry.guard);
        void fallback.fetch(p.domain, p.timeoutMs).then(entry.resolve);
      }
      return;
    }
    for (const [id, p] of [...pending]) settle(id, localFault(p.domain, `policy fetch worker ${why}`));
  };

  const armIdle = (): void => {
    lastUsed = Date.now();
    if (idleTimer !== undefined) return;
    const check = (ms: number): void => {
      idleTimer = setTimeout(() => {
        idleTimer = undefined;
        if (worker === undefined || pending.size > 0) return;
        const left = lastUsed + idleMs - Date.now();
        if (left > 0) {
          check(left);
          return;
        }
        const w = worker;
        worker = undefined;
        void w.terminate();
      }, ms);
      idleTimer.unref();
    };
    check(idleMs);
  };

  const onMessage = (w: Worker, message: FromFetchWorker): void => {
    switch (message.kind) {
      case 'ready':
        ready.add(w);
        break;
      case 'result':
        settle(message.id, message.result);
        break;
      case 'lookup':
        dns.lookupAddresses(message.host, message.timeoutMs).then(
          (addresses) => {
            const reply: ToFetchWorker = {
              kind: 'addresses',
              id: message.id,
              addresses: addresses.map((a) => ({ address: a.address, family: a.family })),
            };
            if (worker === w) w.postMessage(reply);
          },
          (err: unknown) => {
            const code =
              typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : DNS_UNKNOWN_CODE;
            const reply: ToFetchWorker = {
              kind: 'lookup-failed',
              id: message.id,
              code,
              message: err instanceof Error ? err.message : String(err),
            };
            if (worker === w) w.postMessage(reply);
          },
        );
        break;
      default: {
        const _never: never = message;
        throw new Error(`unknown message ${JSON.stringify(_never)}`);
      }
    }
  };

  const start = (): Worker | undefined => {
    let w: Worker;
    try {
      w = new (loadWorkerThreads().Worker)(workerUrl, { workerData: data });
    } catch {
      inProcess = inProcessFetcher();
      return undefined;
    }
    w.on('message', (m: FromFetchWorker) => onMessage(w, m));
    w.on('error', (err) => abandon(w, `failed: ${err.message}`));
    w.on('exit', (code) => abandon(w, `exited (code ${code})`));
    return w;
  };

  return {
    get running() {
      return worker !== undefined;
    },
    fetch(domain, timeoutMs) {
      if (inProcess !== undefined) return inProcess.fetch(domain, timeoutMs);
      worker ??= start();
      const w = worker;
      if (w === undefined)
        return (
          (inProcess as PolicyFetcher | undefined)?.fetch(domain, timeoutMs) ??
          Promise.resolve(localFault(domain, 'no policy fetch worker'))
        );
      nextId += 1;
      const id = nextId;
      const waitMs = (Number.isFinite(timeoutMs) ? Math.max(1, timeoutMs) : 1) + graceMs;
      return new Promise<FetchResult>((resolve) => {
        const guard = setTimeout(() => {
          // The worker missed the fetch's own deadline by the grace period: it is stuck.
          abandon(w, `did not answer within ${waitMs} ms`, false);
          void w.terminate();
        }, waitMs);
        pending.set(id, { domain, timeoutMs, resolve, guard });
        w.ref();
        const message: ToFetchWorker = { kind: 'fetch', id, domain, timeoutMs };
        w.postMessage(message);
      });
    },
    async close() {
      closing = true;
      if (idleTimer !== undefined) clearTimeout(idleTimer);
      idleTimer = undefined;
      const w = worker;
      if (w === undefined) return;
      abandon(w, 'stopped');
      await w.terminate();
    },
  };
}

/**
 * node:worker_threads, loaded when the first fetch starts the worker: a daemon whose policies are
 * cached does not carry it (about 0.7 MB of RSS and 25 built-in modules at start).
 */
function loadWorkerThreads(): typeof WorkerThreads {
  return createRequire(import.meta.url)('node:worker_threads') as typeof WorkerThreads;
}
