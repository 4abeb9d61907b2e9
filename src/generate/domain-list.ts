/**
 * The `--domains` list: one domain per line, `#` comments (whole line or trailing), blank lines.
 * Pure. Invalid lines are reported with their line number and skipped, never fatal, so that one
 * typo in a list of thousands cannot stop the map from being refreshed.
 */
import { toPolicyDomain } from '../policy/domain.js';

/** One line of the list that is not a usable domain. */
export interface DomainListProblem {
  /** 1-based line number. */
  readonly line: number;
  readonly text: string;
  /** `EDOMAIN_INVALID` or `EDOMAIN_IP_LITERAL` (from toPolicyDomain). */
  readonly code: string;
  readonly message: string;
}

export interface DomainList {
  /** Lower-case A-label policy domains, de-duplicated, in first-seen order. */
  readonly domains: readonly string[];
  readonly problems: readonly DomainListProblem[];
  /** Lines that named a domain already listed (after normalisation). */
  readonly duplicates: number;
}

/** Parse the text of a domain list. */
export function parseDomainList(text: string): DomainList {
  const seen = new Set<string>();
  const domains: string[] = [];
  const problems: DomainListProblem[] = [];
  let duplicates = 0;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? '';
    const hash = raw.indexOf('#');
    const content = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (content.length === 0) continue;
    const checked = toPolicyDomain(content);
    if (!checked.ok) {
      problems.push({ line: i + 1, text: content, code: checked.code, message: checked.message });
      continue;
    }
    if (seen.has(checked.domain)) {
      duplicates += 1;
      continue;
    }
    seen.add(checked.domain);
    domains.push(checked.domain);
  }
  return { domains, problems, duplicates };
}
