/**
 * Replacing a map so that Postfix (or Exim) only ever sees the old complete map or the new
 * complete one, whatever moment the run is killed at (SIGKILL included):
 *  1. write `<dir>/.<name>.tmp-<pid>` in the target directory (same filesystem: rename is atomic);
 *  2. `postmap` it there, which builds `.<name>.tmp-<pid>.lmdb` (or .db, .cdb);
 *  3. rename the indexed file into place, then the text source, then fsync the directory.
 * The indexed file goes first because it is what Postfix reads, and because a run killed between
 * the two renames then leaves an old text source, which the next run sees as different and
 * rebuilds (the other order would leave a new source beside an old index and hide it).
 * Temp files of killed runs are removed by the next run, under the lock.
 */
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, unlinkSync, writeSync, existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { GenerateError, messageOf } from './errors.js';
import { indexSuffix, type MapType, type PostfixTools } from './postfix-tools.js';

/** The steps of a write, for tests that check the target between every two of them. */
export type WriteStep = 'text-written' | 'indexed' | 'index-renamed' | 'source-renamed';

export interface WriteOptions {
  /** Path of the map's text source (`/etc/postfix/mta-sts-policy`). */
  readonly output: string;
  readonly text: string;
  /** Table type to build with postmap; undefined for a plain text file (lsearch, json, texthash). */
  readonly type: MapType | undefined;
  readonly tools: PostfixTools;
  readonly pid?: number;
  /** Called after each step (tests). */
  readonly onStep?: (step: WriteStep) => void;
}

/** `<dir>/.<name>.tmp-<pid>`: hidden, in the target directory, named after its run. */
export function tempPathFor(output: string, pid: number): string {
  return join(dirname(output), `.${basename(output)}.tmp-${pid}`);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Remove temp files left by killed runs of this map (`.<name>.tmp-<pid>` and its index files),
 * except those of `ownPid`. Call with the lock held. Returns the names removed.
 */
export function cleanupStaleTemps(output: string, ownPid: number): string[] {
  const dir = dirname(output);
  const pattern = new RegExp(`^\\.${escapeRegExp(basename(output))}\\.tmp-([0-9]+)(?:\\..*)?$`);
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed; // the directory may not exist yet; the write reports that clearly
  }
  for (const name of names) {
    const m = pattern.exec(name);
    if (m === null || Number(m[1]) === ownPid) continue;
    try {
      unlinkSync(join(dir, name));
      removed.push(name);
    } catch {
      /* gone already, or not ours to remove: the write below does not depend on it */
    }
  }
  return removed.sort();
}

function writeFileDurably(path: string, text: string): void {
  const fd = openSync(path, 'wx', 0o644);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    /* some filesystems refuse fsync on a directory; the renames are still atomic */
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    /* not there */
  }
}

/** Replace the map at `output` (and its index) atomically. Throws GenerateError; the old map stays. */
export async function writeMapAtomically(opts: WriteOptions): Promise<void> {
  const pid = opts.pid ?? process.pid;
  const tmp = tempPathFor(opts.output, pid);
  const suffix = opts.type === undefined ? undefined : indexSuffix(opts.type);
  const cleanup = (): void => {
    removeQuietly(tmp);
    if (suffix !== undefined) removeQuietly(tmp + suffix);
  };
  cleanup(); // our own pid's leftovers (pid reuse after a crash)
  try {
    writeFileDurably(tmp, opts.text);
  } catch (err) {
    cleanup();
    throw new GenerateError('EGEN_WRITE', `cannot write ${tmp}: ${messageOf(err)}`, { cause: err });
  }
  opts.onStep?.('text-written');
  if (opts.type !== undefined && opts.type !== 'texthash' && suffix !== undefined) {
    try {
      await opts.tools.postmap(opts.type, tmp);
    } catch (err) {
      cleanup();
      if (err instanceof GenerateError) throw err;
      throw new GenerateError('EGEN_POSTMAP', `postmap ${opts.type}:${tmp} failed: ${messageOf(err)}`, { cause: err });
    }
    if (!existsSync(tmp + suffix)) {
      cleanup();
      throw new GenerateError('EGEN_POSTMAP', `postmap ${opts.type}:${tmp} did not create ${tmp + suffix}`);
    }
    opts.onStep?.('indexed');
    try {
      renameSync(tmp + suffix, opts.output + suffix);
    } catch (err) {
      cleanup();
      throw new GenerateError('EGEN_WRITE', `cannot rename ${tmp + suffix} to ${opts.output + suffix}: ${messageOf(err)}`, { cause: err });
    }
    opts.onStep?.('index-renamed');
  }
  try {
    renameSync(tmp, opts.output);
  } catch (err) {
    cleanup();
    throw new GenerateError('EGEN_WRITE', `cannot rename ${tmp} to ${opts.output}: ${messageOf(err)}`, { cause: err });
  }
  fsyncDir(dirname(opts.output));
  opts.onStep?.('source-renamed');
}
