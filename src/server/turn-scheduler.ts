/**
 * Fairness between connections: a server-wide round-robin of decoded requests.
 *
 * A connection with decoded requests waiting asks to be woken; once per event-loop turn
 * (`setImmediate`, so reading sockets and timers run between turns) every waiting connection,
 * in the order it asked, may start at most `budget` requests. A client that pipelines
 * thousands of requests without reading its replies therefore gets `budget` requests served
 * per turn like everyone else, instead of having a whole 64 KiB read decoded and answered
 * before anyone else's bytes are looked at.
 *
 * Limits: the budget counts requests, not CPU time (a request that costs much still counts
 * one); the process is still shared by every busy connection, so a well-behaved client waits
 * at most one turn, and a turn grows with the number of busy connections (bounded by
 * `max_connections`).
 */

/** Requests each connection may start per event-loop turn. */
export const DEFAULT_REQUESTS_PER_TURN = 8;

export interface TurnTaker {
  /** Start at most `budget` waiting requests; ask to be woken again if more remain. */
  runTurn(budget: number): void;
}

export class TurnScheduler {
  private waiting = new Set<TurnTaker>();
  private scheduled = false;

  constructor(readonly budget: number = DEFAULT_REQUESTS_PER_TURN) {
    if (!(budget >= 1)) throw new RangeError(`budget must be at least 1, got ${budget}`);
  }

  /** `taker` has requests waiting: give it a turn soon (once, however often it asks). */
  wake(taker: TurnTaker): void {
    this.waiting.add(taker);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.turn());
    }
  }

  /** `taker` is gone. */
  forget(taker: TurnTaker): void {
    this.waiting.delete(taker);
  }

  private turn(): void {
    this.scheduled = false;
    const batch = this.waiting;
    this.waiting = new Set();
    for (const taker of batch) taker.runTurn(this.budget);
  }
}
