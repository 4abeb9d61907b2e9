/**
 * Fairness (issue 13 finding 4) through real processes and sockets: a daemon process (the real
 * app on the benchmark's in-memory internet), 200 connections from another process that
 * pipeline socketmap requests and never read, and here one well-behaved client. Its lookups
 * must each be answered within 2 s and the daemon's RSS must stay bounded. Generous bounds on
 * purpose (shared CI machines); bench/fairness.ts prints the real figures.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runFlood } from '../../../bench/flood-run.js';

describe('fairness between connections', () => {
  it('200 clients pipelining without reading do not starve a well-behaved client', { timeout: 120_000 }, async () => {
    const r = await runFlood({ requestsPerTurn: 8, flooders: 200, seconds: 5, logLevel: 'info', lookupTimeoutMs: 10_000 });
    assert.equal(r.timedOut, 0, 'every lookup answered');
    assert.ok(r.latenciesMs.length >= 10, `lookups answered during the flood: ${r.latenciesMs.length}`);
    const worst = Math.max(...r.latenciesMs);
    assert.ok(worst < 2000, `slowest well-behaved lookup took ${worst.toFixed(0)} ms`);
    const growth = r.peakRss - r.rssBefore;
    assert.ok(growth < 768 * 1024 * 1024, `daemon RSS grew by ${(growth / 1048576).toFixed(0)} MiB`);
  });
});
