/**
 * CachedPolicy: the compact entry the resolver keeps in memory. Serialised it is exactly the
 * plain PolicyEntry the backends store; its answers are memoised per formatter and zone identity.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeEntryText, encodeEntry } from '../../../adapters/cache/entry-json.js';
import { CachedPolicy, MAX_MEMOS_PER_POLICY } from '../../../src/cache/cached-policy.js';
import { CACHE_ENTRY_VERSION, isPolicyEntry, type PolicyEntry } from '../../../src/cache/types.js';
import { parsePolicyFile } from '../../../src/policy/policy-file.js';
import { policyText } from '../../helpers/fakes.js';

const TEXT = policyText('enforce', 86400, 'mx1.a.example', '*.a.example');
const T0 = Date.UTC(2026, 0, 1);

function parts(): Omit<PolicyEntry, 'v' | 'policy'> {
  return { domain: 'a.example', id: 'id1', policyText: TEXT, fetchedAt: T0, expiresAt: T0 + 86_400_000, checkedAt: T0 + 5 };
}

/** A plain entry made the way the resolver made them before CachedPolicy (same key order). */
function plainEntry(): PolicyEntry {
  const parsed = parsePolicyFile(TEXT);
  assert.ok(parsed.ok);
  const p = parts();
  return {
    v: CACHE_ENTRY_VERSION,
    domain: p.domain,
    id: p.id,
    policyText: p.policyText,
    policy: parsed.value,
    fetchedAt: p.fetchedAt,
    expiresAt: p.expiresAt,
    checkedAt: p.checkedAt,
  };
}

describe('CachedPolicy serialisation', () => {
  it('toJSON is the plain PolicyEntry, with the same keys in the same order', () => {
    const cp = CachedPolicy.of(parts());
    const json = cp.toJSON();
    assert.deepEqual(json, plainEntry());
    assert.deepEqual(Object.keys(json), Object.keys(plainEntry()));
    assert.deepEqual(Object.keys(json), ['v', 'domain', 'id', 'policyText', 'policy', 'fetchedAt', 'expiresAt', 'checkedAt']);
    assert.equal(JSON.stringify(cp), JSON.stringify(plainEntry()), 'the stored bytes do not change');
    assert.ok(isPolicyEntry(json));
  });

  it('has the PolicyEntry fields as properties (v, policy included)', () => {
    const cp = CachedPolicy.of(parts());
    assert.equal(cp.v, CACHE_ENTRY_VERSION);
    assert.equal(cp.domain, 'a.example');
    assert.equal(cp.id, 'id1');
    assert.equal(cp.policyText, TEXT);
    assert.equal(cp.fetchedAt, T0);
    assert.equal(cp.expiresAt, T0 + 86_400_000);
    assert.equal(cp.checkedAt, T0 + 5);
    assert.ok(isPolicyEntry(cp));
  });

  it('round-trips through the stored form of the persistent backends', () => {
    const cp = CachedPolicy.of(parts());
    const text = encodeEntry(cp);
    assert.equal(text, encodeEntry(plainEntry()));
    const back = decodeEntryText('a.example', text);
    assert.deepEqual(back, plainEntry());
    assert.ok(!(back instanceof CachedPolicy), 'a read entry is plain until the resolver checks it');
    assert.equal(decodeEntryText('b.example', text), undefined, 'another domain counts as absent');
  });

  it('policy is the parse of the text, every time', () => {
    const cp = CachedPolicy.of(parts());
    const parsed = parsePolicyFile(TEXT);
    assert.ok(parsed.ok);
    assert.deepEqual(cp.policy, parsed.value);
    assert.equal(cp.policy.mode, 'enforce');
    assert.deepEqual(cp.policy.mx, ['mx1.a.example', '*.a.example']);
    assert.notEqual(cp.policy, cp.policy, 'not kept: parsed on each access');
  });

  it('policy throws loudly rather than answering when the text does not parse (never made by the resolver)', () => {
    const cp = CachedPolicy.of({ ...parts(), policyText: 'garbage' });
    assert.throws(() => cp.policy, /no longer parses/);
  });

  it('touched keeps everything but checkedAt, as a new object without the old answers', () => {
    const cp = CachedPolicy.of(parts());
    const formatter = (): string => 'x';
    cp.answer(formatter, {}, () => 'old');
    const t = cp.touched(T0 + 1000);
    assert.ok(t instanceof CachedPolicy);
    assert.notEqual(t, cp);
    assert.deepEqual(t.toJSON(), { ...plainEntry(), checkedAt: T0 + 1000 });
    assert.equal(cp.checkedAt, T0 + 5, 'the original is unchanged');
  });
});

