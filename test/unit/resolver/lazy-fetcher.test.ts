/**
 * The lazily loaded production fetcher: one load shared by concurrent first fetches, the loaded
 * fetcher used afterwards, a failed load answered as a local fault and tried again. The loader
 * and the fetcher behind it are doubles; the real import is exercised by the daemon's
 * integration tests, which fetch policies over real HTTPS.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLazyHttpsFetcher } from '../../../src/resolver/lazy-fetcher.js';
import type { DnsPort, FetchResult, PolicyFetcher } from '../../../src/resolver/types.js';

const dns = {} as DnsPort;

function recordingFetcher(calls: string[]): PolicyFetcher {
  return {
    async fetch(policyDomain: string, timeoutMs: number): Promise<FetchResult> {
      calls.push(`${policyDomain}/${timeoutMs}`);
      return {
        kind: 'ok',
        url: `https://mta-sts.${policyDomain}/.well-known/mta-sts.txt`,
        status: 200,
        contentType: 'text/plain',
        body: `body of ${policyDomain}`,
        certificate: undefined,
        timings: { totalMs: 1 },
      };
    },
  };
}

describe('createLazyHttpsFetcher', () => {
  it('loads the fetcher once, at the first fetch, for concurrent fetches too', async () => {
    let loads = 0;
    const calls: string[] = [];
    const lazy = createLazyHttpsFetcher(dns, {}, async () => {
      loads += 1;
      return recordingFetcher(calls);
    });
    assert.equal(loads, 0, 'nothing is loaded before a fetch');
    const [a, b] = await Promise.all([lazy.fetch('a.example', 100), lazy.fetch('b.example', 200)]);
    const c = await lazy.fetch('c.example', 300);
    assert.equal(loads, 1);
    assert.deepEqual(calls, ['a.example/100', 'b.example/200', 'c.example/300']);
    assert.equal(a.kind === 'ok' ? a.body : a.code, 'body of a.example');
    assert.equal(b.kind === 'ok' ? b.body : b.code, 'body of b.example');
    assert.equal(c.kind === 'ok' ? c.body : c.code, 'body of c.example');
  });

  it('answers a failed load as a local fault and loads again at the next fetch', async () => {
    let loads = 0;
    const calls: string[] = [];
    const lazy = createLazyHttpsFetcher(dns, {}, async () => {
      loads += 1;
      if (loads === 1) throw new Error('ENOENT: chunk gone');
      return recordingFetcher(calls);
    });
    const first = await lazy.fetch('x.example', 50);
    assert.equal(first.kind, 'error');
    if (first.kind === 'error') {
      assert.equal(first.code, 'ELOCAL_FAULT');
      assert.match(first.message, /chunk gone/);
      assert.equal(first.url, 'https://mta-sts.x.example/.well-known/mta-sts.txt');
    }
    const second = await lazy.fetch('x.example', 60);
    assert.equal(second.kind, 'ok');
    assert.equal(loads, 2);
    assert.deepEqual(calls, ['x.example/60']);
  });

  it('loads the real HTTPS fetcher by default', async () => {
    // A name under .invalid never resolves: the DNS double refuses it, so no packet leaves.
    const refusing: DnsPort = {
      resolveTxt: async () => {
        throw new Error('not used');
      },
      lookupAddresses: async () => {
        throw Object.assign(new Error('queryA ENOTFOUND mta-sts.nowhere.invalid'), { code: 'ENOTFOUND' });
      },
    };
    const result = await createLazyHttpsFetcher(refusing).fetch('nowhere.invalid', 2000);
    assert.equal(result.kind, 'error');
    if (result.kind === 'error') assert.equal(result.code, 'EFETCH_DNS', result.message);
  });
});
