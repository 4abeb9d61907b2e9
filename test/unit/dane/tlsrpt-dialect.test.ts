/**
 * The TLSRPT dialect with DANE (issue 10): a `tlsrpt: true` zone answering DANE gives the bare
 * level, no STS attributes. Debian's Postfix here is 3.7, so the answers are checked as strings
 * against the rules of Postfix 3.10+ `smtp_tls_policy.c` (`tls_policy_lookup_one`), encoded
 * below: the level names; `match` only at fingerprint/verify/secure; `tafile` only at the PKIX
 * levels; each single-instance attribute at most once; `policy_ttl`, `policy_domain`,
 * `policy_string`, `mx_host_pattern` and `policy_failure` only with a `policy_type` ("built-in
 * policy has unexpected attribute ..."); and (postconf(5), smtp_tls_policy_maps) the TLSRPT
 * attributes belong to MTA-STS policies only, so never on a DANE level.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { postfixAnswer } from '../../../adapters/protocol/postfix-answer.js';
import type { LookupResult } from '../../../src/lookup.js';
import { parsePolicyFile } from '../../../src/policy/policy-file.js';
import { policyText, testZone } from '../../helpers/fakes.js';

const LEVELS = new Set(['none', 'may', 'encrypt', 'dane', 'dane-only', 'fingerprint', 'verify', 'secure']);
const SINGLE = new Set(['ciphers', 'protocols', 'servername', 'exclude', 'policy_type', 'policy_domain', 'policy_ttl', 'policy_failure']);
const MULTI = new Set(['match', 'tafile', 'policy_string', 'mx_host_pattern', 'connection_reuse', 'enable_rpk']);
const EXT = ['policy_ttl', 'policy_domain', 'policy_string', 'mx_host_pattern', 'policy_failure'];

/** Why Postfix 3.10 would refuse `policy` (with the stricter STS-only rule for TLSRPT attributes), or undefined. */
function postfix310Problem(policy: string): string | undefined {
  // Tokens as mystrtokq() splits them: whitespace-separated, `{ name = value }` kept whole
  // (extpar() strips the braces; split_nameval() allows spaces around `=`).
  const tokens = policy.match(/\{[^{}]*\}|[^ \t{}]+/g) ?? [];
  if (tokens.join('').replace(/[ \t]/g, '').length !== policy.replace(/[ \t]/g, '').length) return 'unbalanced braces';
  const [level, ...attrs] = tokens;
  if (level === undefined || !LEVELS.has(level)) return `invalid level "${level ?? ''}"`;
  const seen = new Map<string, number>();
  for (const token of attrs) {
    const attr = token.startsWith('{') ? token.slice(1, -1).trim() : token;
    const eq = attr.indexOf('=');
    if (eq <= 0) return `malformed attribute "${attr}"`;
    const name = attr.slice(0, eq).trim().toLowerCase();
    const value = attr.slice(eq + 1).trim();
    if (!SINGLE.has(name) && !MULTI.has(name)) return `invalid attribute name "${name}"`;
    seen.set(name, (seen.get(name) ?? 0) + 1);
    if (SINGLE.has(name) && (seen.get(name) ?? 0) > 1) return `"${name}" specified multiple times`;
    if (name === 'match' && !['fingerprint', 'verify', 'secure'].includes(level)) return `match invalid at level ${level}`;
    if (name === 'match' && value === '') return 'match has empty value';
    if (name === 'tafile' && !['verify', 'secure'].includes(level)) return `tafile invalid at level ${level}`;
    if (name === 'policy_type' && !['sts', 'no-policy-found'].includes(value)) return `policy_type ${value}`;
  }
  if (!seen.has('policy_type') && EXT.some((n) => seen.has(n))) return 'built-in policy has unexpected attribute';
  if (seen.has('policy_type') && (level === 'dane' || level === 'dane-only')) return 'TLSRPT STS attributes on a DANE policy';
  return undefined;
}

const parsed = parsePolicyFile(policyText('enforce', 86400, 'mx.example.test'));
assert.ok(parsed.ok);
const TLSRPT = { ...testZone, tlsrpt: true };
const sts: LookupResult = {
  zoneName: 'tlsrpt',
  zone: TLSRPT,
  resolution: { kind: 'policy', domain: 'example.test', id: '1', policy: parsed.value, source: 'cache', fetchedAt: 0, expiresAt: 1 },
};
const withDane = (level: 'dane' | 'dane-only'): LookupResult => ({
  ...sts,
  dane: { kind: 'dane', domain: 'example.test', level, why: 'all-mx-dane' },
});

describe('TLSRPT dialect with DANE, checked against Postfix 3.10 rules', () => {
  it('the checker itself refuses what Postfix 3.10 refuses', () => {
    assert.equal(postfix310Problem('dane match=mx.example.test'), 'match invalid at level dane');
    assert.equal(postfix310Problem('dane policy_type=sts policy_domain=example.test'), 'TLSRPT STS attributes on a DANE policy');
    assert.equal(postfix310Problem('secure match=mx.example.test policy_domain=example.test'), 'built-in policy has unexpected attribute');
    assert.equal(postfix310Problem('secure policy_type=sts policy_type=sts'), '"policy_type" specified multiple times');
    assert.equal(postfix310Problem('strict'), 'invalid level "strict"');
    assert.equal(postfix310Problem('secure policy_type=sts { policy_string = mode: enforce'), 'unbalanced braces');
    assert.equal(postfix310Problem('secure policy_type=sts { policy_string = mode: enforce }'), undefined);
  });

  it('a DANE answer in a tlsrpt zone is the bare level, valid, without STS attributes', () => {
    for (const level of ['dane', 'dane-only'] as const) {
      const answer = postfixAnswer(withDane(level));
      assert.deepEqual(answer, { kind: 'ok', data: level, plainData: level });
      assert.ok(answer.kind === 'ok');
      assert.equal(postfix310Problem(answer.data), undefined);
      assert.doesNotMatch(answer.data, /policy_|mx_host_pattern/);
    }
  });

  it('the MTA-STS answer of the same zone keeps its STS attributes and is valid too', () => {
    const answer = postfixAnswer(sts);
    assert.ok(answer.kind === 'ok');
    assert.match(answer.data, /^secure match=mx\.example\.test servername=hostname policy_type=sts policy_domain=example\.test /);
    assert.equal(postfix310Problem(answer.data), undefined, answer.data);
    // The plain form (for Postfix before 3.10) has none of them.
    assert.equal(answer.plainData, 'secure match=mx.example.test servername=hostname');
  });
});
