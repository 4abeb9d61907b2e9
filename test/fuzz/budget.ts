/**
 * The fuzz runs' seed and time budget. Every property runs with one fixed seed (so a failure
 * reproduces) for a fixed share of wall time (so `npm test` stays bounded on any machine):
 *
 *   MTA_STS_BRIDGE_FUZZ_SEED     the fast-check seed (default 8461); printed by every run
 *   MTA_STS_BRIDGE_FUZZ_SECONDS  seconds per fuzz target (default 3, at most 300 for a soak run)
 *
 * A target (one decoder, one parser, the config loader, the entry codec) shares its seconds
 * between its properties. A failure prints fast-check's shrunk counterexample and the seed;
 * keep the input as a case in test/fuzz/regressions.test.ts once fixed.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import fc from 'fast-check';

const DEFAULT_SEED = 8461;
// Eight targets: about 25 s of `npm test` on a shared machine; the slowest property still
// makes thousands of runs in its share. Longer runs are asked for with the variable.
const DEFAULT_SECONDS = 3;
const MAX_SECONDS = 300;
/** Fewer runs than this means the budget was eaten by something else: the run proves too little. */
const MIN_RUNS = 20;

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw new Error(`${name} must be an integer, got ${JSON.stringify(raw)}`);
  return n;
}

export const FUZZ_SEED = envNumber('MTA_STS_BRIDGE_FUZZ_SEED', DEFAULT_SEED);
export const FUZZ_TARGET_SECONDS = Math.min(MAX_SECONDS, Math.max(1, envNumber('MTA_STS_BRIDGE_FUZZ_SECONDS', DEFAULT_SECONDS)));

/**
 * Runs `property` for `share` of the target's seconds (or until a million runs), with the fixed
 * seed. Fails with the counterexample when the property fails.
 */
export function runFuzz<Ts>(t: TestContext, property: fc.IProperty<Ts>, share: number): void {
  const ms = Math.round(FUZZ_TARGET_SECONDS * 1000 * share);
  const started = Date.now();
  const details = fc.check(property, {
    seed: FUZZ_SEED,
    numRuns: 1_000_000,
    interruptAfterTimeLimit: ms,
    markInterruptAsFailure: false,
  });
  t.diagnostic(`fuzz seed ${FUZZ_SEED} (MTA_STS_BRIDGE_FUZZ_SEED): ${details.numRuns} runs in ${Date.now() - started} ms of ${ms}`);
  if (details.failed) {
    throw new Error(`${fc.defaultReportMessage(details) ?? 'property failed'}\nreproduce with MTA_STS_BRIDGE_FUZZ_SEED=${FUZZ_SEED}`);
  }
  assert.ok(details.numRuns >= MIN_RUNS, `only ${details.numRuns} runs in ${ms} ms: the machine is too busy for this budget`);
}

/** Bytes built from protocol tokens, random bytes, random text and long runs (to reach the limits). */
export function tokenBytes(tokens: readonly string[], maxPieces = 40): fc.Arbitrary<Buffer> {
  const token = fc.constantFrom(...tokens).map((t) => Buffer.from(t, 'latin1'));
  const piece = fc.oneof(
    { weight: 6, arbitrary: token },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 12 }).map((a) => Buffer.from(a)) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }).map((s) => Buffer.from(s, 'utf8')) },
    {
      weight: 1,
      arbitrary: fc.tuple(token, fc.integer({ min: 1, max: 3000 })).map(([b, n]) => Buffer.concat(Array.from({ length: n }, () => b))),
    },
  );
  return fc.array(piece, { maxLength: maxPieces }).map((parts) => Buffer.concat(parts));
}

/** Cut points for splitting `length` bytes into chunks (sorted, within 0..length). */
export function cutsFor(bytes: fc.Arbitrary<Buffer>): fc.Arbitrary<{ bytes: Buffer; cuts: number[] }> {
  return bytes.chain((b) =>
    fc.array(fc.integer({ min: 0, max: b.length }), { maxLength: 12 }).map((cuts) => ({ bytes: b, cuts: [...cuts].sort((x, y) => x - y) })),
  );
}

/** `bytes` split at `cuts` into chunks (empty chunks included: a push of nothing is legal). */
export function chunksOf(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const chunks: Buffer[] = [];
  let from = 0;
  for (const at of cuts) {
    chunks.push(bytes.subarray(from, at));
    from = at;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}
