/**
 * Reading a config file with a bounded buffer: a file over CONFIG_FILE_MAX_BYTES is refused
 * from its size before anything is read, and a file that grows, or has no size (a pipe,
 * /dev/zero), is read at most one byte beyond the limit.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { CONFIG_FILE_MAX_BYTES } from './schema.js';
import type { ConfigProblem } from './problems.js';

export type ConfigFileRead =
  { readonly ok: true; readonly text: string } | { readonly ok: false; readonly problem: ConfigProblem; readonly cause?: unknown };

/** The file's text (UTF-8), or an ECONFIG_READ / ECONFIG_TOO_LARGE problem. Never throws. */
export async function readConfigFile(path: string): Promise<ConfigFileRead> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, 'r');
    const info = await handle.stat();
    if (info.isFile() && info.size > CONFIG_FILE_MAX_BYTES) return { ok: false, problem: tooLarge(`the file is ${info.size} bytes`) };
    const buffer = Buffer.alloc(CONFIG_FILE_MAX_BYTES + 1);
    let filled = 0;
    while (filled < buffer.length) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, null);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    if (filled > CONFIG_FILE_MAX_BYTES) return { ok: false, problem: tooLarge(`the file has more than ${CONFIG_FILE_MAX_BYTES} bytes`) };
    return { ok: true, text: buffer.toString('utf8', 0, filled) };
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    return { ok: false, problem: { code: 'ECONFIG_READ', path: '', message: `cannot read the configuration: ${reason}` }, cause };
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/** The problem for config text over the limit (`parseConfigText` checks strings too). */
export function tooLarge(what: string): ConfigProblem {
  return {
    code: 'ECONFIG_TOO_LARGE',
    path: '',
    message: `refused before parsing: ${what}; a configuration may have at most ${CONFIG_FILE_MAX_BYTES} bytes (1 MiB)`,
  };
}
