/**
 * Validation of a stored entry when it is read (issue 13 finding 5). A cache file or a shared
 * Redis/PostgreSQL may hold anything; the entry's `policyText` is the source of truth: it is
 * parsed again, and the derived fields (`policy.mode`, `policy.mx`, `policy.maxAge`, `expiresAt`)
 * must agree with it. Times must be finite and sane. Anything else is treated as absent (the
 * resolver fetches the policy again and overwrites it).
 */
import { parsePolicyFile } from '../policy/policy-file.js';
import type { PolicyEntry } from './types.js';

/** RFC 8461 §3.2: max_age is at most 31557600 seconds (about one year). */
export const MAX_AGE_LIMIT_SEC = 31_557_600;
/** How far in the future a stored `fetchedAt`/`checkedAt` may lie (clock steps between hosts). */
export const FUTURE_TOLERANCE_MS = 24 * 60 * 60 * 1000;

export type EntryCheck = { readonly ok: true; readonly entry: PolicyEntry } | { readonly ok: false; readonly problem: string };

/** Check `entry` as read from a store at `now`; the returned entry carries the re-parsed policy. */
export function checkStoredEntry(entry: PolicyEntry, now: number): EntryCheck {
  const { fetchedAt, expiresAt, checkedAt } = entry;
  if (![fetchedAt, expiresAt, checkedAt].every((t) => Number.isFinite(t) && t >= 0)) {
    return { ok: false, problem: 'a time is not a finite, non-negative number' };
  }
  if (fetchedAt > now + FUTURE_TOLERANCE_MS) return { ok: false, problem: 'fetchedAt lies in the future' };
  if (checkedAt > now + FUTURE_TOLERANCE_MS) return { ok: false, problem: 'checkedAt lies in the future' };
  if (expiresAt > fetchedAt + MAX_AGE_LIMIT_SEC * 1000) return { ok: false, problem: 'expiresAt is beyond fetchedAt + 31557600 s' };
  if (typeof entry.policyText !== 'string') return { ok: false, problem: 'no policy text' };
  const parsed = parsePolicyFile(entry.policyText);
  if (!parsed.ok) return { ok: false, problem: `stored policy text does not parse (${parsed.problems.map((p) => p.code).join(',')})` };
  const policy = parsed.value;
  const stored = entry.policy as Partial<PolicyEntry['policy']> | null;
  if (stored === null || typeof stored !== 'object') return { ok: false, problem: 'no policy object' };
  if (stored.mode !== policy.mode)
    return { ok: false, problem: `policy.mode ${String(stored.mode)} disagrees with the text (${policy.mode})` };
  if (stored.maxAge !== policy.maxAge) return { ok: false, problem: 'policy.maxAge disagrees with the text' };
  if (!Array.isArray(stored.mx) || stored.mx.length !== policy.mx.length || stored.mx.some((m, i) => m !== policy.mx[i])) {
    return { ok: false, problem: 'policy.mx disagrees with the text' };
  }
  if (expiresAt > fetchedAt + policy.maxAge * 1000) return { ok: false, problem: 'expiresAt is beyond fetchedAt + max_age' };
  return { ok: true, entry: { ...entry, policy } };
}
