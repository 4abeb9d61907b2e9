/**
 * The daemon under test as a child process inside the fake internet's namespace, and Postfix's
 * own `postmap` as its client.
 */
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NetNs, RunResult } from './netns.js';
import { repoRoot, stopChild } from './world.js';

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
  static async start(
    ns: NetNs,
    dir: string,
    configYaml: string,
    caPath: string,
    listeners: number,
    options: {
      readonly stateDirectory?: string;
      readonly env?: Readonly<Record<string, string>>;
      readonly configPath?: string;
      readonly nofile?: number;
      /** Exec bin/mta-sts-bridge.js itself (its sh launcher: allocator, flags) instead of `node bin/...`. */
      readonly launcher?: boolean;
    } = {},
  ): Promise<Daemon> {
    const stamp = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
    const configPath = options.configPath ?? join(dir, `daemon-${stamp}.yml`);
    if (options.configPath === undefined) writeFileSync(configPath, configYaml);
    // The default cache is SQLite in $STATE_DIRECTORY: a fresh one per start unless a test
    // wants to share it (restart safety), so no daemon sees policies another run left behind.
    const stateDirectory = options.stateDirectory ?? join(dir, `state-${stamp}`);
    const env = [
      `NODE_EXTRA_CA_CERTS=${caPath}`,
      `STATE_DIRECTORY=${stateDirectory}`,
      ...Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`),
    ];
    // `nofile`: start under a low RLIMIT_NOFILE (soft and hard) to exhaust descriptors for real.
    const limit = options.nofile === undefined ? [] : ['prlimit', `--nofile=${options.nofile}:${options.nofile}`, '--'];
    const [cmd, ...prefix] = [...limit, 'env'];
    const child = ns.spawn(
      cmd ?? 'env',
      [
        ...prefix,
        ...env,
        ...(options.launcher === true ? [] : [process.execPath]),
        join(repoRoot, 'bin/mta-sts-bridge.js'),
        'serve',
        '-c',
        configPath,
        '-v',
        'debug',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const daemon = new Daemon(child);
    // Counted in the kept log lines: several "listening" lines can arrive in one chunk, and
    // waiting for them one by one with waitForLine would miss all but the first.
    await daemon.waitForLogs(/listening/, listeners);
    return daemon;
  }

  /** Send a signal and resolve with the exit code and how long the exit took. */
  async stop(): Promise<{ code: number | null; ms: number }> {
    const t0 = Date.now();
    const code = await stopChild(this.child, 15_000);
    return { code, ms: Date.now() - t0 };
  }

  /** Resolve once `count` kept log lines match `pattern`; reject on exit or after `timeoutMs`. */
  waitForLogs(pattern: RegExp, count: number, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    return new Promise((resolveWait, reject) => {
      const check = (): void => {
        if (this.logs.filter((l) => pattern.test(l)).length >= count) return resolveWait();
        if (this.child.exitCode !== null || this.child.signalCode !== null) {
          return reject(new Error(`daemon exited before ${count} lines matched ${pattern}:\n${this.logs.join('\n')}`));
        }
        if (Date.now() > deadline)
          return reject(new Error(`timed out waiting for ${count} lines matching ${pattern}:\n${this.logs.join('\n')}`));
        setTimeout(check, 20);
      };
      check();
    });
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
