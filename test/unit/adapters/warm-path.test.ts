/**
 * The warm path of every protocol adapter, against a real Resolver, memory cache and lookup
 * service over a fake network: `answerNow` gives, byte for byte, what `handle` gives for the same
 * request, or undefined (the full path) for keys that are not plain policy domains, domains not
 * fresh in the cache, and requests the full path must answer (and log) itself.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { MemoryPolicyCache } from '../../../adapters/cache/memory.js';
import { eximAdapter, eximWarmReply, type EximRequest } from '../../../adapters/protocol/exim.js';
import { policyDelegationAdapter } from '../../../adapters/protocol/policy-delegation.js';
import type { PolicyRequest } from '../../../adapters/protocol/policy-attributes.js';
import { socketmapAdapter, socketmapWarmReply, type SocketmapRequest } from '../../../adapters/protocol/socketmap.js';
import { tcpTableAdapter, tcpTableWarmReply, type TcpTableRequest } from '../../../adapters/protocol/tcp-table.js';
import type { BridgeConfig, ZoneConfig } from '../../../src/config/types.js';
import { defaultConfig } from '../../../src/config/load.js';
import type { AnswerFormatter, LookupResult, LookupService } from '../../../src/lookup.js';
import { createLookupService } from '../../../src/lookup-service.js';
import type { HandlerContext, ProtocolAdapter } from '../../../src/protocol/types.js';
import { Resolver } from '../../../src/resolver/resolver.js';
import type { Resolution } from '../../../src/resolver/types.js';
import type { WarmOutcome, WarmService } from '../../../src/warm/types.js';
import { FakeClock, memoryLogger, policyText, ScriptedDns, ScriptedFetcher } from '../../helpers/fakes.js';
import { baseZone, policy, policyResolution, result, zone } from './fixtures.js';

const DAY = 86_400;

/** Zones by name: every setting that changes a Postfix or Exim answer. */
const ZONES: Readonly<Record<string, ZoneConfig>> = {
  postfix: zone({ requireSni: true, tlsrpt: false }),
  nosni: zone({ requireSni: false }),
  tlsrpt: zone({ tlsrpt: true }),
  strict: zone({ strictTesting: true }),
  temp: zone({ dnsErrorAnswer: 'temp' }),
};

const BIG_MX = Array.from({ length: 60 }, (_, i) => `mx${i}.mail-hosts.big.example`);

/** Domain -> policy text published for it. */
const POLICIES: Readonly<Record<string, string>> = {
  'enf.example': policyText('enforce', DAY, 'mx1.enf.example', '*.enf.example'),
  'test.example': policyText('testing', DAY, 'mx.test.example'),
  'none.example': policyText('none', DAY),
  'big.example': policyText('enforce', DAY, ...BIG_MX),
  'xn--bcher-kva.example': policyText('enforce', DAY, 'mx.xn--bcher-kva.example'),
};

function config(zones: Readonly<Record<string, ZoneConfig>> = ZONES): BridgeConfig {
  return { ...defaultConfig(), zones };
}

function world() {
  const clock = new FakeClock();
  const dns = new ScriptedDns();
  const fetcher = new ScriptedFetcher();
  for (const [domain, text] of Object.entries(POLICIES)) {
    dns.setTxt(domain, 'v=STSv1; id=one;');
    fetcher.setPolicy(domain, text);
  }
  const { log, lines } = memoryLogger();
  const cache = new MemoryPolicyCache(100);
  const resolver = new Resolver({ cache, dns, fetcher, clock, log, cacheGraceSec: 60, negativeCacheTtlSec: 300, negativeCacheSize: 100 });
  const service = createLookupService(resolver, config(), log, { summaryIntervalMs: 0 });
  const ctx = (listenerZone?: string): HandlerContext => ({
    lookup: service,
    log,
    ...(listenerZone !== undefined ? { listenerZone } : {}),
  });
  /** Fetch every published policy (and learn that nosts.example has none) through the resolver. */
  const prime = async (): Promise<void> => {
    for (const domain of [...Object.keys(POLICIES), 'nosts.example']) await service.lookup(domain);
  };
  return { clock, dns, fetcher, resolver, service, log, lines, ctx, prime };
}

