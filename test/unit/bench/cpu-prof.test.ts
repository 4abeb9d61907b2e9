/**
 * `npm run bench -- --cpu-prof DIR` (bench/cpu-prof.ts): the bridge is profiled through its
 * launcher, so it keeps the launcher's allocator and flags (before, node was started directly,
 * and both the bridge and glibc targets ran on glibc's malloc). Runs `serve` the way the bench
 * does, looks at the running daemon, and finds its profile after SIGTERM.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { profilingEnv, writeProfilingNode } from '../../../bench/cpu-prof.js';
import { freePort } from '../../helpers/free-port.js';
import { installedJemalloc, LAUNCHER } from '../../helpers/jemalloc.js';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'msb-cpu-prof-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Start `serve` through the launcher with the profiling node; /proc of the daemon, then its profiles. */
async function profile(extra: NodeJS.ProcessEnv): Promise<{ maps: string; cmdline: string[]; profiles: string[] }> {
  const port = await freePort();
  const config = join(dir, `c-${port}.yml`);
  writeFileSync(config, `listeners:\n  - address: 127.0.0.1:${port}\ncache:\n  type: internal\n`);
  const base: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const k of ['LD_PRELOAD', 'MALLOC_CONF', 'MALLOC_ARENA_MAX', 'MTA_STS_BRIDGE_LAUNCHER_SET']) delete base[k];
  const out = join(dir, `prof-${port}`);
  const env = profilingEnv(base, writeProfilingNode(join(dir, 'node-bin'), base), out);
  const child = spawn(LAUNCHER, ['serve', '-c', config], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const deadline = Date.now() + 20_000;
    while (!/listening/.test(output)) {
      if (child.exitCode !== null) assert.fail(`serve ended (${child.exitCode}) before listening:\n${output}`);
      if (Date.now() > deadline) assert.fail(`serve did not listen within 20 s:\n${output}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const pid = child.pid as number;
    const maps = readFileSync(`/proc/${pid}/maps`, 'utf8');
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    child.kill('SIGTERM');
    await exited;
    return { maps, cmdline, profiles: readdirSync(out).filter((f) => f.endsWith('.cpuprofile')) };
  } finally {
    child.kill('SIGKILL');
  }
}

test("profiles the bridge through its launcher: the launcher's flags, its jemalloc, a profile at SIGTERM", async () => {
  const p = await profile({});
  assert.ok(p.cmdline.includes('--cpu-prof'), p.cmdline.join(' '));
  assert.ok(p.cmdline.includes('--max-semi-space-size=1'), `the launcher's flag: ${p.cmdline.join(' ')}`);
  const jemalloc = installedJemalloc();
  if (jemalloc !== undefined) assert.ok(p.maps.includes(jemalloc), 'the launcher preloaded jemalloc');
  else assert.doesNotMatch(p.maps, /libjemalloc/);
  assert.ok(p.profiles.length >= 1, 'a .cpuprofile written');
});

test('profiles the glibc target on glibc', async () => {
  const p = await profile({ MTA_STS_BRIDGE_MALLOC: 'system' });
  assert.ok(p.cmdline.includes('--cpu-prof'), p.cmdline.join(' '));
  assert.doesNotMatch(p.maps, /libjemalloc/);
  assert.ok(p.profiles.length >= 1, 'a .cpuprofile written');
});
