/**
 * The configuration a subcommand runs with: the file given with `-c`, or the embedded defaults.
 */
import type { BridgeConfig } from '../../src/config/types.js';
import type { ConfigProblem } from '../../src/config/problems.js';
import { buildDefaultConfig } from '../../src/config/defaults.js';
import { reportError, type CliIo } from './io.js';

export interface LoadedConfig {
  readonly config: BridgeConfig;
  /** Ignored keys and the like, for the caller to log. */
  readonly warnings: readonly ConfigProblem[];
}

/** Load `path` (or the defaults); on failure print every problem and return undefined. */
export async function loadConfigOrReport(path: string | undefined, io: CliIo): Promise<LoadedConfig | undefined> {
  if (path === undefined) return { config: buildDefaultConfig(), warnings: [] };
  try {
    // The YAML reader is loaded only for a file: a daemon on the embedded defaults never loads it.
    const { loadConfigFileWithWarnings } = await import('../../src/config/load.js');
    return await loadConfigFileWithWarnings(path);
  } catch (err) {
    reportError(io, err, path);
    return undefined;
  }
}
