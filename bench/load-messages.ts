/**
 * IPC messages between the benchmark (parent, hosting the daemon) and the load process.
 *
 * parent -> load: `start`, then any number of `run`, then `exit`.
 * load -> parent: `prewarmed` (every domain asked once), `ready` (JIT warm-up done), one
 * `result` per `run`. On failure it writes to stderr and exits non-zero.
 */
import type { HistogramData } from './histogram.js';

/** Replies by kind, from the first word of the socketmap reply payload. */
export interface ReplyKinds {
  ok: number;
  notfound: number;
  temp: number;
  perm: number;
  other: number;
}

export type ToLoad =
  | {
      readonly type: 'start';
      readonly host: string;
      readonly port: number;
      readonly connections: number;
      /** Requests outstanding per connection (1 = Postfix's request, reply, next request). */
      readonly depth: number;
      readonly mapName: string;
      readonly domains: readonly string[];
      /** Unmeasured load before `ready`, so the JIT has settled before anything is timed. */
      readonly warmupSeconds: number;
    }
  | { readonly type: 'run'; readonly label: string; readonly seconds: number }
  | { readonly type: 'exit' };

export interface PhaseResult {
  readonly label: string;
  /** Replies received within the measured window. */
  readonly completed: number;
  /** Length of the measured window, in nanoseconds. */
  readonly windowNs: number;
  readonly latency: HistogramData;
  readonly replies: ReplyKinds;
  /** CPU the load process itself used during the window, in microseconds. */
  readonly loadCpuUserUs: number;
  readonly loadCpuSystemUs: number;
}

export type FromLoad =
  | { readonly type: 'prewarmed'; readonly replies: ReplyKinds }
  | { readonly type: 'ready' }
  | { readonly type: 'result'; readonly result: PhaseResult };

export function emptyReplyKinds(): ReplyKinds {
  return { ok: 0, notfound: 0, temp: 0, perm: 0, other: 0 };
}
