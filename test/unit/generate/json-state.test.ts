import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { GenerateError } from '../../../src/generate/errors.js';
import { JsonFilePolicyCache } from '../../../src/generate/json-state.js';
import { isRefreshDue, REFRESH_INTERVAL_MS } from '../../../src/generate/refresh-due.js';
import { runPolicyCacheContract, sampleEntry } from '../../contract/policy-cache.contract.js';
import { FakeClock } from '../../helpers/fakes.js';

const dir = mkdtempSync(join(tmpdir(), 'msb-state-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(dir, `state${n++}.json`);

// The port's contract, with a clock before every sample entry's expiry.
runPolicyCacheContract('json-file (generate state)', () => new JsonFilePolicyCache(fresh(), new FakeClock(0)));

describe('JsonFilePolicyCache persistence', () => {
  it('what one run stores, the next run reads; the file is written atomically', async () => {
    const path = fresh();
    const clock = new FakeClock(0);
    const a = new JsonFilePolicyCache(path, clock);
    await a.open();
    await a.set(sampleEntry('b.test'));
    await a.set(sampleEntry('a.test'));
    await a.close();
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.includes('.tmp-')),
      [],
      'no temp file left',
    );
    const b = new JsonFilePolicyCache(path, clock);
    await b.open();
    assert.deepEqual(await b.get('a.test'), sampleEntry('a.test'));
    assert.deepEqual(await b.get('b.test'), sampleEntry('b.test'));
    await b.close();
  });

  it('a missing file is an empty state; nothing is written when nothing changed', async () => {
    const path = fresh();
    const c = new JsonFilePolicyCache(path, new FakeClock(0));
    await c.open();
    assert.equal(await c.get('a.test'), undefined);
    await c.close();
    assert.throws(() => readFileSync(path));
  });

  it('expired entries are dropped when saving', async () => {
    const path = fresh();
    const clock = new FakeClock(0);
    const c = new JsonFilePolicyCache(path, clock);
    await c.open();
    await c.set(sampleEntry('old.test', { expiresAt: 1000 }));
    await c.set(sampleEntry('live.test', { expiresAt: 10_000 }));
    clock.t = 5000;
    await c.close();
    const d = new JsonFilePolicyCache(path, clock);
    await d.open();
    assert.equal(await d.get('old.test'), undefined);
    assert.ok((await d.get('live.test')) !== undefined);
  });

  for (const [name, text] of [
    ['not JSON', '{"v":1,"entries":['],
    ['another format', '{"v":2,"entries":[]}'],
    ['no entries array', '{"v":1}'],
  ] as const) {
    it(`a state file that is ${name} is EGEN_STATE`, async () => {
      const path = fresh();
      writeFileSync(path, text);
      await assert.rejects(
        new JsonFilePolicyCache(path, new FakeClock(0)).open(),
        (e: unknown) => e instanceof GenerateError && e.code === 'EGEN_STATE',
      );
    });
  }

  it('malformed entries are skipped, good ones kept', async () => {
    const path = fresh();
    writeFileSync(path, JSON.stringify({ v: 1, entries: [{ domain: 'x' }, sampleEntry('ok.test')] }));
    const c = new JsonFilePolicyCache(path, new FakeClock(0));
    await c.open();
    assert.ok((await c.get('ok.test')) !== undefined);
    assert.equal(await c.get('x'), undefined);
  });
});

describe('isRefreshDue', () => {
  const DAY = 86_400_000;
  const cases: ReadonlyArray<[string, number, number, boolean]> = [
    // [name, lifetime ms, age ms, due]
    ['week-long policy, 1 h old', 7 * DAY, 3_600_000, false],
    ['week-long policy, just under a day old', 7 * DAY, DAY - 1, false],
    ['week-long policy, a day old', 7 * DAY, DAY, true],
    ['one-day policy, 11 h old', DAY, 11 * 3_600_000, false],
    ['one-day policy, half-way', DAY, DAY / 2, true],
    ['3 s policy, 1 s old', 3000, 1000, false],
    ['3 s policy, 2 s old', 3000, 2000, true],
  ];
  for (const [name, lifetime, age, due] of cases) {
    it(`isRefreshDue: ${name} -> ${due}`, () => {
      const e = sampleEntry('a.test', { fetchedAt: 1000, expiresAt: 1000 + lifetime });
      assert.equal(isRefreshDue(e, 1000 + age), due);
    });
  }
  assert.equal(REFRESH_INTERVAL_MS, DAY);
});
