/**
 * A throw-away PostgreSQL cluster: `initdb` into a temp directory and `postgres` as a child
 * process, both run as the `postgres` user (the server refuses root), listening only on a unix
 * socket in that directory (no TCP port to pick; the socket crosses network namespaces).
 * fsync off: nothing here needs to survive a power cut, only a clean stop and start.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { findBinary, INSTALL_HINT, postgresBinDirs } from './binaries.js';
import { run } from './netns.js';
import { waitForLine } from './world.js';

/** The OS user the server runs as (Debian's package creates it). */
export const POSTGRES_USER = 'postgres';

/** Why PostgreSQL tests cannot run here, or undefined. */
export function postgresServerProblem(): string | undefined {
  if (findBinary('initdb', postgresBinDirs()) === undefined || findBinary('postgres', postgresBinDirs()) === undefined) {
    return `PostgreSQL server binaries (initdb, postgres) are not installed: ${INSTALL_HINT}`;
  }
  if (process.getuid?.() !== 0) return 'the PostgreSQL tests need root (to run the server as the postgres user)';
  return undefined;
}

export class PostgresServer {
  private child: ChildProcess | undefined;
  readonly logs: string[] = [];

  private constructor(
    readonly dir: string,
    private readonly uid: number,
    private readonly gid: number,
  ) {}

  /** A connection URI for database `db` over the unix socket, as superuser `postgres`. */
  dsn(db = 'postgres'): string {
    return `postgresql://${POSTGRES_USER}@${encodeURIComponent(this.dir)}/${db}`;
  }

  static async start(): Promise<PostgresServer> {
    const problem = postgresServerProblem();
    if (problem !== undefined) throw new Error(problem);
    const ids = await run('id', ['-u', POSTGRES_USER]);
    const gids = await run('id', ['-g', POSTGRES_USER]);
    if (ids.code !== 0) throw new Error(`no "${POSTGRES_USER}" user: ${INSTALL_HINT}`);
    const dir = mkdtempSync(join(tmpdir(), 'msb-pg-'));
    const server = new PostgresServer(dir, Number(ids.stdout.trim()), Number(gids.stdout.trim()));
    chownSync(dir, server.uid, server.gid);
    const data = join(dir, 'data');
    mkdirSync(data, { mode: 0o700 });
    chownSync(data, server.uid, server.gid);
    const init = await server.runAsPostgres('initdb', [
      '-D',
      data,
      '-U',
      POSTGRES_USER,
      '--auth=trust',
      '-E',
      'UTF8',
      '--locale=C',
      '--no-sync',
    ]);
    if (init.code !== 0) throw new Error(`initdb failed: ${init.stderr}${init.stdout}`);
    await server.resume();
    return server;
  }

  /** Start (again) over the same data directory. */
  async resume(): Promise<void> {
    if (this.child !== undefined) return;
    const bin = findBinary('postgres', postgresBinDirs()) ?? 'postgres';
    const args = [
      '-D',
      join(this.dir, 'data'),
      '-k',
      this.dir,
      '-c',
      'listen_addresses=',
      '-c',
      'fsync=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'synchronous_commit=off',
    ];
    const child = spawn(bin, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      uid: this.uid,
      gid: this.gid,
      cwd: this.dir,
      env: { PATH: process.env['PATH'] ?? '', LC_ALL: 'C' },
    });
    child.stderr?.on('data', (d: Buffer) => this.logs.push(d.toString('utf8')));
    const ready = waitForLine(child, 'stderr', /database system is ready to accept connections/, 30_000);
    ready.catch(() => undefined);
    this.child = child;
    try {
      await ready;
    } catch (err) {
      throw new Error(`postgres did not start: ${(err as Error).message}\n${this.logs.join('')}`, { cause: err });
    }
  }

  /** Create an empty database. */
  async createDatabase(name: string): Promise<void> {
    await this.sql('postgres', `CREATE DATABASE "${name.replace(/"/g, '""')}"`);
  }

  /** Run one statement in `db` and return its rows. */
  async sql(db: string, statement: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
    const client = new pg.Client({ connectionString: this.dsn(db) });
    await client.connect();
    try {
      return (await client.query(statement, params)).rows as Record<string, unknown>[];
    } finally {
      await client.end();
    }
  }

  /** Stop it: SIGINT is PostgreSQL's fast shutdown (clients are disconnected, data kept). */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGINT');
    });
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private runAsPostgres(name: string, args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const bin = findBinary(name, postgresBinDirs()) ?? name;
    return new Promise((resolve, reject) => {
      const child = spawn(bin, args, {
        uid: this.uid,
        gid: this.gid,
        cwd: this.dir,
        env: { PATH: process.env['PATH'] ?? '', LC_ALL: 'C' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }
}
