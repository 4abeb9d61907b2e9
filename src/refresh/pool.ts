/**
 * Bounded concurrency for the refresher (`concurrency_limit`): at most `limit` tasks run at
 * once; the producer waits for a free slot, and stops waiting when asked to stop.
 */
import { whenAborted } from './timers.js';

export class TaskPool {
  private readonly running = new Set<Promise<void>>();
  /** Most tasks seen running at once (for tests and the run report). */
  peak = 0;

  constructor(readonly limit: number) {}

  get size(): number {
    return this.running.size;
  }

  /** Wait until fewer than `limit` tasks run. False when `signal` aborted first. */
  async slot(signal: AbortSignal): Promise<boolean> {
    while (this.running.size >= this.limit) {
      if (signal.aborted) return false;
      const aborted = whenAborted(signal);
      try {
        await Promise.race([...this.running, aborted.promise]);
      } finally {
        aborted.dispose();
      }
    }
    return !signal.aborted;
  }

  /** Start `task` now. Its failure is the task's business: it must catch; a rejection is dropped here. */
  run(task: () => Promise<void>): void {
    const p: Promise<void> = (async () => task())()
      .catch(() => undefined)
      .finally(() => {
        this.running.delete(p);
      });
    this.running.add(p);
    this.peak = Math.max(this.peak, this.running.size);
  }

  /** Wait for every running task. */
  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }
}
