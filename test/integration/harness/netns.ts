/**
 * A network namespace as the fake internet (see TEST-WORLD-NOTES.md): its own loopback, its
 * own /etc/resolv.conf (bind-mounted by `ip netns exec` from /etc/netns/<name>/), so the daemon
 * under test uses its ordinary system resolver and port 443 exactly as in production.
 * Needs root (CI runs as root). Nothing leaves loopback.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Why the integration tests cannot run here, or undefined when they can. */
export function integrationPrerequisiteProblem(): string | undefined {
  if (process.getuid?.() !== 0) return 'integration tests need root (network namespaces, port 443)';
  return undefined;
}

export function run(cmd: string, args: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    // A command that exits without reading its input must not fail the test with EPIPE.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

export class NetNs {
  private constructor(readonly name: string) {}

  static async create(prefix = 'msb'): Promise<NetNs> {
    const name = `${prefix}${process.pid}${Math.floor(Math.random() * 1000)}`;
    const add = await run('ip', ['netns', 'add', name]);
    if (add.code !== 0) throw new Error(`ip netns add ${name} failed: ${add.stderr}`);
    const up = await run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    if (up.code !== 0) throw new Error(`bringing lo up in ${name} failed: ${up.stderr}`);
    mkdirSync(`/etc/netns/${name}`, { recursive: true });
    // The fake DNS server on 127.0.0.1:53 plays the system's recursive resolver.
    writeFileSync(`/etc/netns/${name}/resolv.conf`, 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n');
    return new NetNs(name);
  }

  /** Start a long-running process inside the namespace (in its own process group). */
  spawn(cmd: string, args: readonly string[], opts: SpawnOptions = {}): ChildProcess {
    return spawn('ip', ['netns', 'exec', this.name, cmd, ...args], { detached: true, ...opts });
  }

  /** Run a command inside the namespace to completion. */
  run(cmd: string, args: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    return run('ip', ['netns', 'exec', this.name, cmd, ...args], opts);
  }

  async destroy(): Promise<void> {
    // Any process left in the namespace: kill it so the namespace can go.
    const pids = await run('ip', ['netns', 'pids', this.name]);
    for (const pid of pids.stdout.split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    await run('ip', ['netns', 'del', this.name]);
    rmSync(`/etc/netns/${this.name}`, { recursive: true, force: true });
  }
}
