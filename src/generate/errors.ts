/**
 * Errors that end a `generate` run. Expected per-domain outcomes (no policy, fetch failure) are
 * values in the run report; these are for the run as a whole: lock, state, map building.
 */

/** Stable codes of a failed `generate` run (docs/errors.md lists them). */
export type GenerateErrorCode =
  | 'EGEN_LOCKED' // another run holds <output>.lock (its pid is alive)
  | 'EGEN_LOCK' // the lock file could not be created or read
  | 'EGEN_DOMAINS_READ' // the --domains file (or stdin) could not be read
  | 'EGEN_NO_DOMAINS' // the domain list holds no valid domain at all
  | 'EGEN_MAP_TYPE' // the map type is not supported by this Postfix (`postconf -m`)
  | 'EGEN_POSTMAP' // postmap is missing, failed, or produced no indexed file
  | 'EGEN_WRITE' // the map file could not be written or renamed into place
  | 'EGEN_STATE' // the state file could not be read (corrupt) or written
  | 'EGEN_NOTHING_REACHED'; // every lookup failed: the old map is kept rather than emptied

export class GenerateError extends Error {
  readonly code: GenerateErrorCode;
  constructor(code: GenerateErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'GenerateError';
  }
}

/** The message of any thrown value. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
