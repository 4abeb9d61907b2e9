/** The outputs with a DANE decision: Postfix answers (plain and TLSRPT zones), Exim replies, the verdict. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eximAnswer, formatEximAnswer } from '../../../adapters/protocol/exim-answer.js';
import { postfixAnswer } from '../../../adapters/protocol/postfix-answer.js';
import type { LookupResult } from '../../../src/lookup.js';
import { parsePolicyFile } from '../../../src/policy/policy-file.js';
import { verdictOf } from '../../../src/verdict.js';
import { policyText, testZone } from '../../helpers/fakes.js';

const parsed = parsePolicyFile(policyText('enforce', 86400, 'mx.example.test'));
assert.ok(parsed.ok);
const base: LookupResult = {
  zoneName: 'default',
  zone: testZone,
  resolution: { kind: 'policy', domain: 'example.test', id: '1', policy: parsed.value, source: 'cache', fetchedAt: 0, expiresAt: 1 },
};
const dane = (level: 'dane' | 'dane-only'): LookupResult => ({
  ...base,
  dane: { kind: 'dane', domain: 'example.test', level, why: 'all-mx-dane' },
});

describe('DANE answers', () => {
  it('Postfix: the bare level, never secure match=, also in a TLSRPT zone (no STS attributes)', () => {
    assert.deepEqual(postfixAnswer(dane('dane')), { kind: 'ok', data: 'dane', plainData: 'dane' });
    assert.deepEqual(postfixAnswer(dane('dane-only')), { kind: 'ok', data: 'dane-only', plainData: 'dane-only' });
    assert.deepEqual(postfixAnswer({ ...dane('dane'), zone: { ...testZone, tlsrpt: true } }), {
      kind: 'ok',
      data: 'dane',
      plainData: 'dane',
    });
  });
  it('without a DANE decision, or with an sts one, the MTA-STS answer byte for byte', () => {
    const sts = postfixAnswer(base);
    assert.deepEqual(sts, {
      kind: 'ok',
      data: 'secure match=mx.example.test servername=hostname',
      plainData: 'secure match=mx.example.test servername=hostname',
    });
    assert.deepEqual(
      postfixAnswer({ ...base, dane: { kind: 'sts', verdict: verdictOf(base), why: 'no-dane', noDane: 'mx-insecure' } }),
      sts,
    );
  });
  it('a DANE failure is TEMP naming the DANE side', () => {
    const temp: LookupResult = {
      ...base,
      dane: { kind: 'temp', domain: 'example.test', code: 'EDANE_DNS_SERVFAIL', side: 'remote', why: 'lookup-failed' },
    };
    assert.deepEqual(postfixAnswer(temp), { kind: 'temp', reason: 'DANE DNS lookup failed for example.test (EDANE_DNS_SERVFAIL)' });
    assert.equal(formatEximAnswer(eximAnswer(temp)), 'defer DANE DNS lookup failed for example.test (EDANE_DNS_SERVFAIL)\n');
  });
  it('Exim: one dane form for both levels', () => {
    assert.equal(formatEximAnswer(eximAnswer(dane('dane'))), 'dane\n');
    assert.equal(formatEximAnswer(eximAnswer(dane('dane-only'))), 'dane\n');
  });
});

describe('generate with DANE', () => {
  it('writes dane for every map format, never dane-only', async () => {
    const { decideEntry } = await import('../../../adapters/map/map-format.js');
    for (const format of ['postfix', 'postfix-tlsrpt', 'exim-lsearch'] as const) {
      assert.deepEqual(decideEntry(dane('dane'), format), { kind: 'entry', value: 'dane' });
    }
    assert.deepEqual(decideEntry(dane('dane'), 'json'), { kind: 'entry', value: '{"dane":true,"postfix":"dane"}' });
    assert.deepEqual(decideEntry(base, 'postfix'), { kind: 'entry', value: 'secure match=mx.example.test servername=hostname' });
  });
  it('runGenerate turns a dane-only zone into dane entries', async () => {
    const { runGenerate } = await import('../../../main/cli/generate-run.js');
    const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'dane-gen-'));
    try {
      const output = join(dir, 'map');
      const zone = { ...testZone, dane: { enabled: true, level: 'dane-only', lookupFailure: 'temp' } as const };
      await runGenerate(
        {
          domains: ['example.test'],
          output,
          format: 'postfix',
          type: 'texthash',
          zoneName: 'default',
          zone,
          dryRun: false,
          concurrency: 1,
          offline: false,
        } as never,
        {
          cache: { get: async () => undefined } as never,
          resolver: { resolve: async () => base.resolution, refresh: async () => ({ kind: 'not-cached' }) } as never,
          clock: { now: () => 0 },
          tools: {} as never,
          daneFinding: async (domain) => ({ kind: 'dane', domain, hosts: [], ttl: 60 }),
        },
      );
      assert.match(readFileSync(output, 'utf8'), /^example\.test\s+dane$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
