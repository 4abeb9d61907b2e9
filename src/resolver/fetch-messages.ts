/**
 * The messages between the daemon's main thread and its policy-fetch worker
 * (worker-fetcher.ts, fetch-worker.ts). Plain data only: they cross `postMessage`.
 */
import type { FetchResult } from './types.js';

/** Main thread → worker. */
export type ToFetchWorker =
  /** Fetch the policy file of `domain` within `timeoutMs` (https-fetcher.ts does the work). */
  | { readonly kind: 'fetch'; readonly id: number; readonly domain: string; readonly timeoutMs: number }
  /** The answer to a `lookup` the worker asked for: the main thread's DNS seam resolved it. */
  | {
      readonly kind: 'addresses';
      readonly id: number;
      readonly addresses: ReadonlyArray<{ address: string; family: 4 | 6 }>;
    }
  | { readonly kind: 'lookup-failed'; readonly id: number; readonly code: string; readonly message: string };

/** Worker → main thread. */
export type FromFetchWorker =
  /** The worker loaded its code and listens: from now on a crash is a crash, not a missing file. */
  | { readonly kind: 'ready' }
  | { readonly kind: 'result'; readonly id: number; readonly result: FetchResult }
  /** Resolve the policy host through the daemon's DNS seam (the same resolver as the TXT lookup). */
  | { readonly kind: 'lookup'; readonly id: number; readonly host: string; readonly timeoutMs: number };

/** What the worker is started with (`workerData`). */
export interface FetchWorkerData {
  readonly port?: number;
  readonly ca?: string;
  /**
   * The worker resolves the policy host itself with the system resolver (these options, as for
   * createSystemDns) when the daemon's DNS seam is that same system resolver; otherwise (a seam
   * given by a test or a caller) it asks the main thread.
   */
  readonly systemDns?: { readonly servers?: readonly string[] };
}
