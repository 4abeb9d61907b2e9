/**
 * Values of the `check` subcommand: every finding is a {@link CheckResult} with a stable id, a
 * level, a message for people and its evidence. docs/check.md documents every id, the JSON
 * form and the exit statuses; a test holds that page against {@link CHECK_IDS}.
 */

/**
 * Every check id, in report order: the order a domain's results are printed in. Stable:
 * monitoring and CI match on them (JUnit test case names start with the id).
 */
export const CHECK_IDS = [
  'sts-txt',
  'policy-dns',
  'policy-tls',
  'policy-cert',
  'policy-fetch',
  'policy-consistent',
  'policy-lines',
  'policy-max-age',
  'policy-mode',
  'policy-id',
  'mx-dns',
  'mx-coverage',
  'mx-stale-pattern',
  'mx-not-checked',
  'mx-address',
  'mx-starttls',
  'mx-tls',
  'mx-cert',
  'dane-tlsa',
  'tlsrpt-txt',
  'sender-view',
] as const;

export type CheckId = (typeof CHECK_IDS)[number];

/**
 * How much a result matters. `info`: nothing to fix (a pass, or a fact worth knowing);
 * `warning`: fix it, senders still deliver as intended (fails the run only with --strict);
 * `error`: senders do not, or will not, behave as the owner intends.
 */
export type CheckLevel = 'error' | 'warning' | 'info';

/** JSON-able facts behind a result: the record, header or certificate fields it judged. */
export type Evidence = Readonly<Record<string, unknown>>;

export interface CheckResult {
  readonly id: CheckId;
  readonly level: CheckLevel;
  /** True when there is nothing to fix: exactly when `level` is `info`. */
  readonly ok: boolean;
  /** What was checked when an id repeats: an address, an MX host, `host address`. */
  readonly subject?: string;
  readonly message: string;
  readonly evidence: Evidence;
}

/** Stable codes of a domain whose check could not run (docs/check.md, "Codes"). */
export type CheckErrorCode =
  /** The run's --timeout passed before every check of the domain had run. */
  | 'ECHECK_TIMEOUT'
  /** This host could not ask: its resolver unreachable, out of descriptors (a local fault). */
  | 'ECHECK_LOCAL'
  /** The argument is not a domain name. */
  | 'ECHECK_DOMAIN'
  /** A bug: an exception escaped a probe. */
  | 'ECHECK_INTERNAL';

export type DomainResult = 'pass' | 'warn' | 'fail' | 'error';

export interface DomainReport {
  /** The domain as given on the command line. */
  readonly domain: string;
  readonly result: DomainResult;
  readonly checks: readonly CheckResult[];
  /** Why the check of this domain could not run (completely); set exactly when `result` is `error`. */
  readonly error?: { readonly code: CheckErrorCode; readonly message: string };
}

export interface CheckReport {
  readonly domains: readonly DomainReport[];
}

function result(id: CheckId, level: CheckLevel, message: string, evidence: Evidence, subject: string | undefined): CheckResult {
  return { id, level, ok: level === 'info', ...(subject !== undefined ? { subject } : {}), message, evidence };
}

/** A result with nothing to fix. */
export function pass(id: CheckId, message: string, evidence: Evidence = {}, subject?: string): CheckResult {
  return result(id, 'info', message, evidence, subject);
}

/** A result at `level` (`info` makes it a pass). */
export function finding(id: CheckId, level: CheckLevel, message: string, evidence: Evidence = {}, subject?: string): CheckResult {
  return result(id, level, message, evidence, subject);
}

/** The result of one domain: `error` when it could not run, else its worst finding. */
export function domainResult(checks: readonly CheckResult[], error: DomainReport['error']): DomainResult {
  if (error !== undefined) return 'error';
  let worst: DomainResult = 'pass';
  for (const c of checks) {
    switch (c.level) {
      case 'error':
        return 'fail';
      case 'warning':
        worst = 'warn';
        break;
      case 'info':
        break;
      default: {
        const _never: never = c.level;
        return _never;
      }
    }
  }
  return worst;
}

/** Exit statuses of `check` (docs/check.md). */
export const CHECK_EXIT = { passed: 0, failed: 1, couldNotRun: 2 } as const;

/**
 * 2 when some domain could not be checked, else 1 when a check failed (a warning too with
 * `strict`), else 0.
 */
export function exitStatus(report: CheckReport, strict: boolean): 0 | 1 | 2 {
  let status: 0 | 1 | 2 = CHECK_EXIT.passed;
  for (const d of report.domains) {
    switch (d.result) {
      case 'error':
        return CHECK_EXIT.couldNotRun;
      case 'fail':
        status = CHECK_EXIT.failed;
        break;
      case 'warn':
        if (strict) status = CHECK_EXIT.failed;
        break;
      case 'pass':
        break;
      default: {
        const _never: never = d.result;
        return _never;
      }
    }
  }
  return status;
}

const ORDER = new Map<string, number>(CHECK_IDS.map((id, i) => [id, i]));

/** Report order: by id (in {@link CHECK_IDS} order), then subject; stable otherwise. */
export function sortResults(checks: readonly CheckResult[]): CheckResult[] {
  return checks
    .map((c, i) => ({ c, i }))
    .sort((a, b) => (ORDER.get(a.c.id) ?? 0) - (ORDER.get(b.c.id) ?? 0) || compare(a.c.subject ?? '', b.c.subject ?? '') || a.i - b.i)
    .map(({ c }) => c);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
