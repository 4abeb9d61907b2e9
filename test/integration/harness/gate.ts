/**
 * One rule for every integration suite: what it needs (root, Postfix's tools, a database server,
 * Exim...) is checked up front, before anything starts. A missing part FAILS the suite with the
 * command that installs it, unless MTA_STS_BRIDGE_SKIP_INTEGRATION=1 is set, which turns that
 * failure into an explicit skip carrying the same reason. Nothing is ever skipped silently.
 */
import { findBinary } from './binaries.js';
import { integrationPrerequisiteProblem } from './netns.js';

/** Set to `1` to skip (explicitly, with the reason) suites whose prerequisites are missing. */
export const SKIP_VARIABLE = 'MTA_STS_BRIDGE_SKIP_INTEGRATION';

export interface IntegrationGate {
  /** The first missing prerequisite, if any. */
  readonly problem: string | undefined;
  /** For `describe(name, { skip })`: the reason when skipping is asked for and something is missing. */
  readonly skip: string | false;
  /** Throws (fails the suite) when something is missing; call it first in `before`. */
  assertReady(): void;
}

/** The gate of a suite needing root plus whatever `extra` checks report (first problem wins). */
export function integrationGate(...extra: ReadonlyArray<() => string | undefined>): IntegrationGate {
  return toolGate(integrationPrerequisiteProblem, ...extra);
}

/** The same rule for a suite that needs only tools, not root or a network namespace. */
export function toolGate(...checks: ReadonlyArray<() => string | undefined>): IntegrationGate {
  let problem: string | undefined;
  for (const check of checks) problem ??= check();
  const skipAsked = process.env[SKIP_VARIABLE] === '1';
  return {
    problem,
    skip: problem !== undefined && skipAsked ? problem : false,
    assertReady(): void {
      if (problem !== undefined) throw new Error(`${problem}; set ${SKIP_VARIABLE}=1 to skip explicitly`);
    },
  };
}

/** Postfix's `postmap` and `postconf`, which most suites drive the daemon with. */
export function postfixToolsProblem(): string | undefined {
  const dirs = ['/usr/sbin', '/usr/local/sbin', '/sbin'];
  const missing = ['postmap', 'postconf'].filter((tool) => findBinary(tool, dirs) === undefined);
  return missing.length === 0 ? undefined : `${missing.join(' and ')} not found: apt-get install postfix (bash .ci/run installs it)`;
}
