/**
 * The generator's state as a JSON file behind the PolicyCache port: what each run learnt
 * (policies, ids, fetch times) for the next run, so that an unchanged TXT id costs no fetch and
 * a policy host that is down leaves its last-known-good policy in the map until max_age.
 *
 * Loaded whole on open(), written whole and atomically (temp file + rename) on close(), and only
 * when something changed. Expired entries are dropped on save: the resolver never uses them.
 * Used when `--state` names a file ending in `.json` (see docs/generate.md).
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { isPolicyEntry, type PolicyCache, type PolicyEntry } from '../cache/types.js';
import type { Clock } from '../clock.js';
import { GenerateError, messageOf } from './errors.js';

/** Version of the state file's own envelope. */
export const STATE_FILE_VERSION = 1;
const DEFAULT_BATCH_SIZE = 500;

interface StateFile {
  readonly v: typeof STATE_FILE_VERSION;
  readonly entries: readonly PolicyEntry[];
}

export class JsonFilePolicyCache implements PolicyCache {
  readonly kind = 'json-file';
  private readonly map = new Map<string, PolicyEntry>();
  private dirty = false;

  constructor(
    readonly path: string,
    private readonly clock: Clock,
  ) {}

  async open(): Promise<void> {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // first run
      throw new GenerateError('EGEN_STATE', `cannot read state ${this.path}: ${messageOf(err)}`, { cause: err });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new GenerateError('EGEN_STATE', `state ${this.path} is not valid JSON (remove it to start afresh): ${messageOf(err)}`, {
        cause: err,
      });
    }
    const file = parsed as Partial<StateFile> | null;
    if (file === null || typeof file !== 'object' || file.v !== STATE_FILE_VERSION || !Array.isArray(file.entries)) {
      throw new GenerateError('EGEN_STATE', `state ${this.path} has an unknown format (remove it to start afresh)`);
    }
    // Entries of another version are skipped, not fatal: they only cost a refetch.
    for (const e of file.entries as unknown[]) if (isPolicyEntry(e)) this.map.set(e.domain, e);
  }

  async get(domain: string): Promise<PolicyEntry | undefined> {
    return this.map.get(domain);
  }

  async set(entry: PolicyEntry): Promise<void> {
    this.map.set(entry.domain, entry);
    this.dirty = true;
  }

  async delete(domain: string): Promise<boolean> {
    const had = this.map.delete(domain);
    if (had) this.dirty = true;
    return had;
  }

  async *entries(batchSize = DEFAULT_BATCH_SIZE): AsyncIterable<readonly PolicyEntry[]> {
    const all = [...this.map.values()];
    for (let i = 0; i < all.length; i += batchSize) yield all.slice(i, i + batchSize);
  }

  /** Write the state now (atomically) if anything changed. */
  async flush(): Promise<void> {
    const now = this.clock.now();
    let pruned = false;
    for (const [domain, e] of this.map) {
      if (e.expiresAt <= now) {
        this.map.delete(domain);
        pruned = true;
      }
    }
    if (!this.dirty && !pruned) return;
    const entries = [...this.map.values()].sort((a, b) => (a.domain < b.domain ? -1 : a.domain > b.domain ? 1 : 0));
    const body: StateFile = { v: STATE_FILE_VERSION, entries };
    const tmp = join(dirname(this.path), `.${basename(this.path)}.tmp-${process.pid}`);
    try {
      const fd = openSync(tmp, 'w', 0o600);
      try {
        writeSync(fd, `${JSON.stringify(body)}\n`);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, this.path);
    } catch (err) {
      try {
        unlinkSync(tmp);
      } catch {
        /* not created */
      }
      throw new GenerateError('EGEN_STATE', `cannot write state ${this.path}: ${messageOf(err)}`, { cause: err });
    }
    this.dirty = false;
  }

  async close(): Promise<void> {
    await this.flush();
    this.map.clear();
  }
}
