/**
 * The daemon under test as a child process inside the fake internet's namespace, and Postfix's
 * own `postmap` as its client.
 */
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NetNs, RunResult } from './netns.js';
import { repoRoot, stopChild, waitForLine } from './world.js';

export class Daemon {
  readonly logs: string[] = [];
  private constructor(readonly child: ChildProcess) {
    const keep = (d: Buffer): void => {
      for (const line of d.toString('utf8').split('\n')) if (line.length > 0) this.logs.push(line);
    };
    child.stderr?.on('data', keep);
    child.stdout?.on('data', keep);
  }

  /**
   * Start `mta-sts-bridge serve -c <config>` in `ns`, trusting `caPath` for policy hosts the way
   * an operator would (NODE_EXTRA_CA_CERTS), and wait until `listeners` listeners are up.
   */
  static async start(ns: NetNs, dir: string, configYaml: string, caPath: string, listeners: number): Promise<Daemon> {
    const configPath = join(dir, `daemon-${Date.now()}.yml`);
    writeFileSync(configPath, configYaml);
    const child = ns.spawn('env', [`NODE_EXTRA_CA_CERTS=${caPath}`, process.execPath, join(repoRoot, 'bin/mta-sts-bridge.js'), 'serve', '-c', configPath, '-v', 'debug'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const daemon = new Daemon(child);
    for (let i = 0; i < listeners; i += 1) await waitForLine(child, 'stderr', /listening/);
    return daemon;
  }

  /** Send a signal and resolve with the exit code and how long the exit took. */
  async stop(): Promise<{ code: number | null; ms: number }> {
    const t0 = Date.now();
    const code = await stopChild(this.child, 15_000);
    return { code, ms: Date.now() - t0 };
  }

  /** Log lines that mention `text`. */
  grep(text: string): string[] {
    return this.logs.filter((l) => l.includes(text));
  }
}

/** `postmap -q KEY MAP` inside the namespace: exit 0 with the data when found, 1 otherwise. */
export function postmap(ns: NetNs, key: string, map: string): Promise<RunResult> {
  return ns.run('postmap', ['-q', key, map], { timeoutMs: 60_000 });
}