describe('CachedPolicy.answer', () => {
  it('calls make once per (formatter, zone) identity and returns the same value afterwards', () => {
    const cp = CachedPolicy.of(parts());
    const formatter = { name: 'f' };
    const zone = { name: 'z' };
    const calls: Array<[unknown, unknown, unknown]> = [];
    const make = (entry: CachedPolicy, f: object, z: object): { made: number } => {
      calls.push([entry, f, z]);
      return { made: calls.length };
    };
    const first = cp.answer(formatter, zone, make);
    for (let i = 0; i < 1000; i++) assert.equal(cp.answer(formatter, zone, make), first);
    assert.equal(calls.length, 1);
    assert.deepEqual(calls[0], [cp, formatter, zone], 'make gets the entry, the formatter and the zone');
  });

  it('recomputes for another zone or another formatter, even an equal-looking one', () => {
    const cp = CachedPolicy.of(parts());
    let n = 0;
    const make = (): number => ++n;
    const f1 = { f: 1 };
    const f2 = { f: 1 };
    const z1 = { z: 1 };
    const z2 = { z: 1 };
    assert.equal(cp.answer(f1, z1, make), 1);
    assert.equal(cp.answer(f1, z2, make), 2, 'a new zone object (a reload) is not reused');
    assert.equal(cp.answer(f2, z1, make), 3, 'another formatter');
    assert.equal(cp.answer(f2, z2, make), 4);
    assert.equal(cp.answer(f1, z1, make), 1);
    assert.equal(cp.answer(f1, z2, make), 2);
    assert.equal(cp.answer(f2, z1, make), 3);
    assert.equal(cp.answer(f2, z2, make), 4);
    assert.equal(n, 4);
  });

  it('memoises undefined values too', () => {
    const cp = CachedPolicy.of(parts());
    let n = 0;
    const make = (): undefined => {
      n += 1;
      return undefined;
    };
    const f = {};
    const z = {};
    assert.equal(cp.answer(f, z, make), undefined);
    assert.equal(cp.answer(f, z, make), undefined);
    assert.equal(n, 1);
  });

  it('a touched copy and another entry compute their own answers', () => {
    const cp = CachedPolicy.of(parts());
    const other = CachedPolicy.of(parts());
    const f = {};
    const z = {};
    const seen: CachedPolicy[] = [];
    const make = (e: CachedPolicy): string => {
      seen.push(e);
      return `${e.checkedAt}`;
    };
    assert.equal(cp.answer(f, z, make), String(T0 + 5));
    const t = cp.touched(T0 + 9);
    assert.equal(t.answer(f, z, make), String(T0 + 9));
    assert.equal(other.answer(f, z, make), String(T0 + 5));
    assert.deepEqual(seen, [cp, t, other]);
  });

  it(`keeps at most ${MAX_MEMOS_PER_POLICY} answers: the bound holds`, () => {
    assert.ok(MAX_MEMOS_PER_POLICY >= 1);
    const cp = CachedPolicy.of(parts());
    const f = {};
    const zones = Array.from({ length: MAX_MEMOS_PER_POLICY * 3 + 1 }, (_, i) => ({ i }));
    let n = 0;
    const make = (_e: CachedPolicy, _f: object, z: { i: number }): number => {
      n += 1;
      return z.i;
    };
    /** Memo list length, read through the private field (the bound is on it). */
    const held = (): number => {
      let count = 0;
      for (let m = (cp as unknown as { memo: { next: unknown } | undefined }).memo; m !== undefined; m = m.next as typeof m) count += 1;
      return count;
    };
    for (const z of zones) {
      assert.equal(cp.answer(f, z, make), z.i, 'the right answer for each zone');
      assert.ok(held() <= MAX_MEMOS_PER_POLICY, `${held()} answers held`);
    }
    assert.equal(n, zones.length);
    // The newest zone is still held; answers stay correct for every zone, old ones recomputed.
    const last = zones[zones.length - 1] as { i: number };
    assert.equal(cp.answer(f, last, make), last.i);
    assert.equal(n, zones.length, 'the newest answer is still held');
    for (const z of zones) assert.equal(cp.answer(f, z, make), z.i);
    assert.ok(held() <= MAX_MEMOS_PER_POLICY);
  });

  it(`the first ${MAX_MEMOS_PER_POLICY} (formatter, zone) pairs are all held at once`, () => {
    const cp = CachedPolicy.of(parts());
    const f = {};
    const zones = Array.from({ length: MAX_MEMOS_PER_POLICY }, (_, i) => ({ i }));
    let n = 0;
    const make = (): number => ++n;
    for (const z of zones) cp.answer(f, z, make);
    for (const z of zones) cp.answer(f, z, make);
    assert.equal(n, MAX_MEMOS_PER_POLICY, 'none dropped within the bound');
  });
});
