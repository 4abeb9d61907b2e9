/**
 * bench/loadgen.c compiles and counts what it receives: against a fixed server that answers
 * OK, NOTFOUND, TEMP and PERM in turn, every reply is counted by its first word, the requests
 * are the netstrings `postfix <domain>` of the domain file, and a server that drops the
 * connection shows up as errors. With --rate, the load is paced: the requests due in the window
 * are all counted, and a late reply counts from when its request was due. No assertion depends
 * on how fast this machine is at the moment, only on what was asked and answered.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { compileLoadgen, runLoadgen as run, type LoadResult } from '../../../bench/loadgen-run.js';

const hasGcc = spawnSync('gcc', ['--version']).status === 0;
let dir = '';
let bin = '';

before(() => {
  dir = mkdtempSync(join(os.tmpdir(), 'loadgen-test-'));
  if (!hasGcc) return;
  bin = join(dir, 'loadgen');
  compileLoadgen(bin, ['-O2', '-Wall', '-Werror']);
});
after(() => rmSync(dir, { recursive: true, force: true }));

const WORDS = ['OK secure match=mx.example.test', 'NOTFOUND ', 'TEMP busy', 'PERM bad'];

/**
 * A server answering each netstring with the next of WORDS; `dropAfter` closes a connection after
 * that many replies, `delayMs` sends each reply that late.
 */
function fixedServer(
  seen: string[],
  { dropAfter = Infinity, delayMs = 0 }: { dropAfter?: number; delayMs?: number } = {},
): Promise<net.Server> {
  let n = 0;
  const server = net.createServer((s) => {
    let buf = '';
    let answered = 0;
    s.on('data', (d) => {
      buf += d.toString('latin1');
      for (;;) {
        const m = /^(\d+):/.exec(buf);
        if (!m) break;
        const len = Number(m[1]);
        const start = m[0].length;
        if (buf.length < start + len + 1) break;
        seen.push(buf.slice(start, start + len));
        buf = buf.slice(start + len + 1);
        if (answered >= dropAfter) {
          s.destroy();
          return;
        }
        const w = WORDS[n++ % WORDS.length]!;
        const reply = `${Buffer.byteLength(w)}:${w},`;
        if (delayMs > 0) setTimeout(() => s.write(reply), delayMs);
        else s.write(reply);
        answered++;
      }
    });
    s.on('error', () => undefined);
  });
  return new Promise((done) => server.listen(0, '127.0.0.1', () => done(server)));
}

function portOf(server: net.Server): number {
  const a = server.address();
  assert.ok(a !== null && typeof a === 'object');
  return a.port;
}

/** Runs loadgen asynchronously (the fixed server lives in this process's event loop). */
const runLoadgen = (args: string[]): Promise<LoadResult> => run(bin, args, 20_000);

test('loadgen --once asks every domain once and counts replies by first word', { skip: !hasGcc && 'gcc not installed' }, async () => {
  const seen: string[] = [];
  const server = await fixedServer(seen);
  try {
    const domains = Array.from({ length: 40 }, (_, i) => `d${i}.example.test`);
    writeFileSync(join(dir, 'd.txt'), domains.join('\n') + '\n');
    const out = await runLoadgen(['--port', String(portOf(server)), '--domains', join(dir, 'd.txt'), '--conns', '4', '--once']);
    assert.equal(out.requests, 40);
    assert.equal(out.errors, 0);
    assert.deepEqual(out.replies, { OK: 10, NOTFOUND: 10, TEMP: 10, PERM: 10, other: 0 });
    assert.deepEqual([...seen].sort(), domains.map((d) => `postfix ${d}`).sort());
  } finally {
    server.close();
  }
});

test('loadgen counts requests lost on a dropped connection as errors', { skip: !hasGcc && 'gcc not installed' }, async () => {
  const seen: string[] = [];
  const server = await fixedServer(seen, { dropAfter: 3 });
  try {
    writeFileSync(join(dir, 'e.txt'), Array.from({ length: 20 }, (_, i) => `e${i}.example.test`).join('\n') + '\n');
    const out = await runLoadgen([
      '--port',
      String(portOf(server)),
      '--domains',
      join(dir, 'e.txt'),
      '--conns',
      '2',
      '--once',
      '--timeout',
      '5',
    ]);
    assert.equal(out.requests, 6);
    assert.ok(out.errors > 0);
    const r = out.replies;
    assert.equal((r.OK ?? 0) + (r.NOTFOUND ?? 0) + (r.TEMP ?? 0) + (r.PERM ?? 0), 6);
  } finally {
    server.close();
  }
});

