/**
 * `npm run bench -- --cpu-prof DIR` (bench/cpu-prof.ts): the bridge is profiled through its
 * launcher, so it keeps the launcher's allocator and flags (before, node was started directly,
 * and both the bridge and glibc targets ran on glibc's malloc). Runs `serve` the way the bench
 * does, looks at the running daemon, and finds its profile after SIGTERM.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { profilingEnv, writeProfilingNode } from '../../../bench/cpu-prof.js';
import { startServe } from '../../helpers/serve-process.js';
import { installedJemalloc, LAUNCHER } from '../../helpers/jemalloc.js';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'msb-cpu-prof-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Start `serve` through the launcher with the profiling node; /proc of the daemon, then its profiles. */
async function profile(extra: NodeJS.ProcessEnv): Promise<{ maps: string; cmdline: string[]; profiles: string[] }> {
  const base: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const k of ['LD_PRELOAD', 'MALLOC_CONF', 'MALLOC_ARENA_MAX', 'MTA_STS_BRIDGE_LAUNCHER_SET']) delete base[k];
  const out = join(dir, `prof-${++runs}`);
  const env = profilingEnv(base, writeProfilingNode(join(dir, 'node-bin'), base), out);
  const daemon = await startServe(LAUNCHER, dir, env);
  try {
    const maps = readFileSync(`/proc/${daemon.pid}/maps`, 'utf8');
    const cmdline = readFileSync(`/proc/${daemon.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    await daemon.stop(); // the profile is written at SIGTERM
    return { maps, cmdline, profiles: readdirSync(out).filter((f) => f.endsWith('.cpuprofile')) };
  } finally {
    await daemon.stop();
  }
}
let runs = 0;

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
