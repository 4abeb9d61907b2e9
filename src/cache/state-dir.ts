/**
 * Where persistent state (the SQLite policy cache) lives. Pure: the environment and the home
 * directory are passed in, so the choice can be tested and shown (`check-config`, logs).
 *
 * Order, first match wins:
 *  1. `$STATE_DIRECTORY`, set by systemd for `StateDirectory=` (systemd.exec(5)). Under
 *     `ProtectSystem=strict` it is the only writable place the service has, so it wins even
 *     over the config key: a unit that grants it means it.
 *  2. The config key `state_directory`.
 *  3. `$XDG_STATE_HOME/mta-sts-bridge`, else `~/.local/state/mta-sts-bridge` (XDG Base
 *     Directory spec 0.8: "state data that should persist between (application) restarts").
 *     Chosen over `./state/` so that the cache does not depend on the working directory a
 *     checkout happens to be started from, and never lands inside the source tree.
 */
import { isAbsolute, join, resolve } from 'node:path';

/** Directory name under the XDG state home. */
export const STATE_SUBDIRECTORY = 'mta-sts-bridge';

/** Where the chosen directory came from, for logs and `check-config`. */
export type StateDirectorySource = 'STATE_DIRECTORY' | 'state_directory' | 'XDG_STATE_HOME' | 'home';

/** Where a state file's location came from: an absolute `filename`, or its directory's source. */
export type StateFileSource = StateDirectorySource | 'filename';

export type StateFileChoice =
  { readonly ok: true; readonly path: string; readonly source: StateFileSource } | { readonly ok: false; readonly message: string };

export type StateDirectoryChoice =
  { readonly ok: true; readonly path: string; readonly source: StateDirectorySource } | { readonly ok: false; readonly message: string };

/** What the choice depends on. */
export interface StateDirectoryInputs {
  /** The config key `state_directory`, if set. */
  readonly configured?: string | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The user's home directory ('' when unknown). */
  readonly homeDir: string;
}

/** Choose the state directory (see the module comment for the order). */
export function chooseStateDirectory(inputs: StateDirectoryInputs): StateDirectoryChoice {
  // systemd joins several StateDirectory= entries with ':'; the first is this service's own.
  const systemd = inputs.env['STATE_DIRECTORY']?.split(':')[0];
  if (systemd !== undefined && systemd !== '') return { ok: true, path: resolve(systemd), source: 'STATE_DIRECTORY' };
  if (inputs.configured !== undefined && inputs.configured !== '') {
    return { ok: true, path: resolve(inputs.configured), source: 'state_directory' };
  }
  // XDG spec: a relative $XDG_STATE_HOME is invalid and must be ignored.
  const xdg = inputs.env['XDG_STATE_HOME'];
  if (xdg !== undefined && isAbsolute(xdg)) return { ok: true, path: join(xdg, STATE_SUBDIRECTORY), source: 'XDG_STATE_HOME' };
  if (inputs.homeDir !== '' && isAbsolute(inputs.homeDir)) {
    return { ok: true, path: join(inputs.homeDir, '.local', 'state', STATE_SUBDIRECTORY), source: 'home' };
  }
  return {
    ok: false,
    message:
      'no state directory: set STATE_DIRECTORY (systemd StateDirectory=), the state_directory key, ' +
      'or HOME; or use "cache: {type: internal}" to keep policies in memory only',
  };
}

/**
 * The database file: an absolute `filename` is used as written; a relative one (the default
 * included) is taken inside the state directory, never relative to the working directory.
 */
export function resolveStateFile(filename: string, inputs: StateDirectoryInputs): StateFileChoice {
  if (isAbsolute(filename)) return { ok: true, path: filename, source: 'filename' };
  const dir = chooseStateDirectory(inputs);
  if (!dir.ok) return dir;
  return { ok: true, path: join(dir.path, filename), source: dir.source };
}