/** answerNow's reply (as UTF-8 bytes) is handle()'s, byte for byte; returns the reply as text. */
async function sameBytes<Req>(adapter: ProtocolAdapter<Req>, req: Req, ctx: HandlerContext): Promise<string> {
  assert.ok(adapter.answerNow !== undefined);
  const warm = adapter.answerNow(req, ctx);
  assert.ok(warm !== undefined, `a warm answer for ${JSON.stringify(req)}`);
  const warmBytes = typeof warm === 'string' ? Buffer.from(warm, 'utf8') : Buffer.from(warm);
  const full = Buffer.from(await adapter.handle(req, ctx));
  assert.deepEqual(
    warmBytes,
    full,
    `warm ${JSON.stringify(warmBytes.toString('latin1'))} vs full ${JSON.stringify(full.toString('latin1'))}`,
  );
  return full.toString('latin1');
}

/** answerNow gives nothing, and the full path still answers. */
async function fullPathOnly<Req>(adapter: ProtocolAdapter<Req>, req: Req, ctx: HandlerContext): Promise<string> {
  assert.equal(adapter.answerNow?.(req, ctx), undefined, `no warm answer for ${JSON.stringify(req)}`);
  return Buffer.from(await adapter.handle(req, ctx)).toString('latin1');
}

/** `payload` as a netstring. */
const ns = (payload: string): string => `${Buffer.byteLength(payload)}:${payload},`;

const WARM_DOMAINS = ['enf.example', 'test.example', 'none.example', 'nosts.example'];

describe('socketmap warm path', () => {
  it('matches handle() byte for byte in every zone, for every kind of policy', async () => {
    const w = world();
    await w.prime();
    for (const mapName of [...Object.keys(ZONES), 'unknown-map']) {
      for (const key of WARM_DOMAINS) await sameBytes(socketmapAdapter, { mapName, key }, w.ctx());
    }
    // Spot checks that the zones really differ.
    assert.equal(
      await sameBytes(socketmapAdapter, { mapName: 'postfix', key: 'enf.example' }, w.ctx()),
      ns('OK secure match=mx1.enf.example:.enf.example servername=hostname'),
    );
    assert.equal(
      await sameBytes(socketmapAdapter, { mapName: 'nosni', key: 'enf.example' }, w.ctx()),
      ns('OK secure match=mx1.enf.example:.enf.example'),
    );
    assert.match(
      await sameBytes(socketmapAdapter, { mapName: 'tlsrpt', key: 'enf.example' }, w.ctx()),
      /policy_type=sts policy_domain=enf\.example mx_host_pattern=mx1\.enf\.example/,
    );
    assert.equal(await sameBytes(socketmapAdapter, { mapName: 'postfix', key: 'test.example' }, w.ctx()), ns('NOTFOUND '));
    assert.match(
      await sameBytes(socketmapAdapter, { mapName: 'strict', key: 'test.example' }, w.ctx()),
      /^\d+:OK secure match=mx\.test\.example/,
    );
    assert.equal(await sameBytes(socketmapAdapter, { mapName: 'postfix', key: 'none.example' }, w.ctx()), ns('NOTFOUND '));
    assert.match(
      await sameBytes(socketmapAdapter, { mapName: 'tlsrpt', key: 'big.example' }, w.ctx()),
      /mx_host_pattern=mx59\./,
      'fits socketmap',
    );
    assert.equal(w.fetcher.fetches.length, Object.keys(POLICIES).length, 'every answer after priming came from the cache');
  });

  it('gives nothing for keys that are not plain policy domains, even when their domain is cached', async () => {
    const w = world();
    await w.prime();
    for (const key of [
      'ENF.example',
      'Enf.Example',
      'enf.example.',
      '[enf.example]:25',
      '[enf.example]',
      'enf.example:25',
      'xn--bcher-kva.example',
      'bücher.example',
      '.enf.example',
      ' enf.example',
      'enf\uFFFD.example',
    ]) {
      await fullPathOnly(socketmapAdapter, { mapName: 'postfix', key }, w.ctx());
    }
    // The full path answers them as before.
    assert.equal(
      await fullPathOnly(socketmapAdapter, { mapName: 'nosni', key: 'ENF.example.' }, w.ctx()),
      ns('OK secure match=mx1.enf.example:.enf.example'),
    );
    assert.equal(
      await fullPathOnly(socketmapAdapter, { mapName: 'nosni', key: 'xn--bcher-kva.example' }, w.ctx()),
      ns('OK secure match=mx.xn--bcher-kva.example'),
    );
  });

  it('gives nothing for an uncached domain, an empty map name or key, and after expiry of grace', async () => {
    const w = world();
    assert.equal(socketmapAdapter.answerNow?.({ mapName: 'postfix', key: 'enf.example' }, w.ctx()), undefined, 'not cached yet');
    await w.prime();
    await fullPathOnly(socketmapAdapter, { mapName: 'postfix', key: 'unknown.example' }, w.ctx());
    assert.equal(await fullPathOnly(socketmapAdapter, { mapName: '', key: 'enf.example' }, w.ctx()), ns('PERM missing map name'));
    assert.equal(await fullPathOnly(socketmapAdapter, { mapName: 'postfix', key: '' }, w.ctx()), ns('PERM missing key'));
    w.clock.advance(60_000);
    assert.equal(
      socketmapAdapter.answerNow?.({ mapName: 'postfix', key: 'enf.example' }, w.ctx()),
      undefined,
      'grace over: DNS is asked first',
    );
    const queries = w.dns.queries.length;
    await socketmapAdapter.handle({ mapName: 'postfix', key: 'enf.example' }, w.ctx());
    assert.equal(w.dns.queries.length, queries + 1, 'the full path checked the TXT record');
    await sameBytes(socketmapAdapter, { mapName: 'postfix', key: 'enf.example' }, w.ctx());
  });
});

