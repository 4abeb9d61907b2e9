/**
 * A policy entry as this process holds it in memory: compact, and carrying the answers already
 * computed from it.
 *
 * The resolver makes one for every entry it fetched, confirmed or checked (src/cache/entry-check.ts),
 * so an object of this class is trusted: the warm path answers from it without parsing anything.
 * It holds only what answering and refreshing need: the domain, the TXT id, the policy text (the
 * source of truth, re-parsed on demand into `policy`), the three times, and a short list of
 * answers memoised per formatter and zone. A stored answer is computed once per policy, zone and
 * formatter, at the first lookup that needs it; a new policy is a new object, so nothing stale
 * can be reused. Serialised (`toJSON`) it is exactly the plain PolicyEntry the backends store.
 */
import { parsePolicyFile } from '../policy/policy-file.js';
import type { StsPolicy } from '../policy/types.js';
import { CACHE_ENTRY_VERSION, type PolicyEntry } from './types.js';

/** One memoised answer: `value` is what `formatter` made of this policy in `zone`. */
interface Memo {
  readonly formatter: object;
  readonly zone: object;
  readonly value: unknown;
  readonly next: Memo | undefined;
}

/** Bound on memoised answers per policy (formatters × zones in use); older ones are dropped. */
export const MAX_MEMOS_PER_POLICY = 8;

export class CachedPolicy implements PolicyEntry {
  private memo: Memo | undefined = undefined;

  private constructor(
    readonly domain: string,
    readonly id: string,
    readonly policyText: string,
    readonly fetchedAt: number,
    readonly expiresAt: number,
    readonly checkedAt: number,
  ) {}

  /**
   * A trusted entry from parts the caller has just checked: `policyText` must parse (the resolver
   * made it from a fetched and parsed policy, or checkStoredEntry re-parsed it).
   */
  static of(entry: Omit<PolicyEntry, 'v' | 'policy'>): CachedPolicy {
    return new CachedPolicy(entry.domain, entry.id, entry.policyText, entry.fetchedAt, entry.expiresAt, entry.checkedAt);
  }

  get v(): typeof CACHE_ENTRY_VERSION {
    return CACHE_ENTRY_VERSION;
  }

  /**
   * The policy, parsed from the text on each access (a few microseconds; only the slow path and
   * the first answer of a formatter read it). Not kept: it would double the entry's memory.
   */
  get policy(): StsPolicy {
    const parsed = parsePolicyFile(this.policyText);
    if (!parsed.ok) {
      // Unreachable by construction (`of` takes checked text); a loud failure beats a wrong answer.
      throw new Error(`cached policy text of ${this.domain} no longer parses`);
    }
    return parsed.value;
  }

  /** The same entry confirmed by DNS at `checkedAt` (RFC 8461 §3.3: the id did not change). */
  touched(checkedAt: number): CachedPolicy {
    return new CachedPolicy(this.domain, this.id, this.policyText, this.fetchedAt, this.expiresAt, checkedAt);
  }

  /**
   * The answer `formatter` gives for this policy in `zone`, computed by `make` the first time and
   * kept with the entry afterwards. `formatter` and `zone` are compared by identity: a reload
   * brings new zone objects, so answers made under the old configuration are never reused.
   */
  answer<T, F extends object, Z extends object>(formatter: F, zone: Z, make: (entry: CachedPolicy, formatter: F, zone: Z) => T): T {
    let count = 0;
    for (let m = this.memo; m !== undefined; m = m.next) {
      if (m.formatter === formatter && m.zone === zone) return m.value as T;
      count += 1;
    }
    // `make` gets what it needs as arguments, so that callers pass a function made once, not a closure per lookup.
    const value = make(this, formatter, zone);
    // Newest first; past the bound the list starts over (a reload or many zones, never the warm path).
    this.memo = { formatter, zone, value, next: count >= MAX_MEMOS_PER_POLICY ? undefined : this.memo };
    return value;
  }

  /** The plain PolicyEntry, as the persistent backends store it. */
  toJSON(): PolicyEntry {
    return {
      v: CACHE_ENTRY_VERSION,
      domain: this.domain,
      id: this.id,
      policyText: this.policyText,
      policy: this.policy,
      fetchedAt: this.fetchedAt,
      expiresAt: this.expiresAt,
      checkedAt: this.checkedAt,
    };
  }
}
