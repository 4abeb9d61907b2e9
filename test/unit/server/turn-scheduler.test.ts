import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TurnScheduler, type TurnTaker } from '../../../src/server/turn-scheduler.js';

const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** A connection with `waiting` requests that records what it started, turn by turn. */
function taker(name: string, waiting: number, scheduler: TurnScheduler, log: string[]): TurnTaker & { left: number } {
  const t = {
    left: waiting,
    runTurn(budget: number): void {
      const n = Math.min(budget, t.left);
      t.left -= n;
      log.push(`${name}${n}`);
      if (t.left > 0) scheduler.wake(t);
    },
  };
  return t;
}

describe('TurnScheduler', () => {
  it('gives every waiting connection at most `budget` starts per turn, round-robin', async () => {
    const s = new TurnScheduler(3);
    const log: string[] = [];
    const flood = taker('F', 10, s, log);
    const polite = taker('p', 1, s, log);
    s.wake(flood);
    s.wake(polite);
    s.wake(flood); // asking twice changes nothing
    await nextTurn();
    assert.deepEqual(log, ['F3', 'p1'], 'the polite connection is served in the first turn');
    for (let i = 0; i < 5; i += 1) await nextTurn();
    assert.deepEqual(log, ['F3', 'p1', 'F3', 'F3', 'F1']);
    assert.equal(flood.left, 0);
  });

  it('a forgotten connection gets no turn; a budget below 1 is refused', async () => {
    const s = new TurnScheduler(2);
    const log: string[] = [];
    const t = taker('x', 5, s, log);
    s.wake(t);
    s.forget(t);
    await nextTurn();
    assert.deepEqual(log, []);
    assert.throws(() => new TurnScheduler(0), RangeError);
  });
});