describe('tcp_table warm path', () => {
  it('matches handle() byte for byte in every listener zone', async () => {
    const w = world();
    await w.prime();
    for (const listenerZone of [undefined, ...Object.keys(ZONES)]) {
      for (const key of WARM_DOMAINS) await sameBytes(tcpTableAdapter, { kind: 'get', key }, w.ctx(listenerZone));
    }
    assert.equal(
      await sameBytes(tcpTableAdapter, { kind: 'get', key: 'enf.example' }, w.ctx('nosni')),
      '200 secure%20match=mx1.enf.example:.enf.example\n',
    );
    assert.equal(await sameBytes(tcpTableAdapter, { kind: 'get', key: 'test.example' }, w.ctx()), '500 no%20MTA-STS%20policy\n');
    assert.match(
      await sameBytes(tcpTableAdapter, { kind: 'get', key: 'test.example' }, w.ctx('strict')),
      /^200 secure%20match=mx\.test\.example/,
    );
  });

  it('leaves to the full path a TLSRPT answer too large for tcp_table (it logs the fall-back)', async () => {
    const w = world();
    await w.prime();
    const req: TcpTableRequest = { kind: 'get', key: 'big.example' };
    const full = await fullPathOnly(tcpTableAdapter, req, w.ctx('tlsrpt'));
    assert.match(full, /^200 secure%20match=mx0\./);
    assert.ok(!full.includes('policy_type'), 'the plain form');
    assert.ok(w.lines.some((l) => l['level'] === 'warn' && String(l['message']).includes('too large with TLSRPT')));
    // Without TLSRPT the same policy fits and is answered warm.
    await sameBytes(tcpTableAdapter, req, w.ctx('postfix'));
  });

  it('gives nothing for invalid requests and keys that are not plain policy domains', async () => {
    const w = world();
    await w.prime();
    await fullPathOnly(tcpTableAdapter, { kind: 'invalid', code: 'ETCPTABLE_BAD_COMMAND', detail: 'x' }, w.ctx());
    for (const key of ['ENF.EXAMPLE', 'enf.example.', '[enf.example]:25', 'xn--bcher-kva.example', 'unknown.example', '']) {
      await fullPathOnly(tcpTableAdapter, { kind: 'get', key }, w.ctx());
    }
  });
});

