/**
 * A throw-away redis-server as a child process, listening only on a unix socket in a temp
 * directory (no port to pick, and a unix socket crosses network namespaces, so a daemon inside
 * the fake internet reaches it). `--save ''` and no AOF unless `persistent`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBinary, INSTALL_HINT } from './binaries.js';
import { waitForLine } from './world.js';

/** Why Redis tests cannot run here, or undefined. */
export function redisServerProblem(): string | undefined {
  return findBinary('redis-server') === undefined ? `redis-server is not installed: ${INSTALL_HINT}` : undefined;
}

export interface RedisServerOptions {
  /** Append-only file with fsync on every write: data survives a stop and start. */
  readonly persistent?: boolean;
}

export class RedisServer {
  private child: ChildProcess | undefined;
  readonly logs: string[] = [];

  private constructor(
    readonly dir: string,
    private readonly options: RedisServerOptions,
  ) {}

  /** The socket path. */
  get socketPath(): string {
    return join(this.dir, 'redis.sock');
  }

  /** `unix:///…/redis.sock`, as a cache `url`. */
  get url(): string {
    return `unix://${this.socketPath}`;
  }

  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const problem = redisServerProblem();
    if (problem !== undefined) throw new Error(problem);
    const server = new RedisServer(mkdtempSync(join(tmpdir(), 'msb-redis-')), options);
    await server.resume();
    return server;
  }

  /** Start (again) over the same directory and socket. */
  async resume(): Promise<void> {
    if (this.child !== undefined) return;
    const args = [
      '--port',
      '0',
      '--unixsocket',
      this.socketPath,
      '--unixsocketperm',
      '700',
      '--dir',
      this.dir,
      '--save',
      '',
      '--appendonly',
      this.options.persistent === true ? 'yes' : 'no',
      '--appendfsync',
      'always',
      '--daemonize',
      'no',
      '--logfile',
      '',
    ];
    const child = spawn(findBinary('redis-server') ?? 'redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d: Buffer) => this.logs.push(d.toString('utf8')));
    const ready = waitForLine(child, 'stdout', /ready to accept connections/i);
    ready.catch(() => undefined);
    this.child = child;
    try {
      await ready;
    } catch (err) {
      throw new Error(`redis-server did not start: ${(err as Error).message}\n${this.logs.join('')}`, { cause: err });
    }
  }

  /** Stop it (SIGTERM: a clean shutdown; a persistent server keeps its data for `resume`). */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }

  /** Freeze it (SIGSTOP): connections stay open but nothing answers, like a hung server. */
  freeze(): void {
    this.child?.kill('SIGSTOP');
  }

  thaw(): void {
    this.child?.kill('SIGCONT');
  }

  async destroy(): Promise<void> {
    this.thaw();
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
