import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  dueness,
  FIRST_RUN_DELAY_MS,
  firstRunDelay,
  LAST_CHANCE_RUNS,
  leaseTtl,
  MIN_SLEEP_MS,
  nextRunDelay,
  type RefreshTiming,
} from '../../../src/refresh/schedule.js';

const H = 3_600_000;
const D = 24 * H;
const NOW = Date.UTC(2026, 0, 10);
/** The Python defaults: interval 86400, grace_ratio 2; our jitter 0.1. */
const DEFAULTS: RefreshTiming = { intervalMs: D, graceRatio: 2, jitter: 0.1 };

describe('refresh schedule: which entries a run refreshes', () => {
  const cases: ReadonlyArray<{ what: string; fetchedAgo: number; maxAge: number; t?: RefreshTiming; want: ReturnType<typeof dueness> }> = [
    { what: 'a week-long policy fetched 1 h ago', fetchedAgo: H, maxAge: 7 * D, want: { due: false, why: 'recent' } },
    { what: 'fetched just under interval/grace_ratio ago', fetchedAgo: 12 * H - 1, maxAge: 7 * D, want: { due: false, why: 'recent' } },
    {
      what: 'fetched exactly interval/grace_ratio ago (Python: not skipped)',
      fetchedAgo: 12 * H,
      maxAge: 7 * D,
      want: { due: true, why: 'age' },
    },
    { what: 'fetched 13 h ago', fetchedAgo: 13 * H, maxAge: 7 * D, want: { due: true, why: 'age' } },
    {
      what: 'a day-long policy fetched a minute ago (would expire before the run after next)',
      fetchedAgo: 60_000,
      maxAge: D,
      want: { due: true, why: 'expiry' },
    },
    {
      what: 'a 2-day policy fetched 1 h ago: expires within two intervals',
      fetchedAgo: H,
      maxAge: 2 * D,
      want: { due: true, why: 'expiry' },
    },
    { what: 'a 3-day policy fetched 1 h ago: not yet', fetchedAgo: H, maxAge: 3 * D, want: { due: false, why: 'recent' } },
    {
      what: 'a 2-day policy fetched 1 h ago with grace_ratio 1/4: still last chance',
      fetchedAgo: H,
      maxAge: 2 * D,
      t: { ...DEFAULTS, graceRatio: 0.25 },
      want: { due: true, why: 'expiry' },
    },
    {
      what: 'a week-long policy fetched 2 days ago with grace_ratio 1/4 (every 4 days)',
      fetchedAgo: 2 * D,
      maxAge: 7 * D,
      t: { ...DEFAULTS, graceRatio: 0.25 },
      want: { due: false, why: 'recent' },
    },
    { what: 'expired a millisecond ago', fetchedAgo: D + 1, maxAge: D, want: { due: false, why: 'expired' } },
    { what: 'expiring this very millisecond', fetchedAgo: D, maxAge: D, want: { due: false, why: 'expired' } },
    { what: 'max_age 0: expired at once', fetchedAgo: 0, maxAge: 0, want: { due: false, why: 'expired' } },
    {
      what: 'hourly runs, week policy fetched 31 min ago',
      fetchedAgo: 31 * 60_000,
      maxAge: 7 * D,
      t: { intervalMs: H, graceRatio: 2, jitter: 0 },
      want: { due: true, why: 'age' },
    },
  ];
  for (const c of cases) {
    it(c.what, () => {
      const entry = { fetchedAt: NOW - c.fetchedAgo, expiresAt: NOW - c.fetchedAgo + c.maxAge };
      assert.deepEqual(dueness(entry, NOW, c.t ?? DEFAULTS), c.want);
    });
  }

  it('a policy longer than LAST_CHANCE_RUNS intervals is refreshed before it expires, by at least two runs', () => {
    // Runs every interval (the longest spacing); the entry was fetched just after a run.
    const t: RefreshTiming = { intervalMs: D, graceRatio: 0.2, jitter: 0 };
    const fetchedAt = NOW;
    const expiresAt = NOW + 6 * D;
    const dueRuns = [1, 2, 3, 4, 5, 6].map((k) => NOW + k * D - 1).filter((run) => dueness({ fetchedAt, expiresAt }, run, t).due);
    assert.equal(LAST_CHANCE_RUNS, 2);
    assert.ok(dueRuns.length >= 2, `due at ${dueRuns.length} runs`);
    assert.ok(dueRuns.every((run) => run < expiresAt));
  });
});

describe('refresh schedule: when runs happen', () => {
  it('the first run waits a minute plus up to jitter × interval', () => {
    assert.equal(firstRunDelay(DEFAULTS, 0), FIRST_RUN_DELAY_MS);
    assert.equal(firstRunDelay(DEFAULTS, 0.5), FIRST_RUN_DELAY_MS + 0.05 * D);
    assert.ok(firstRunDelay(DEFAULTS, 0.999_999) < FIRST_RUN_DELAY_MS + 0.1 * D);
  });

  it('the first run never waits longer than one interval', () => {
    assert.equal(firstRunDelay({ intervalMs: 10_000, graceRatio: 2, jitter: 0.5 }, 0.9), 10_000);
  });

  it('runs start at most one interval apart, up to jitter × interval early', () => {
    const start = NOW;
    assert.equal(nextRunDelay(DEFAULTS, start, start + H, 0), D - H);
    assert.equal(nextRunDelay(DEFAULTS, start, start + H, 0.5), D * 0.95 - H);
    assert.equal(nextRunDelay({ ...DEFAULTS, jitter: 0 }, start, start, 0.7), D);
  });

  it('a run longer than the interval is followed by the minimum pause', () => {
    assert.equal(nextRunDelay(DEFAULTS, NOW, NOW + 2 * D, 0), MIN_SLEEP_MS);
  });

  it('the lease lasts interval/grace_ratio, but never past the shortest spacing of runs', () => {
    assert.equal(leaseTtl(DEFAULTS), 12 * H);
    assert.equal(leaseTtl({ intervalMs: D, graceRatio: 0.5, jitter: 0.1 }), 0.9 * D);
    assert.equal(leaseTtl({ intervalMs: D, graceRatio: 1, jitter: 0 }), D);
    assert.equal(leaseTtl({ intervalMs: 1000, graceRatio: 1e9, jitter: 0 }), 1);
  });
});
