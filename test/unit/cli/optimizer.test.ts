/**
 * TurboFan held back while `serve` starts and given back once it serves (main/cli/optimizer.ts):
 * the decision and its undoing with a recording setFlags, then the real bin/mta-sts-bridge.js
 * under `node --trace-opt`, which prints each optimizing compile.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deferOptimizer, mayDeferOptimizer, OPTIMIZER_DEFERRED, resumeOptimizer } from '../../../main/cli/optimizer.js';
import { freePort } from '../../helpers/free-port.js';
import { LAUNCHER as BIN } from '../../helpers/jemalloc.js';

const holder = globalThis as { [OPTIMIZER_DEFERRED]?: boolean };

describe('optimizer: the decision', () => {
  it('defers only when neither node arguments nor NODE_OPTIONS choose a compiler setting', () => {
    assert.equal(mayDeferOptimizer([], undefined), true);
    assert.equal(mayDeferOptimizer(['--max-semi-space-size=1'], '--max-old-space-size=200'), true);
    assert.equal(mayDeferOptimizer(['--no-opt'], undefined), false);
    assert.equal(mayDeferOptimizer([], '--jitless'), false);
    assert.equal(mayDeferOptimizer(['--max-semi-space-size=1', '--turbofan'], ''), false);
    assert.equal(mayDeferOptimizer([], '--no-maglev --trace-gc'), false);
    // A flag that only contains a word is not a choice.
    assert.equal(mayDeferOptimizer(['--optimize-for-size-x'], undefined), true);
  });

  it('turns TurboFan off, then back on exactly once; resume without a deferral does nothing', () => {
    const calls: string[] = [];
    const record = (f: string): void => void calls.push(f);
    delete holder[OPTIMIZER_DEFERRED];
    assert.equal(resumeOptimizer(record), false);
    assert.equal(deferOptimizer(['--jitless'], undefined, record), false);
    assert.deepEqual(calls, []);
    assert.equal(deferOptimizer([], undefined, record), true);
    assert.equal(resumeOptimizer(record), true);
    assert.equal(resumeOptimizer(record), false);
    assert.deepEqual(calls, ['--no-turbofan', '--turbofan']);
    delete holder[OPTIMIZER_DEFERRED];
  });
});

describe('optimizer: the real serve', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'msb-optimizer-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('compiles nothing with TurboFan before it listens, and optimizes the request path under load', async () => {
    const port = await freePort();
    const config = join(dir, 'serve.yml');
    writeFileSync(config, `listeners:\n  - address: 127.0.0.1:${port}\ncache:\n  type: internal\n`);
    // node reads bin/ itself (no launcher): the deferral is in its JavaScript part.
    const child = spawn(process.execPath, ['--trace-opt', BIN, 'serve', '-c', config, '-v', 'error'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, HOME: dir },
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      // Listening: a connection is accepted.
      const deadline = Date.now() + 20_000;
      for (;;) {
        const ok = await new Promise<boolean>((resolve) => {
          const s = connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
          s.once('error', () => resolve(false));
        });
        if (ok) break;
        if (child.exitCode !== null) assert.fail(`serve ended before listening:\n${output}`);
        if (Date.now() > deadline) assert.fail(`serve did not listen within 20 s:\n${output}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      await new Promise((r) => setTimeout(r, 300));
      const atStart = output;
      assert.doesNotMatch(atStart, /completed optimizing/, 'TurboFan compiled something during start-up');

      // Load: 20,000 socketmap requests without a key (each answered PERM) on one connection.
      const request = Buffer.from('7:postfix,'.repeat(100));
      const replies = await new Promise<number>((resolve, reject) => {
        let seen = 0;
        let sent = 0;
        const s = connect(port, '127.0.0.1');
        s.on('data', (d: Buffer) => {
          seen += d.toString().split('PERM').length - 1;
          if (seen >= 20_000) {
            s.destroy();
            resolve(seen);
          } else if (seen >= sent) {
            sent += 100;
            s.write(request);
          }
        });
        s.once('error', reject);
        s.once('connect', () => {
          sent = 100;
          s.write(request);
        });
      });
      assert.equal(replies, 20_000);
      const until = Date.now() + 10_000;
      while (!/completed optimizing/.test(output.slice(atStart.length)) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      assert.match(output.slice(atStart.length), /completed optimizing/, 'TurboFan optimized nothing under load after start-up');
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });
});
