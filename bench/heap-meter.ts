/**
 * Measures what a stretch of code allocated on the V8 heap, in the same process.
 *
 * Node 20 has no cumulative "bytes allocated" counter (`total_allocated_bytes` is not in
 * `v8.getHeapStatistics()`), but `v8.GCProfiler` (Node 18.15+) records the heap's used size
 * before and after every collection. Between two collections the used size only grows by
 * allocation, so the allocation total is the sum of those growths:
 *   sum over GCs (usedBefore(gc) - usedAfter(previous gc)) + (usedAtEnd - usedAfter(last gc)).
 * What it does NOT count: off-heap memory (Buffer/ArrayBuffer backing stores, sockets' native
 * buffers); small Buffers come from Node's 8 KiB pool slabs, whose on-heap wrappers are counted
 * but whose bytes are not. It counts everything the process allocates meanwhile, so the caller
 * must keep the process otherwise idle.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

export interface HeapMeasurement {
  /** Bytes allocated on the V8 heap during the measurement (see module comment). */
  readonly allocatedBytes: number;
  readonly scavenges: number;
  /** Mark-compact and other non-scavenge collections. */
  readonly majorGcs: number;
  /** Sum of the reported GC pause times, in milliseconds. */
  readonly gcPauseMs: number;
}

interface GcStat {
  readonly gcType: string;
  readonly cost: number;
  readonly beforeGC: { readonly heapStatistics: { readonly usedHeapSize: number } };
  readonly afterGC: { readonly heapStatistics: { readonly usedHeapSize: number } };
}

/** A running measurement; `stop()` ends it. */
export interface HeapMeter {
  stop(): HeapMeasurement;
}

export function startHeapMeter(): HeapMeter {
  const profiler = new v8.GCProfiler();
  const startUsed = v8.getHeapStatistics().used_heap_size;
  profiler.start();
  return {
    stop(): HeapMeasurement {
      const endUsed = v8.getHeapStatistics().used_heap_size;
      const report = profiler.stop() as { statistics?: readonly GcStat[] } | undefined;
      const stats = report?.statistics ?? [];
      let allocated = 0;
      let previousAfter = startUsed;
      let scavenges = 0;
      let majorGcs = 0;
      let pauseUs = 0;
      for (const gc of stats) {
        allocated += Math.max(0, gc.beforeGC.heapStatistics.usedHeapSize - previousAfter);
        previousAfter = gc.afterGC.heapStatistics.usedHeapSize;
        if (gc.gcType === 'Scavenge' || gc.gcType === 'MinorMarkCompact') scavenges += 1;
        else majorGcs += 1;
        pauseUs += gc.cost;
      }
      allocated += Math.max(0, endUsed - previousAfter);
      return { allocatedBytes: allocated, scavenges, majorGcs, gcPauseMs: pauseUs / 1000 };
    },
  };
}

let cachedGc: (() => void) | undefined;

/**
 * A full garbage collection, whether or not node was started with `--expose-gc`: the flag can
 * still be set at run time, and a fresh context then sees the `gc` global.
 */
export function forceGc(): void {
  if (cachedGc === undefined) {
    const global = (globalThis as { gc?: () => void }).gc;
    if (typeof global === 'function') {
      cachedGc = global;
    } else {
      v8.setFlagsFromString('--expose-gc');
      cachedGc = vm.runInNewContext('gc') as () => void;
    }
  }
  cachedGc();
}
