/**
 * The stored form of a PolicyEntry in the persistent backends (SQLite, Redis, PostgreSQL): the entry's
 * JSON exactly as JSON.stringify wrote it, so a read gives back the same bytes and absolute
 * times. Kept apart from the backends so that neither drags the other's driver in.
 */
import { isPolicyEntry, type PolicyEntry } from '../../src/cache/types.js';

/** The text stored for `entry`. */
export function encodeEntry(entry: PolicyEntry): string {
  return JSON.stringify(entry);
}

/**
 * Stored text back to an entry of `domain`. Text that does not parse, is of another entry
 * version, or names another domain counts as absent: the resolver then fetches the policy
 * again and overwrites it.
 */
export function decodeEntryText(domain: string, text: string): PolicyEntry | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return isPolicyEntry(value) && value.domain === domain ? value : undefined;
}
