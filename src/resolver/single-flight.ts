/** Concurrent calls for one key share one promise (single flight). */
export class SingleFlight<T> {
  private readonly pending = new Map<string, Promise<T>>();

  /** Runs `work` unless a call for `key` is already under way, in which case it joins it. */
  run(key: string, work: () => Promise<T>): Promise<T> {
    const existing = this.pending.get(key);
    if (existing !== undefined) return existing;
    const p = work().finally(() => {
      this.pending.delete(key);
    });
    this.pending.set(key, p);
    return p;
  }

  /** Number of keys with work under way. */
  get size(): number {
    return this.pending.size;
  }
}
