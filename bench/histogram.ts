/**
 * A log-linear latency histogram (the HdrHistogram idea, reduced to what the benchmark needs):
 * exact below 256 ns, then 128 sub-buckets per power of two, so any recorded value is known to
 * within 1/128 (< 0.8 %) of itself. Fixed memory whatever the number of samples, and mergeable,
 * so the load process can ship it to the parent as a sparse list of counts.
 */

/** Values below this are counted exactly, one bucket per nanosecond. */
const EXACT_LIMIT = 256;
/** Sub-buckets per power of two above EXACT_LIMIT: 2^7, i.e. a relative precision of 1/128. */
const SUB_BUCKETS = 128;
/** log2(SUB_BUCKETS). */
const SUB_BITS = 7;
/** Powers of two covered above 2^8 ns: up to 2^52 ns (52 days), beyond any benchmark run. */
const MAX_SHIFT = 44;

/** Sparse, JSON-able form: `[bucketIndex, count]` pairs plus the exact extremes. */
export interface HistogramData {
  readonly buckets: ReadonlyArray<readonly [number, number]>;
  readonly count: number;
  readonly minNs: number;
  readonly maxNs: number;
  readonly sumNs: number;
}

/** Bucket index of a non-negative integer number of nanoseconds. */
export function bucketOf(ns: number): number {
  if (ns < EXACT_LIMIT) return Math.max(0, Math.floor(ns));
  const shift = Math.min(MAX_SHIFT, Math.floor(Math.log2(ns)) - SUB_BITS);
  // Float rounding in log2 can put an exact power of two one shift off: correct it.
  let s = shift;
  while (s > 1 && Math.floor(ns / 2 ** s) < SUB_BUCKETS) s -= 1;
  while (Math.floor(ns / 2 ** s) >= 2 * SUB_BUCKETS && s < MAX_SHIFT) s += 1;
  const sub = Math.min(2 * SUB_BUCKETS - 1, Math.floor(ns / 2 ** s)) - SUB_BUCKETS;
  return EXACT_LIMIT + (s - 1) * SUB_BUCKETS + sub;
}

/** Largest value (ns) a bucket holds: percentiles are reported as this upper edge (never optimistic). */
export function bucketUpperNs(index: number): number {
  if (index < EXACT_LIMIT) return index;
  const s = Math.floor((index - EXACT_LIMIT) / SUB_BUCKETS) + 1;
  const sub = (index - EXACT_LIMIT) % SUB_BUCKETS;
  return (SUB_BUCKETS + sub + 1) * 2 ** s - 1;
}

/** A mutable histogram of nanosecond latencies. */
export class Histogram {
  private readonly counts = new Map<number, number>();
  count = 0;
  minNs = Number.POSITIVE_INFINITY;
  maxNs = 0;
  sumNs = 0;

  record(ns: number): void {
    const i = bucketOf(ns);
    this.counts.set(i, (this.counts.get(i) ?? 0) + 1);
    this.count += 1;
    this.sumNs += ns;
    if (ns < this.minNs) this.minNs = ns;
    if (ns > this.maxNs) this.maxNs = ns;
  }

  merge(data: HistogramData): void {
    for (const [i, c] of data.buckets) this.counts.set(i, (this.counts.get(i) ?? 0) + c);
    this.count += data.count;
    this.sumNs += data.sumNs;
    if (data.count > 0) {
      this.minNs = Math.min(this.minNs, data.minNs);
      this.maxNs = Math.max(this.maxNs, data.maxNs);
    }
  }

  toData(): HistogramData {
    return {
      buckets: [...this.counts.entries()].sort((a, b) => a[0] - b[0]),
      count: this.count,
      minNs: this.count > 0 ? this.minNs : 0,
      maxNs: this.maxNs,
      sumNs: this.sumNs,
    };
  }

  /**
   * The value at quantile `q` (0..1): the upper edge of the bucket holding the ceil(q*count)-th
   * sample, capped by the exact maximum. 0 when empty.
   */
  quantileNs(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (const [i, c] of [...this.counts.entries()].sort((a, b) => a[0] - b[0])) {
      seen += c;
      if (seen >= rank) return Math.min(bucketUpperNs(i), this.maxNs);
    }
    return this.maxNs;
  }

  meanNs(): number {
    return this.count === 0 ? 0 : this.sumNs / this.count;
  }
}