describe('exim warm path', () => {
  it('matches handle() byte for byte, zone from the request or the listener', async () => {
    const w = world();
    await w.prime();
    for (const zoneName of [undefined, ...Object.keys(ZONES)]) {
      for (const domain of WARM_DOMAINS) {
        const inRequest: EximRequest = { kind: 'lookup', domain, ...(zoneName !== undefined ? { zone: zoneName } : {}) };
        await sameBytes(eximAdapter, inRequest, w.ctx());
        await sameBytes(eximAdapter, { kind: 'lookup', domain }, w.ctx(zoneName));
      }
    }
    assert.equal(
      await sameBytes(eximAdapter, { kind: 'lookup', domain: 'enf.example' }, w.ctx()),
      'enforce (?i)^(?:mx1\\.enf\\.example|[^.]+\\.enf\\.example)$ mx1.enf.example:*.enf.example\n',
    );
    assert.equal(
      await sameBytes(eximAdapter, { kind: 'lookup', domain: 'test.example' }, w.ctx()),
      'testing (?i)^(?:mx\\.test\\.example)$ mx.test.example\n',
    );
    assert.match(await sameBytes(eximAdapter, { kind: 'lookup', zone: 'strict', domain: 'test.example' }, w.ctx()), /^enforce /);
    assert.equal(await sameBytes(eximAdapter, { kind: 'lookup', domain: 'none.example' }, w.ctx()), 'none\n');
    assert.equal(await sameBytes(eximAdapter, { kind: 'lookup', domain: 'nosts.example' }, w.ctx()), 'none\n');
  });

  it('gives nothing for invalid requests, non-plain keys and uncached domains', async () => {
    const w = world();
    await w.prime();
    await fullPathOnly(eximAdapter, { kind: 'invalid', detail: 'empty request' }, w.ctx());
    for (const domain of ['ENF.example', 'enf.example.', '[192.0.2.1]', 'xn--bcher-kva.example', 'bücher.example', 'unknown.example']) {
      await fullPathOnly(eximAdapter, { kind: 'lookup', domain }, w.ctx());
    }
    assert.match(await fullPathOnly(eximAdapter, { kind: 'lookup', domain: 'ENF.example.' }, w.ctx()), /^enforce /);
  });
});

/**
 * A lookup service that answers every lookup (warm or not) with one scripted result: for answers
 * a real policy cannot produce (the policy parser refuses unusable mx patterns).
 */
function scriptedService(resolution: Resolution, z: ZoneConfig, zoneName = 'postfix'): LookupService {
  const res: LookupResult = result(resolution, z, zoneName);
  return {
    zone: () => ({ name: zoneName, zone: z }),
    lookup: async () => res,
    cachedAnswer: <T>(_d: string, _z: string | undefined, format: AnswerFormatter<T>): T | undefined => format(res),
  };
}

describe('warm formatters on answers the parser cannot produce', () => {
  const unusable = policyResolution('bad.example', policy('enforce', ['under_score.example', '*.']));
  const dnsError: Resolution = { kind: 'dns-error', domain: 'err.example', code: 'ESERVFAIL', detail: 'servfail' };
  for (const [name, resolution, z] of [
    ['an enforce policy without a usable mx pattern', unusable, baseZone],
    ['a DNS error in a dns_error: temp zone', dnsError, zone({ dnsErrorAnswer: 'temp' })],
  ] as const) {
    it(`${name}: temp/defer, byte for byte the full path`, async () => {
      const { log } = memoryLogger();
      const key = resolution.domain;
      const ctx: HandlerContext = { lookup: scriptedService(resolution, z), log };
      assert.match(await sameBytes(socketmapAdapter, { mapName: 'postfix', key } satisfies SocketmapRequest, ctx), /^\d+:TEMP /);
      assert.match(await sameBytes(tcpTableAdapter, { kind: 'get', key }, ctx), /^400 /);
      assert.match(await sameBytes(eximAdapter, { kind: 'lookup', domain: key }, ctx), /^defer /);
    });
  }

  it('the formatters are pure: the same result gives the same string', () => {
    const r = result(policyResolution('enf.example', policy('enforce', ['mx.enf.example'])));
    for (const f of [socketmapWarmReply, tcpTableWarmReply, eximWarmReply]) assert.equal(f(r), f(r));
  });
});