test(
  'loadgen --rate paces the load: exactly the requests due in the window, each answered and counted',
  { skip: !hasGcc && 'gcc not installed' },
  async () => {
    const seen: string[] = [];
    const server = await fixedServer(seen);
    try {
      writeFileSync(join(dir, 'r.txt'), Array.from({ length: 10 }, (_, i) => `r${i}.example.test`).join('\n') + '\n');
      const args = ['--port', String(portOf(server)), '--domains', join(dir, 'r.txt'), '--conns', '4', '--warmup', '0.2', '--seconds', '1'];
      const out = await runLoadgen([...args, '--rate', '200']);
      assert.equal(out.rate, 200);
      assert.equal(out.errors, 0);
      // 200/s over a 1 s window: the 200 requests due in it (each connection's schedule is fixed,
      // so a slow reply delays a request's answer, never drops it from the count).
      const requests = out.requests;
      assert.ok(requests >= 199 && requests <= 201, `requests ${requests}`);
      // The warm-up's requests were asked too, and none after the window: about 240 in all.
      assert.ok(seen.length > requests && seen.length <= requests + 45, `the server saw ${seen.length}`);
      const closed = await runLoadgen(args);
      assert.equal(closed.rate, 0);
      assert.ok(closed.requests > 3 * requests, `closed loop ${String(closed.requests)} vs paced ${requests}`);
    } finally {
      server.close();
    }
  },
);

test(
  'loadgen --rate counts a late reply from when its request was due, and waits for the replies owed',
  { skip: !hasGcc && 'gcc not installed' },
  async () => {
    // A server that answers each request 50 ms late: at 100/s on one connection (a request due
    // every 10 ms, one in flight), requests queue behind each other. Counted from their schedule,
    // the late ones wait hundreds of ms; a closed loop would report 50 ms each.
    const server = await fixedServer([], { delayMs: 50 });
    try {
      writeFileSync(join(dir, 's.txt'), 's.example.test\n');
      const base = ['--port', String(portOf(server)), '--domains', join(dir, 's.txt'), '--conns', '1', '--warmup', '0'];
      const paced = await runLoadgen([...base, '--seconds', '0.3', '--rate', '100']);
      // The 30 requests due in the window are all answered and counted, the last ones long after
      // the window ended (one every 50 ms at best).
      assert.equal(paced.errors, 0);
      const requests = paced.requests;
      assert.ok(requests >= 29 && requests <= 31, `paced requests ${requests}`);
      // The last request was due at ~0.3 s and answered after ~30 × 50 ms: over a second late.
      assert.ok(paced.max_us > 1_000_000, `paced max ${String(paced.max_us)} µs`);
      const closed = await runLoadgen([...base, '--seconds', '0.5']);
      assert.ok(paced.p99_us > 3 * closed.p50_us, `paced p99 ${String(paced.p99_us)} µs, closed p50 ${String(closed.p50_us)} µs`);
    } finally {
      server.close();
    }
  },
);

test(
  'loadgen --rate gives up on replies owed after --timeout and counts them as errors',
  { skip: !hasGcc && 'gcc not installed' },
  async () => {
    // A server that reads and never answers: every request due in the window is owed.
    const server = net.createServer((s) => {
      s.on('data', () => undefined);
      s.on('error', () => undefined);
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', () => done()));
    try {
      writeFileSync(join(dir, 'n.txt'), 'n.example.test\n');
      const out = await runLoadgen([
        '--port',
        String(portOf(server)),
        '--domains',
        join(dir, 'n.txt'),
        '--conns',
        '2',
        '--warmup',
        '0',
        '--seconds',
        '0.2',
        '--rate',
        '50',
        '--timeout',
        '0.5',
      ]);
      assert.equal(out.requests, 0);
      // 50/s for 0.2 s: 10 requests due, none answered.
      const errors = out.errors;
      assert.ok(errors >= 9 && errors <= 11, `errors ${errors}`);
    } finally {
      server.close();
    }
  },
);
