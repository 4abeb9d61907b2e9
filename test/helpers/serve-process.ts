/**
 * `serve` as its own process, the way a user or the bench starts it (bin/mta-sts-bridge.js through
 * its shebang, or a stand-in in front of it): a TCP listener on a free port, memory cache, and
 * the process handed back once it logged "listening". Fails at once when it ends before that.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './free-port.js';

export interface ServeProcess {
  /** The daemon's pid: the launcher execs node, so it is the child's own. */
  readonly pid: number;
  /** stdout and stderr so far. */
  output(): string;
  /** SIGTERM, then wait for the exit; safe to call more than once. */
  stop(): Promise<void>;
}

/** Start `command serve -c CONFIG` (config written in `dir`) with `env`; resolves once it listens. */
export async function startServe(command: string, dir: string, env: NodeJS.ProcessEnv): Promise<ServeProcess> {
  const port = await freePort();
  const config = join(dir, `serve-${port}.yml`);
  writeFileSync(config, `listeners:\n  - address: 127.0.0.1:${port}\ncache:\n  type: internal\n`);
  const child = spawn(command, ['serve', '-c', config], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    child.kill('SIGTERM');
    await exited;
  };
  try {
    const deadline = Date.now() + 20_000;
    while (!/listening/.test(output)) {
      if (child.exitCode !== null || child.signalCode !== null)
        assert.fail(`serve ended (${child.exitCode ?? child.signalCode}) before listening:\n${output}`);
      if (Date.now() > deadline) assert.fail(`serve did not listen within 20 s:\n${output}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { pid: child.pid as number, output: () => output, stop };
}
