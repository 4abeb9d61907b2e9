import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FETCH_BACKOFF_MS } from '../../../src/resolver/resolver.js';
import { policyText, testZone } from '../../helpers/fakes.js';
import { HOUR, makeWorld } from './helpers.js';

describe('Resolver.refresh (RFC 8461 §3.3 proactive refresh)', () => {
  it('fetches the policy file although the TXT id is unchanged, and stores it with new times', async () => {
    const w = makeWorld();
    await w.seed('a.test');
    const before = await w.cache.get('a.test');
    w.clock.advance(13 * HOUR);
    const out = await w.resolver.refresh('a.test', testZone);
    assert.deepEqual(out, {
      kind: 'refreshed',
      domain: 'a.test',
      id: 'one',
      previousId: 'one',
      mode: 'enforce',
      previousMode: 'enforce',
      changed: false,
      expiresAt: w.clock.now() + 604_800_000,
    });
    assert.deepEqual(w.scripted.fetches, ['a.test', 'a.test']);
    const after = await w.cache.get('a.test');
    assert.equal(after?.fetchedAt, w.clock.now());
    assert.equal(after?.checkedAt, w.clock.now());
    assert.ok((after?.expiresAt ?? 0) > (before?.expiresAt ?? 0));
  });

  it('picks up a changed policy body published under the same id', async () => {
    const w = makeWorld();
    await w.seed('a.test');
    w.scripted.setPolicy('a.test', policyText('testing', 86_400, 'new-mx.a.test'));
    const out = await w.resolver.refresh('a.test', testZone);
    assert.equal(out.kind, 'refreshed');
    assert.equal(out.kind === 'refreshed' && out.changed, true);
    assert.equal(out.kind === 'refreshed' && out.mode, 'testing');
    const stored = await w.cache.get('a.test');
    assert.deepEqual(stored?.policy.mx, ['new-mx.a.test']);
    assert.equal(stored?.id, 'one');
  });

  it('notices a new TXT id', async () => {
    const w = makeWorld();
    await w.seed('a.test');
    w.dns.setTxt('a.test', 'v=STSv1; id=two');
    const out = await w.resolver.refresh('a.test', testZone);
    assert.equal(out.kind === 'refreshed' && `${out.previousId}->${out.id} changed=${out.changed}`, 'one->two changed=true');
    assert.equal((await w.cache.get('a.test'))?.id, 'two');
  });

  it('a fetched `none` policy replaces the cached one', async () => {
    const w = makeWorld();
    await w.seed('a.test');
    w.scripted.setPolicy('a.test', policyText('none', 86_400));
    const out = await w.resolver.refresh('a.test', testZone);
    assert.equal(out.kind === 'refreshed' && out.mode, 'none');
    assert.equal((await w.cache.get('a.test'))?.policy.mode, 'none');
  });

  const failures: ReadonlyArray<{ what: string; break: (w: ReturnType<typeof makeWorld>) => void; stage: string; code: string }> = [
    { what: 'a failed fetch', break: (w) => w.scripted.setError('a.test', 'EFETCH_TLS'), stage: 'fetch', code: 'EFETCH_TLS' },
    {
      what: 'an invalid policy file',
      break: (w) => w.scripted.setPolicy('a.test', 'version: STSv1\r\nmode: bogus\r\n'),
      stage: 'fetch',
      code: 'EPOLICY_INVALID',
    },
    {
      what: 'a DNS error',
      break: (w) => w.dns.setAnswer('a.test', { kind: 'error', code: 'EDNS_SERVFAIL', message: 'servfail' }),
      stage: 'dns',
      code: 'EDNS_SERVFAIL',
    },
    {
      what: 'a vanished TXT record',
      break: (w) => w.dns.setAnswer('a.test', { kind: 'nxdomain' }),
      stage: 'txt',
      code: 'EREFRESH_NO_RECORD',
    },
  ];
  for (const f of failures) {
    it(`${f.what} keeps the cached, unexpired policy as it was`, async () => {
      const w = makeWorld();
      await w.seed('a.test');
      const before = await w.cache.get('a.test');
      w.clock.advance(13 * HOUR);
      f.break(w);
      const out = await w.resolver.refresh('a.test', testZone);
      assert.equal(out.kind, 'failed');
      assert.equal(out.kind === 'failed' && `${out.stage} ${out.code} ${out.previousMode}`, `${f.stage} ${f.code} enforce`);
      assert.equal(out.kind === 'failed' && out.expiresAt, before?.expiresAt);
      assert.deepEqual(await w.cache.get('a.test'), before);
      // And lookups still get it (RFC 8461 §3.3 MUST).
      const r = await w.resolver.resolve('a.test', testZone);
      assert.equal(r.kind === 'policy' && r.policy.mode, 'enforce');
    });
  }

  it('keeps the five-minute back-off after a failed fetch of the same id', async () => {
    const w = makeWorld();
    await w.seed('a.test');
    w.scripted.setError('a.test');
    assert.equal((await w.resolver.refresh('a.test', testZone)).kind, 'failed');
    w.clock.advance(FETCH_BACKOFF_MS - 1);
    const held = await w.resolver.refresh('a.test', testZone);
    assert.deepEqual(held, {
      kind: 'backoff',
      domain: 'a.test',
      code: 'EFETCH_CONNECT',
      previousMode: 'enforce',
      expiresAt: held.kind === 'backoff' ? held.expiresAt : 0,
    });
    assert.equal(w.scripted.fetches.length, 2);
    w.clock.advance(1);
    w.scripted.setPolicy('a.test', policyText('enforce', 604_800, 'mx.a.test'));
    assert.equal((await w.resolver.refresh('a.test', testZone)).kind, 'refreshed');
  });

  it('has nothing to refresh when nothing unexpired is cached', async () => {
    const w = makeWorld();
    assert.deepEqual(await w.resolver.refresh('absent.test', testZone), { kind: 'not-cached', domain: 'absent.test' });
    await w.seed('short.test', { maxAge: 60 });
    w.clock.advance(60_000);
    assert.deepEqual(await w.resolver.refresh('short.test', testZone), { kind: 'not-cached', domain: 'short.test' });
    assert.equal(w.dns.queries.filter((q) => q === '_mta-sts.short.test').length, 1);
  });

  it('turns an exception into an EINTERNAL outcome instead of rejecting', async () => {
    const w = makeWorld();
    await w.seed('a.test');
    w.fetcher.fetch = () => {
      throw new Error('boom');
    };
    const out = await w.resolver.refresh('a.test', testZone);
    assert.equal(out.kind, 'error');
    assert.equal(out.kind === 'error' && out.code, 'EINTERNAL');
    assert.ok((await w.cache.get('a.test')) !== undefined);
  });

  it('concurrent refreshes of one domain share one fetch', async () => {
    const w = makeWorld();
    await w.seed('a.test');
    const [x, y] = await Promise.all([w.resolver.refresh('a.test', testZone), w.resolver.refresh('a.test', testZone)]);
    assert.deepEqual(x, y);
    assert.equal(w.scripted.fetches.length, 2);
  });
});
