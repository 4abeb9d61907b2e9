import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { queryCommand } from '../../../main/cli/query.js';
import { exitCodeFor, runQuery, type QueryReport } from '../../../main/cli/query-run.js';
import { formatQueryReport } from '../../../main/cli/query-format.js';
import { FakeClock, ScriptedDns, ScriptedFetcher, policyText, testZone } from '../../helpers/fakes.js';
import { captureIo } from './capture.js';

function world(): { dns: ScriptedDns; fetcher: ScriptedFetcher; clock: FakeClock } {
  return { dns: new ScriptedDns(), fetcher: new ScriptedFetcher(), clock: new FakeClock() };
}

describe('runQuery', () => {
  it('enforce policy: every step recorded, Postfix answer secure, exit 0', async () => {
    const w = world();
    w.dns.answers.set('_mta-sts.example.com', { kind: 'records', records: [['v=STSv1; ', 'id=20260101'], ['unrelated']] });
    w.fetcher.setPolicy('example.com', policyText('enforce', 86400, 'mx1.example.com', '*.example.net'));
    const r = await runQuery('example.com', 'default', testZone, w);
    assert.equal(r.outcome, 'policy');
    assert.equal(exitCodeFor(r.outcome), 0);
    assert.equal(r.discovery.name, '_mta-sts.example.com');
    assert.equal(r.discovery.result.kind, 'record');
    assert.equal(r.fetch?.result.kind, 'ok');
    assert.equal(r.parse?.result.ok, true);
    assert.equal(r.resolution.kind, 'policy');
    if (r.resolution.kind === 'policy') {
      assert.equal(r.resolution.source, 'fetched');
      assert.equal(r.resolution.id, '20260101');
      assert.equal(r.resolution.expiresAt - r.resolution.fetchedAt, 86400 * 1000);
    }
    assert.equal(r.postfix.kind, 'ok');
    if (r.postfix.kind === 'ok') assert.match(r.postfix.data, /^secure match=mx1\.example\.com:\.example\.net/);

    const text = formatQueryReport(r);
    assert.ok(text.includes('1. TXT _mta-sts.example.com'));
    assert.ok(text.includes('"v=STSv1; " "id=20260101"'), 'TXT strings shown as returned, each quoted');
    assert.ok(text.includes('"unrelated"'));
    assert.ok(text.includes('id: 20260101'));
    assert.ok(text.includes('2. GET https://mta-sts.example.com/.well-known/mta-sts.txt'));
    assert.ok(text.includes('status: 200'));
    assert.ok(text.includes('content-type: text/plain'));
    assert.ok(text.includes('mx: *.example.net'));
    assert.ok(text.includes('mode enforce, max_age 86400s, 2 mx pattern(s)'));
    assert.match(text, /Postfix answer: OK secure match=/);
    assert.match(text, /Result: policy found, mode enforce, id 20260101/);
    // JSON round-trips.
    const parsed = JSON.parse(JSON.stringify(r)) as QueryReport;
    assert.equal(parsed.outcome, 'policy');
  });

  it('testing policy: found (exit 0) but Postfix gets NOTFOUND', async () => {
    const w = world();
    w.dns.setTxt('example.org', 'v=STSv1; id=1');
    w.fetcher.setPolicy('example.org', policyText('testing', 600, 'mx.example.org'));
    const r = await runQuery('example.org', 'default', testZone, w);
    assert.equal(exitCodeFor(r.outcome), 0);
    assert.deepEqual(r.postfix, { kind: 'notfound' });
  });

  it('no record: no policy, exit 1, no fetch', async () => {
    const w = world();
    const r = await runQuery('nothing.example', 'default', testZone, w);
    assert.equal(r.outcome, 'no-policy');
    assert.equal(exitCodeFor(r.outcome), 1);
    assert.equal(r.fetch, undefined);
    assert.deepEqual(w.fetcher.fetches, []);
    assert.deepEqual(r.postfix, { kind: 'notfound' });
    assert.match(formatQueryReport(r), /no usable record: nxdomain[\s\S]*Result: no policy: nxdomain/);
  });

  it('DNS error: exit 2; the answer follows the zone (TEMP with dns_error temp)', async () => {
    const w = world();
    w.dns.setAnswer('broken.example', { kind: 'error', code: 'ESERVFAIL', message: 'server failure' });
    const r = await runQuery('broken.example', 'z', { ...testZone, dnsErrorAnswer: 'temp' }, w);
    assert.equal(r.outcome, 'error');
    assert.equal(exitCodeFor(r.outcome), 2);
    assert.equal(r.postfix.kind, 'temp');
    assert.match(formatQueryReport(r), /DNS error: ESERVFAIL: server failure/);
  });

  it('fetch failure: exit 2 with the fetch code', async () => {
    const w = world();
    w.dns.setTxt('example.net', 'v=STSv1; id=2');
    w.fetcher.setError('example.net', 'EFETCH_TLS');
    const r = await runQuery('example.net', 'default', testZone, w);
    assert.equal(r.outcome, 'error');
    assert.equal(r.parse, undefined);
    assert.match(formatQueryReport(r), /fetch failed: scripted EFETCH_TLS \[EFETCH_TLS\]/);
    assert.deepEqual(r.postfix, { kind: 'notfound' });
  });

  it('invalid policy: exit 2, problems and the body shown', async () => {
    const w = world();
    w.dns.setTxt('example.info', 'v=STSv1; id=3');
    w.fetcher.setPolicy('example.info', 'version: STSv1\nmode: sometimes\nmax_age: 60\n');
    const r = await runQuery('example.info', 'default', testZone, w);
    assert.equal(r.outcome, 'error');
    assert.equal(r.parse?.result.ok, false);
    const text = formatQueryReport(r);
    assert.match(text, /invalid: line 2: .*\[EPOLICY_MODE_INVALID\]/);
    assert.ok(text.includes('   | mode: sometimes'));
    assert.match(text, /Result: error: fetch-failed \(EPOLICY_INVALID: /);
  });
});

describe('query command', () => {
  it('--json prints one JSON object and exits by outcome', async () => {
    const w = world();
    w.dns.setTxt('example.com', 'v=STSv1; id=9');
    w.fetcher.setPolicy('example.com', policyText('enforce', 60, 'mx.example.com'));
    const io = captureIo();
    const code = await queryCommand(['EXAMPLE.com.', '--json'], io, { dns: w.dns, fetcher: w.fetcher });
    assert.equal(code, 0, io.stderr());
    const obj = JSON.parse(io.stdout()) as QueryReport;
    assert.equal(obj.domain, 'example.com', 'the input is normalized to the policy domain');
    assert.equal(obj.zone, 'default');
    assert.equal(obj.outcome, 'policy');
    assert.deepEqual(w.dns.queries, ['_mta-sts.example.com']);
  });

  it('prints human output without --json', async () => {
    const w = world();
    const io = captureIo();
    assert.equal(await queryCommand(['none.example'], io, { dns: w.dns, fetcher: w.fetcher }), 1);
    assert.match(io.stdout(), /^Domain: none\.example \(zone default, timeout \d+s\)/);
  });
});
