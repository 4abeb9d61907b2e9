/**
 * The two Postfix programs `generate` needs: `postmap` (build an indexed table from the text
 * source) and `postconf -m` (which table types this Postfix supports). Behind a small port so
 * the writer can be tested without Postfix.
 */
import { execFile } from 'node:child_process';
import { GenerateError } from './errors.js';

/** Postfix table types `generate` can build; `texthash` is read by Postfix without postmap. */
export const MAP_TYPES = ['lmdb', 'cdb', 'hash', 'btree', 'texthash'] as const;
export type MapType = (typeof MAP_TYPES)[number];

/** Longest a postmap run may take; a map of 100,000 lines builds in a few seconds. */
export const POSTMAP_TIMEOUT_MS = 5 * 60 * 1000;

export interface PostfixTools {
  /** Run `postmap TYPE:PATH`; rejects with EGEN_POSTMAP on any failure. */
  postmap(type: Exclude<MapType, 'texthash'>, path: string): Promise<void>;
  /** Table types `postconf -m` lists; rejects with EGEN_POSTMAP when postconf cannot run. */
  mapTypes(): Promise<readonly string[]>;
}

function runTool(cmd: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: POSTMAP_TIMEOUT_MS, maxBuffer: 1024 * 1024 }, (err, stdout, stderr) => {
      if (err === null) {
        resolve(stdout);
        return;
      }
      const code = (err as NodeJS.ErrnoException).code;
      const why =
        code === 'ENOENT'
          ? `${cmd} not found (install Postfix, or make sure ${cmd} is on PATH)`
          : `${cmd} ${args.join(' ')} failed: ${stderr.trim() || err.message}`;
      reject(new GenerateError('EGEN_POSTMAP', why, { cause: err }));
    });
  });
}

export const systemPostfixTools: PostfixTools = {
  async postmap(type, path) {
    await runTool('postmap', [`${type}:${path}`]);
  },
  async mapTypes() {
    const out = await runTool('postconf', ['-m']);
    return out
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.length > 0);
  },
};

/** The file postmap(1) builds next to the source for each type (DATABASE_README). */
export function indexSuffix(type: MapType): string | undefined {
  switch (type) {
    case 'lmdb':
      return '.lmdb';
    case 'cdb':
      return '.cdb';
    case 'hash':
    case 'btree':
      return '.db';
    case 'texthash':
      return undefined;
    default: {
      const _never: never = type;
      return _never;
    }
  }
}
