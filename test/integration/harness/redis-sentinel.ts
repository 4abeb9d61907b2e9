/**
 * A Redis Sentinel deployment as child processes inside a network namespace: a primary and a
 * replica `redis-server` and three `redis-sentinel` processes (quorum 2), on loopback TCP
 * ports, since Sentinel monitors and announces masters by IP and port. Nothing persists:
 * everything lives in a temp directory.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBinary, INSTALL_HINT } from './binaries.js';
import type { NetNs } from './netns.js';
import { stopChild, waitForLine } from './world.js';

export const MASTER_NAME = 'mymaster';
export const PRIMARY_PORT = 16379;
export const REPLICA_PORT = 16380;
export const SENTINEL_PORTS = [26379, 26380, 26381] as const;

/** Why Sentinel tests cannot run here, or undefined. */
export function redisSentinelProblem(): string | undefined {
  for (const bin of ['redis-server', 'redis-sentinel', 'redis-cli']) {
    if (findBinary(bin) === undefined) return `${bin} is not installed: ${INSTALL_HINT} (the Debian package redis-sentinel)`;
  }
  return undefined;
}

export class RedisSentinelSet {
  private readonly children = new Map<string, ChildProcess>();
  readonly logs: string[] = [];

  private constructor(
    private readonly ns: NetNs,
    readonly dir: string,
  ) {}

  static async start(ns: NetNs): Promise<RedisSentinelSet> {
    const problem = redisSentinelProblem();
    if (problem !== undefined) throw new Error(problem);
    const set = new RedisSentinelSet(ns, mkdtempSync(join(tmpdir(), 'msb-sentinel-')));
    await set.server('primary', PRIMARY_PORT, []);
    await set.server('replica', REPLICA_PORT, ['--replicaof', '127.0.0.1', String(PRIMARY_PORT)]);
    await set.waitFor(() => set.cli(PRIMARY_PORT, 'INFO', 'replication'), /connected_slaves:1/, 'the replica to connect');
    for (const port of SENTINEL_PORTS) {
      const conf = join(set.dir, `sentinel-${port}.conf`);
      // Sentinel rewrites its own config file (known replicas and sentinels, the current epoch).
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${set.dir}`,
          `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${PRIMARY_PORT} 2`,
          `sentinel down-after-milliseconds ${MASTER_NAME} 1000`,
          `sentinel failover-timeout ${MASTER_NAME} 10000`,
          `sentinel parallel-syncs ${MASTER_NAME} 1`,
          '',
        ].join('\n'),
      );
      const child = set.spawn(`sentinel-${port}`, findBinary('redis-sentinel') ?? 'redis-sentinel', [conf, '--logfile', '']);
      await waitForLine(child, 'stdout', /Sentinel ID is|monitor master/i);
    }
    // Each sentinel must know the replica and the two other sentinels before a failover can be agreed.
    for (const port of SENTINEL_PORTS) {
      await set.waitFor(
        () => set.cli(port, 'SENTINEL', 'replicas', MASTER_NAME),
        new RegExp(String(REPLICA_PORT)),
        `sentinel ${port} to see the replica`,
      );
      await set.waitFor(
        () => set.cli(port, 'SENTINEL', 'sentinels', MASTER_NAME),
        /(?:flags\s+sentinel[\s\S]*){2}/,
        `sentinel ${port} to see the other sentinels`,
      );
    }
    return set;
  }

  /** The sentinels as a config's `sentinels:` list. */
  get sentinelsYaml(): string {
    return `[${SENTINEL_PORTS.map((p) => `["127.0.0.1", ${p}]`).join(', ')}]`;
  }

  /** `redis-cli -p PORT ARGS...` inside the namespace; stdout. */
  async cli(port: number, ...args: string[]): Promise<string> {
    const r = await this.ns.run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeoutMs: 10_000 });
    if (r.code !== 0) throw new Error(`redis-cli -p ${port} ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }

  /** The port the sentinels name as master now (asked of the first one). */
  async masterPort(): Promise<number> {
    const out = (await this.cli(SENTINEL_PORTS[0], 'SENTINEL', 'get-master-addr-by-name', MASTER_NAME)).trim().split('\n');
    return Number(out[1]);
  }

  /** Poll `probe` until its output matches `pattern`. */
  async waitFor(probe: () => Promise<string>, pattern: RegExp, what: string, timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      last = await probe().catch((err: Error) => err.message);
      if (pattern.test(last)) return last;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${what}; last answer:\n${last}\n${this.logs.slice(-40).join('')}`);
  }

  async destroy(): Promise<void> {
    await Promise.all([...this.children.values()].map((c) => stopChild(c)));
    this.children.clear();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async server(name: string, port: number, extra: readonly string[]): Promise<void> {
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      this.dir,
      '--dbfilename',
      `${name}.rdb`,
      '--save',
      '',
      '--appendonly',
      'no',
      '--logfile',
      '',
      ...extra,
    ];
    const child = this.spawn(name, findBinary('redis-server') ?? 'redis-server', args);
    await waitForLine(child, 'stdout', /ready to accept connections/i);
  }

  private spawn(name: string, bin: string, args: readonly string[]): ChildProcess {
    const child = this.ns.spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: Buffer): void => {
      this.logs.push(`[${name}] ${d.toString('utf8')}`);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.children.set(name, child);
    return child;
  }
}
