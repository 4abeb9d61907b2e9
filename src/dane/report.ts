/**
 * The DANE part of `query`'s report: the finding, host by host, and the decision. Pure.
 */
import type { DaneDecision } from './decision.js';
import { formatTlsa } from './tlsa.js';
import type { DaneFinding, HostFinding } from './types.js';

function hostLine(h: HostFinding): string[] {
  const d = h.dane;
  switch (d.kind) {
    case 'dane':
      return [
        `  ${h.preference} ${h.host}: DANE (${d.tlsaName}, ${d.usable.length} usable, ${d.unusable} unusable)`,
        ...d.usable.map((r) => `    TLSA ${formatTlsa(r)}`),
      ];
    case 'no-dane':
      return [`  ${h.preference} ${h.host}: no DANE (${d.reason}${d.tlsaName === undefined ? '' : `, ${d.tlsaName}`})`];
    case 'failed':
      return [`  ${h.preference} ${h.host}: lookup failed at ${d.stage}: ${d.message} [${d.code}]`];
    default: {
      const _never: never = d;
      return [String(_never)];
    }
  }
}

/** The finding as indented lines. */
export function formatFinding(f: DaneFinding): string[] {
  switch (f.kind) {
    case 'dane':
      return [`finding: every MX host has validated usable TLSA records (ttl ${f.ttl}s)`, ...f.hosts.flatMap(hostLine)];
    case 'mixed':
      return [`finding: mixed, some MX hosts have validated usable TLSA records (ttl ${f.ttl}s)`, ...f.hosts.flatMap(hostLine)];
    case 'no-dane':
      return [`finding: no DANE (${f.reason}, ttl ${f.ttl}s)`, ...f.hosts.flatMap(hostLine)];
    case 'failed':
      return [
        `finding: lookup failed (${f.side === 'local' ? 'local fault' : 'remote'}) at ${f.stage}${f.host === undefined ? '' : ` ${f.host}`}: ${f.message} [${f.code}]`,
        ...f.hosts.flatMap(hostLine),
      ];
    default: {
      const _never: never = f;
      return [String(_never)];
    }
  }
}

/** The decision in one line. */
export function formatDecision(d: DaneDecision): string {
  switch (d.kind) {
    case 'dane':
      return `decision: ${d.level} (${d.why === 'all-mx-dane' ? 'DANE applies to every MX host' : 'mixed, no enforced MTA-STS policy'})`;
    case 'sts': {
      const why = {
        'dane-off': 'dane is off in this zone',
        'no-dane': `no DANE${d.noDane === undefined ? '' : ` (${d.noDane})`}`,
        'mixed-sts-enforces': 'mixed, the enforced MTA-STS policy stays',
        'lookup-failed-sts': 'DANE lookup failed, dane_lookup_failure: sts',
      }[d.why];
      return `decision: MTA-STS answer (${why})`;
    }
    case 'temp':
      return `decision: temporary failure (${d.why === 'local-fault' ? 'local fault' : 'DANE lookup failed, dane_lookup_failure: temp'}) [${d.code}]`;
    default: {
      const _never: never = d;
      return String(_never);
    }
  }
}
