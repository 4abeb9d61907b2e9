import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FALLBACK_FD_LIMIT, defaultMaxConnections, parseProcLimits, readFdLimit } from '../../../src/server/fd-limit.js';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            4096                 524288               files
Max locked memory         8388608              8388608              bytes
`;

describe('fd limit', () => {
  it('parses the soft "Max open files" limit of /proc/self/limits', () => {
    assert.equal(parseProcLimits(LIMITS), 4096);
    assert.equal(parseProcLimits(LIMITS.replace('4096 ', 'unlimited ')), undefined);
    assert.equal(parseProcLimits('nothing here'), undefined);
  });

  it("reads this process's real soft limit (the same as a shell child's `ulimit -n`)", () => {
    const shell = Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim());
    assert.equal(readFdLimit(), shell);
  });

  it('falls back to 1024 when the file is missing or unreadable', () => {
    assert.equal(readFdLimit('/nonexistent/limits'), FALLBACK_FD_LIMIT);
    const dir = mkdtempSync(join(tmpdir(), 'fdlimit-'));
    try {
      writeFileSync(join(dir, 'limits'), 'garbage');
      assert.equal(readFdLimit(join(dir, 'limits')), FALLBACK_FD_LIMIT);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps max(256, limit/4) descriptors and splits the rest across listeners', () => {
    assert.equal(defaultMaxConnections(1024, 1), 768);
    assert.equal(defaultMaxConnections(1024, 2), 384);
    assert.equal(defaultMaxConnections(524_288, 1), 393_216);
    assert.equal(defaultMaxConnections(300, 1), 44);
    assert.equal(defaultMaxConnections(100, 3), 1, 'never below 1');
  });
});
