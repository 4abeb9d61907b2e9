/**
 * `policy_delegation:` — the background warm-up that `protocol: policy` listeners feed
 * (README.md, "Postfix policy delegation"):
 *
 *   policy_delegation:
 *     queue_size: 1000        # domains waiting before new ones are dropped
 *     concurrency: 4          # resolutions at once
 *     skip_domains:           # never warmed: your own domains, destinations to ignore
 *       - example.org         #   that domain only
 *       - .example.org        #   every subdomain of it
 */
import { isScalar } from 'yaml';
import { toPolicyDomain } from '../policy/domain.js';
import { asMap, asSeq, indexPath, readMap, readNumber, readString, report, resolveNode, type Field, type ReadContext } from './node-reader.js';
import type { PolicyDelegationConfig } from './types.js';
import { defaultPolicyDelegation } from './defaults.js';

export { DEFAULT_WARM_CONCURRENCY, DEFAULT_WARM_QUEUE_SIZE, defaultPolicyDelegation } from './defaults.js';

/** Largest `queue_size`: bounds memory (a domain name is at most 253 bytes, RFC 1035 §2.3.4). */
export const WARM_QUEUE_SIZE_MAX = 1_000_000;
/** Largest `concurrency`: each running resolution may hold a DNS query and an HTTPS connection. */
export const WARM_CONCURRENCY_MAX = 256;

export const POLICY_DELEGATION_KEYS = ['queue_size', 'concurrency', 'skip_domains'] as const;


/** Reads the block, reporting every problem with its dotted path. */
export function readPolicyDelegation(ctx: ReadContext, field: Field | undefined): PolicyDelegationConfig {
  const fallback = defaultPolicyDelegation();
  if (field === undefined) return fallback;
  const map = asMap(ctx, field);
  if (map === undefined) return fallback;
  const f = readMap(ctx, map, field.path, POLICY_DELEGATION_KEYS);
  const size = f.get('queue_size');
  const concurrency = f.get('concurrency');
  return {
    queueSize: (size === undefined ? undefined : readNumber(ctx, size, { integer: true, min: 1, max: WARM_QUEUE_SIZE_MAX })) ?? fallback.queueSize,
    concurrency:
      (concurrency === undefined ? undefined : readNumber(ctx, concurrency, { integer: true, min: 1, max: WARM_CONCURRENCY_MAX })) ??
      fallback.concurrency,
    skipDomains: readSkipDomains(ctx, f.get('skip_domains')),
  };
}

function readSkipDomains(ctx: ReadContext, field: Field | undefined): string[] {
  if (field === undefined) return [];
  const seq = asSeq(ctx, field);
  if (seq === undefined) return [];
  const out: string[] = [];
  seq.items.forEach((item, i) => {
    const path = indexPath(field.path, i);
    const node = resolveNode(ctx, item);
    if (node === null) {
      report(ctx, 'ECONFIG_TYPE', path, isScalar(item) ? item : seq, 'an empty entry; write a domain such as example.org or .example.org');
      return;
    }
    const text = readString(ctx, { path, node, keyNode: null });
    if (text === undefined) return;
    const parent = text.startsWith('.');
    const checked = toPolicyDomain(parent ? text.slice(1) : text);
    if (!checked.ok) {
      report(ctx, 'ECONFIG_BAD_VALUE', path, node, `"${text}" is not a domain name (example.org) or a parent domain (.example.org): ${checked.message}`);
      return;
    }
    out.push(parent ? `.${checked.domain}` : checked.domain);
  });
  return out;
}
