/**
 * The steps of `query`: discovery, fetch and parse, each recorded with its timing, WITHOUT any
 * cache, then the answer Postfix would get. Network seams are passed in (tests fake them).
 */
import { performance } from 'node:perf_hooks';
import type { ZoneConfig } from '../../src/config/types.js';
import type { Clock } from '../../src/clock.js';
import type { ParseResult, StsPolicy } from '../../src/policy/types.js';
import type { Discovery, DnsPort, FetchResult, PolicyFetcher, Resolution } from '../../src/resolver/types.js';
import { discover, stsRecordName } from '../../src/resolver/discovery.js';
import { parsePolicyFile } from '../../src/policy/policy-file.js';
import { postfixAnswer, type PostfixAnswer } from '../../adapters/protocol/postfix-answer.js';

export type QueryOutcome = 'policy' | 'no-policy' | 'error';

/** Everything `query` found, JSON-able (the `--json` output). */
export interface QueryReport {
  readonly domain: string;
  readonly zone: string;
  readonly timeoutSec: number;
  readonly outcome: QueryOutcome;
  readonly discovery: { readonly name: string; readonly ms: number; readonly result: Discovery };
  readonly fetch?: { readonly ms: number; readonly result: FetchResult };
  readonly parse?: { readonly ms: number; readonly result: ParseResult<StsPolicy> };
  /** What the resolver would decide with an empty cache. */
  readonly resolution: Resolution;
  readonly postfix: PostfixAnswer;
  readonly totalMs: number;
}

export interface QueryDeps {
  readonly dns: DnsPort;
  readonly fetcher: PolicyFetcher;
  readonly clock: Clock;
}

/** The exit status for an outcome: 0 policy (any mode), 1 no policy, 2 error. */
export function exitCodeFor(outcome: QueryOutcome): number {
  switch (outcome) {
    case 'policy':
      return 0;
    case 'no-policy':
      return 1;
    case 'error':
      return 2;
    default: {
      const _never: never = outcome;
      return _never;
    }
  }
}

/** Resolve `domain` (a lower-case A-label) step by step within the zone's deadline. */
export async function runQuery(domain: string, zoneName: string, zone: ZoneConfig, deps: QueryDeps): Promise<QueryReport> {
  const deadlineMs = zone.timeoutSec * 1000;
  const t0 = performance.now();
  const elapsed = (): number => performance.now() - t0;
  const base = { domain, zone: zoneName, timeoutSec: zone.timeoutSec };
  const finish = (
    outcome: QueryOutcome,
    resolution: Resolution,
    steps: Pick<QueryReport, 'discovery'> & Partial<Pick<QueryReport, 'fetch' | 'parse'>>,
  ): QueryReport => ({
    ...base,
    outcome,
    ...steps,
    resolution,
    postfix: postfixAnswer({ zoneName, zone, resolution }),
    totalMs: round(elapsed()),
  });

  const result = await discover(deps.dns, domain, deadlineMs);
  const discovery = { name: stsRecordName(domain), ms: round(elapsed()), result };
  switch (result.kind) {
    case 'error':
      return finish('error', { kind: 'dns-error', domain, code: result.code, detail: result.message }, { discovery });
    case 'none':
      return finish('no-policy', { kind: 'no-policy', domain, reason: result.reason, source: 'lookup' }, { discovery });
    case 'record':
      break;
    default: {
      const _never: never = result;
      return _never;
    }
  }

  const fetchStart = elapsed();
  const fetched = await deps.fetcher.fetch(domain, Math.max(1, deadlineMs - fetchStart));
  const fetch = { ms: round(elapsed() - fetchStart), result: fetched };
  if (fetched.kind === 'error') {
    return finish(
      'error',
      { kind: 'no-policy', domain, reason: 'fetch-failed', source: 'lookup', detail: `${fetched.code}: ${fetched.message}` },
      { discovery, fetch },
    );
  }

  const parseStart = elapsed();
  const parsed = parsePolicyFile(fetched.body);
  const parse = { ms: round(elapsed() - parseStart), result: parsed };
  if (!parsed.ok) {
    const first = parsed.problems[0];
    return finish(
      'error',
      {
        kind: 'no-policy',
        domain,
        reason: 'fetch-failed',
        source: 'lookup',
        detail: `EPOLICY_INVALID: ${first !== undefined ? `${first.code} ${first.message}` : 'invalid policy'}`,
      },
      { discovery, fetch, parse },
    );
  }
  const fetchedAt = deps.clock.now();
  return finish(
    'policy',
    {
      kind: 'policy',
      domain,
      id: result.record.id,
      policy: parsed.value,
      source: 'fetched',
      fetchedAt,
      expiresAt: fetchedAt + parsed.value.maxAge * 1000,
    },
    { discovery, fetch, parse },
  );
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
