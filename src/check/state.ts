/**
 * `--state FILE`: what a previous run saw, so that this run can tell what changed. Per domain,
 * the SHA-256 of the policy body under each TXT id, and since when the mode has been `testing`.
 * A body that changed under the same id is an error: senders that cached the policy keep the
 * old one until its max_age (RFC 8461 §3.1: the id must change with the policy). Pure but for
 * reading and writing the file.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { PolicyMode } from '../policy/types.js';
import { finding, pass, type CheckResult } from './types.js';

/** Ids kept per domain (the oldest are dropped): enough to see any id reused. */
export const MAX_IDS_PER_DOMAIN = 50;
/** `mode: testing` for longer than this is a warning: it was meant to be a trial (the "forgotten"). */
export const TESTING_TOO_LONG_DAYS = 30;
const DAY_MS = 86_400_000;
export const STATE_VERSION = 1;

export interface DomainState {
  /** TXT id → the body's SHA-256 and when it was first seen (ISO 8601). */
  readonly policies: Readonly<Record<string, { readonly sha256: string; readonly firstSeen: string }>>;
  /** When `mode: testing` was first seen in a row of runs; absent otherwise. */
  readonly testingSince?: string;
}

export interface CheckState {
  readonly version: typeof STATE_VERSION;
  readonly domains: Readonly<Record<string, DomainState>>;
}

export type StateRead = { readonly ok: true; readonly state: CheckState } | { readonly ok: false; readonly message: string };

export function emptyState(): CheckState {
  return { version: STATE_VERSION, domains: {} };
}

/** Read a state file; a missing file is an empty state (the first run). */
export function readState(path: string): StateRead {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { ok: true, state: emptyState() };
    return { ok: false, message: `cannot read ${path}: ${(err as Error).message}` };
  }
  try {
    const parsed = JSON.parse(text) as Partial<CheckState>;
    if (parsed.version !== STATE_VERSION || typeof parsed.domains !== 'object' || parsed.domains === null) {
      return { ok: false, message: `${path} is not a check state file (version ${STATE_VERSION})` };
    }
    return { ok: true, state: parsed as CheckState };
  } catch (err) {
    return { ok: false, message: `${path}: ${(err as Error).message}` };
  }
}

/** Write atomically: a temporary file renamed over the old one. */
export function writeState(path: string, state: CheckState): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, path);
}

/** `policy-id`: the body under this id against what the state remembers. */
export function judgePolicyId(id: string, sha256: string, before: DomainState | undefined): CheckResult {
  const seen = before?.policies[id];
  const evidence = { id, sha256, previous: seen ?? null, knownIds: Object.keys(before?.policies ?? {}).sort() };
  if (seen === undefined) {
    return pass(
      'policy-id',
      before === undefined ? `first run: policy recorded under id ${id}` : `new id ${id}: senders fetch the policy again`,
      evidence,
    );
  }
  if (seen.sha256 !== sha256) {
    return finding(
      'policy-id',
      'error',
      `the policy changed but the TXT id ${id} did not: senders that cached it keep the old policy until its max_age`,
      evidence,
    );
  }
  return pass('policy-id', `policy unchanged under id ${id} (since ${seen.firstSeen.slice(0, 10)})`, evidence);
}

/** `policy-mode`: `none` is a warning; `testing` one for longer than {@link TESTING_TOO_LONG_DAYS}. */
export function judgeMode(mode: PolicyMode, testingSince: string | undefined, nowMs: number, haveState: boolean): CheckResult {
  switch (mode) {
    case 'enforce':
      return pass('policy-mode', 'mode enforce', { mode });
    case 'none':
      return finding('policy-mode', 'warning', 'mode none: senders apply no policy (MTA-STS being withdrawn?)', { mode });
    case 'testing': {
      if (!haveState || testingSince === undefined) {
        return pass(
          'policy-mode',
          `mode testing: senders report failures but deliver anyway${haveState ? '' : ' (--state tells how long it has lasted)'}`,
          { mode },
        );
      }
      const days = Math.floor((nowMs - Date.parse(testingSince)) / DAY_MS);
      const evidence = { mode, testingSince, days };
      if (days > TESTING_TOO_LONG_DAYS)
        return finding(
          'policy-mode',
          'warning',
          `mode testing for ${days} days (since ${testingSince.slice(0, 10)}): forgotten? enforce protects nothing until switched`,
          evidence,
        );
      return pass('policy-mode', `mode testing for ${days} day(s)`, evidence);
    }
    default: {
      const _never: never = mode;
      return _never;
    }
  }
}

/** The domain's next state after this run. */
export function nextDomainState(
  before: DomainState | undefined,
  id: string | undefined,
  sha256: string | undefined,
  mode: PolicyMode | undefined,
  nowMs: number,
): DomainState {
  const now = new Date(nowMs).toISOString();
  const policies = { ...(before?.policies ?? {}) };
  // The first body seen under an id stays: senders cached that one, so a changed body keeps
  // failing until the id changes.
  if (id !== undefined && sha256 !== undefined && policies[id] === undefined) policies[id] = { sha256, firstSeen: now };
  const kept = Object.entries(policies)
    .sort((a, b) => (a[1].firstSeen < b[1].firstSeen ? 1 : a[1].firstSeen > b[1].firstSeen ? -1 : 0))
    .slice(0, MAX_IDS_PER_DOMAIN);
  const testingSince = mode === 'testing' ? (before?.testingSince ?? now) : mode === undefined ? before?.testingSince : undefined;
  return { policies: Object.fromEntries(kept), ...(testingSince !== undefined ? { testingSince } : {}) };
}
