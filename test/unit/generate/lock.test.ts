import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { GenerateError } from '../../../src/generate/errors.js';
import { acquireLock, LOCK_EMPTY_GRACE_MS, parseLockPid, type LockDeps } from '../../../src/generate/lock.js';

const dir = mkdtempSync(join(tmpdir(), 'msb-lock-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(dir, `map${n++}.lock`);
const deps = (pid: number, alive: readonly number[] = [], now = Date.now()): LockDeps => ({
  pid,
  isAlive: (p) => alive.includes(p),
  now: () => now,
});

describe('parseLockPid', () => {
  const cases: ReadonlyArray<[string, number | undefined]> = [
    ['123\n', 123],
    ['  42  ', 42],
    ['', undefined],
    ['0', undefined],
    ['-5', undefined],
    ['12a', undefined],
    ['01', undefined],
    ['12345678901', undefined],
  ];
  for (const [text, want] of cases) it(JSON.stringify(text), () => assert.equal(parseLockPid(text), want));
});

describe('acquireLock', () => {
  it('creates the lock with our pid and releases it', () => {
    const path = fresh();
    const r = acquireLock(path, deps(100));
    assert.equal(r.kind, 'acquired');
    assert.equal(readFileSync(path, 'utf8'), '100\n');
    if (r.kind === 'acquired') {
      assert.equal(r.staleFrom, undefined);
      r.handle.release();
      r.handle.release();
    }
    assert.equal(existsSync(path), false);
  });

  it('a second run while the owner is alive is refused with the owner pid', () => {
    const path = fresh();
    const first = acquireLock(path, deps(100, [100]));
    assert.equal(first.kind, 'acquired');
    assert.deepEqual(acquireLock(path, deps(200, [100])), { kind: 'held', pid: 100 });
    assert.equal(readFileSync(path, 'utf8'), '100\n', 'the owner keeps its lock');
  });

  it('a lock whose pid is dead is taken over', () => {
    const path = fresh();
    writeFileSync(path, '4242\n');
    const r = acquireLock(path, deps(200, []));
    assert.equal(r.kind, 'acquired');
    if (r.kind === 'acquired') assert.equal(r.staleFrom, 4242);
    assert.equal(readFileSync(path, 'utf8'), '200\n');
  });

  it('a lock holding our own pid (pid reuse after a crash) is stale', () => {
    const path = fresh();
    writeFileSync(path, '200\n');
    assert.equal(acquireLock(path, deps(200, [200])).kind, 'acquired');
  });

  it('an empty lock is held while young, stale when old', () => {
    const path = fresh();
    writeFileSync(path, '');
    assert.deepEqual(acquireLock(path, deps(200, [], Date.now())), { kind: 'held', pid: undefined });
    const old = (Date.now() - LOCK_EMPTY_GRACE_MS - 5000) / 1000;
    utimesSync(path, old, old);
    const r = acquireLock(path, deps(200));
    assert.equal(r.kind, 'acquired');
    if (r.kind === 'acquired') assert.equal(r.staleFrom, 'unknown');
  });

  it('release leaves a lock that is no longer ours', () => {
    const path = fresh();
    const r = acquireLock(path, deps(100));
    writeFileSync(path, '300\n');
    if (r.kind === 'acquired') r.handle.release();
    assert.equal(readFileSync(path, 'utf8'), '300\n');
  });

  it('a directory that does not exist is a coded error', () => {
    assert.throws(
      () => acquireLock(join(dir, 'missing', 'x.lock'), deps(1)),
      (err: unknown) => err instanceof GenerateError && err.code === 'EGEN_LOCK',
    );
  });
});
