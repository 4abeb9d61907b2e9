/**
 * A real daemon child whose stderr is a file named by JOURNAL_STREAM (as systemd does for the
 * journal): text lines carry `<N>` priorities and no timestamp; with JOURNAL_STREAM naming
 * another file, lines stay as they are.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { repoRoot } from './harness/world.js';

const dir = mkdtempSync(join(tmpdir(), 'msb-journal-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function runDaemon(name: string, journalStreamOf: 'stderr' | 'other', args: readonly string[] = []): Promise<string[]> {
  const config = join(dir, `${name}.yml`);
  writeFileSync(config, `listeners:\n  - protocol: socketmap\n    address: unix:${join(dir, `${name}.sock`)}\ncache:\n  type: internal\n`);
  const errPath = join(dir, `${name}.err`);
  const fd = openSync(errPath, 'w');
  const other = openSync(join(dir, `${name}.other`), 'w');
  const st = fstatSync(journalStreamOf === 'stderr' ? fd : other);
  const child = spawn(process.execPath, [join(repoRoot, 'bin/mta-sts-bridge.js'), 'serve', '-c', config, ...args], {
    stdio: ['ignore', 'ignore', fd],
    env: { ...process.env, JOURNAL_STREAM: `${st.dev}:${st.ino}` },
  });
  closeSync(fd);
  closeSync(other);
  const deadline = Date.now() + 15_000;
  while (!readFileSync(errPath, 'utf8').includes('listening')) {
    assert.ok(Date.now() < deadline, readFileSync(errPath, 'utf8'));
    assert.equal(child.exitCode, null, readFileSync(errPath, 'utf8'));
    await new Promise((r) => setTimeout(r, 20));
  }
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
  return readFileSync(errPath, 'utf8')
    .split('\n')
    .filter((l) => l !== '');
}

describe('logs for journald (JOURNAL_STREAM)', () => {
  it('prefixes priorities and drops the timestamp when stderr is the journal', async () => {
    const lines = await runDaemon('journal', 'stderr');
    assert.ok(lines.length >= 3, lines.join('\n'));
    for (const l of lines) assert.match(l, /^<[3467]>(error|warn|info|debug) [a-z_-]+: /, l);
    assert.ok(lines.some((l) => l.startsWith('<6>info server: listening')));
    assert.ok(lines.some((l) => l.startsWith('<4>warn main: running as root')) || process.geteuid?.() !== 0);
  });

  it('keeps ordinary lines when JOURNAL_STREAM names another file (an inherited variable)', async () => {
    const lines = await runDaemon('inherited', 'other');
    for (const l of lines) assert.match(l, /^\d{4}-\d\d-\d\dT\S+Z (error|warn|info|debug) /, l);
  });

  it('--log-format json prints JSON even to the journal', async () => {
    const lines = await runDaemon('json', 'stderr', ['--log-format', 'json']);
    for (const l of lines) assert.match(l, /^\{"time":/, l);
  });
});