describe('answers kept with the cached policy', () => {
  it('the formatter runs once for 1,000 warm lookups of one domain in one zone', async () => {
    const w = world();
    await w.prime();
    const cachedAnswer = w.service.cachedAnswer;
    assert.ok(cachedAnswer !== undefined);
    let calls = 0;
    const counting: AnswerFormatter<string | undefined> = (r) => {
      calls += 1;
      return socketmapWarmReply(r);
    };
    const first = cachedAnswer('enf.example', 'postfix', counting);
    assert.equal(typeof first, 'string');
    for (let i = 0; i < 1000; i++) assert.equal(cachedAnswer('enf.example', 'postfix', counting), first);
    assert.equal(calls, 1);
    // Another zone is another answer, made once too.
    const other = cachedAnswer('enf.example', 'nosni', counting);
    assert.notEqual(other, first);
    for (let i = 0; i < 10; i++) cachedAnswer('enf.example', 'nosni', counting);
    assert.equal(calls, 2);
    // Unknown map names share the default zone's answer.
    cachedAnswer('enf.example', 'unknown-1', counting);
    cachedAnswer('enf.example', 'unknown-2', counting);
    cachedAnswer('enf.example', undefined, counting);
    assert.equal(calls, 3);
  });

  it('a new lookup service (a reload: new zone objects) answers with the new zone settings', async () => {
    const w = world();
    await w.prime();
    const req: SocketmapRequest = { mapName: 'postfix', key: 'enf.example' };
    const before = socketmapAdapter.answerNow?.(req, w.ctx());
    assert.equal(before, ns('OK secure match=mx1.enf.example:.enf.example servername=hostname'));
    const reloaded = createLookupService(w.resolver, config({ ...ZONES, postfix: zone({ requireSni: false, tlsrpt: false }) }), w.log, {
      summaryIntervalMs: 0,
    });
    const ctx: HandlerContext = { lookup: reloaded, log: w.log };
    assert.equal(await sameBytes(socketmapAdapter, req, ctx), ns('OK secure match=mx1.enf.example:.enf.example'));
    assert.equal(socketmapAdapter.answerNow?.(req, w.ctx()), before, 'the old service keeps its own answer');
    // Equal settings in new objects are not trusted to be the same: the answer is made again.
    const same = createLookupService(w.resolver, config({ ...ZONES }), w.log, { summaryIntervalMs: 0 });
    let calls = 0;
    const counting: AnswerFormatter<string | undefined> = (r) => {
      calls += 1;
      return socketmapWarmReply(r);
    };
    w.service.cachedAnswer?.('enf.example', 'postfix', counting);
    same.cachedAnswer?.('enf.example', 'postfix', counting);
    assert.equal(calls, 2);
  });
});

class FakeWarm implements WarmService {
  readonly calls: Array<[string, string | undefined]> = [];
  enqueue(domain: string, zoneName?: string): WarmOutcome {
    this.calls.push([domain, zoneName]);
    return 'queued';
  }
}

describe('policy delegation warm path', () => {
  const rcpt = (recipient: string, extra: Partial<PolicyRequest> = {}): PolicyRequest => ({
    request: 'smtpd_access_policy',
    protocolState: 'RCPT',
    recipient,
    ...extra,
  });

  it('answerNow gives the DUNNO bytes at once and enqueues exactly like handle()', async () => {
    const { log } = memoryLogger();
    const viaNow = new FakeWarm();
    const viaHandle = new FakeWarm();
    const noLookup: LookupService = { lookup: () => Promise.reject(new Error('never in line')), zone: () => assert.fail('no zone') };
    const ctxNow: HandlerContext = { lookup: noLookup, log, warm: viaNow, listenerZone: 'strict' };
    const ctxHandle: HandlerContext = { lookup: noLookup, log, warm: viaHandle, listenerZone: 'strict' };
    const requests = [
      rcpt('bob@Enforce.test'),
      rcpt('a@b.test', { protocolState: 'MAIL' }),
      rcpt('x@[192.0.2.1]'),
      rcpt('c@d.test', { request: 'junk' }),
      rcpt('e@bücher.test'),
    ];
    for (const req of requests) {
      const now = policyDelegationAdapter.answerNow?.(req, ctxNow);
      assert.ok(now !== undefined, 'always answered at once');
      const full = await policyDelegationAdapter.handle(req, ctxHandle);
      assert.deepEqual(Buffer.from(typeof now === 'string' ? Buffer.from(now, 'utf8') : now), Buffer.from(full));
      assert.equal(Buffer.from(full).toString('latin1'), 'action=DUNNO\n\n');
    }
    assert.deepEqual(viaNow.calls, [
      ['enforce.test', 'strict'],
      ['xn--bcher-kva.test', 'strict'],
    ]);
    assert.deepEqual(viaNow.calls, viaHandle.calls);
  });
});
