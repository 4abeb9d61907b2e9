/**
 * Micro-benchmark of the socketmap hot path without sockets: the codec and answer functions one
 * by one, then the whole adapter (`handle`) on a stub lookup and on the real warm resolver.
 * Subtracting these from the daemon CPU per lookup of socketmap-warm.ts shows what the
 * server, sockets and event loop cost. Prints figures; asserts nothing.
 *
 *   npm run build && node dist/bench/hot-path.js [--iterations 300000]
 */
import { type Buffer } from 'node:buffer';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { MemoryPolicyCache } from '../adapters/cache/memory.js';
import { encodeNetstring } from '../adapters/protocol/netstring.js';
import { postfixAnswer } from '../adapters/protocol/postfix-answer.js';
import { parsePostfixKey } from '../adapters/protocol/postfix-key.js';
import { newSocketmapDecoder, socketmapAdapter, socketmapReply, type SocketmapRequest } from '../adapters/protocol/socketmap.js';
import { systemClock } from '../src/clock.js';
import { DEFAULT_ZONE, buildDefaultConfig } from '../src/config/defaults.js';
import type { LookupResult, LookupService } from '../src/lookup.js';
import { createLookupService } from '../src/lookup-service.js';
import { createLogger } from '../src/log/logger.js';
import { parsePolicyFile } from '../src/policy/policy-file.js';
import type { HandlerContext } from '../src/protocol/types.js';
import { Resolver } from '../src/resolver/resolver.js';
import { CountingNetwork, benchDomain, benchPolicyText } from './fake-network.js';
import { forceGc, startHeapMeter } from './heap-meter.js';
import { guardLogLevels } from './guarded-logger.js';
import { fmtBytes, fmtInt, machineContext, printTable } from './report.js';

/** Domains cycled through, as in socketmap-warm.ts. */
const DOMAINS = 1000;
/** Untimed iterations before each measurement, as a fraction of the timed ones: lets the JIT settle. */
const WARMUP_FRACTION = 0.1;

interface StageResult {
  readonly name: string;
  readonly ops: number;
  readonly ns: number;
  readonly allocated: number;
}

/** Sink for results, so the optimizer cannot drop the work measured. */
let checksum = 0;

function timeSync(name: string, iterations: number, op: (i: number) => number): StageResult {
  for (let i = 0; i < Math.ceil(iterations * WARMUP_FRACTION); i += 1) checksum += op(i);
  forceGc();
  const meter = startHeapMeter();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i += 1) checksum += op(i);
  const ns = Number(process.hrtime.bigint() - t0);
  return { name, ops: iterations, ns, allocated: meter.stop().allocatedBytes };
}

async function timeAsync(name: string, iterations: number, op: (i: number) => Promise<number>): Promise<StageResult> {
  for (let i = 0; i < Math.ceil(iterations * WARMUP_FRACTION); i += 1) checksum += await op(i);
  forceGc();
  const meter = startHeapMeter();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i += 1) checksum += await op(i);
  const ns = Number(process.hrtime.bigint() - t0);
  return { name, ops: iterations, ns, allocated: meter.stop().allocatedBytes };
}

class NullSink extends Writable {
  override _write(_chunk: unknown, _enc: BufferEncoding, done: () => void): void {
    done();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { iterations: { type: 'string' } }, strict: true });
  const iterations = values.iterations !== undefined ? Number(values.iterations) : 300_000;
  if (!Number.isInteger(iterations) || iterations < 1) throw new Error('--iterations must be a positive integer');

  const domains = Array.from({ length: DOMAINS }, (_, i) => benchDomain(i));
  const wire = domains.map((d) => encodeNetstring(`postfix ${d}`));
  const requests: SocketmapRequest[] = domains.map((d) => ({ mapName: 'postfix', key: d }));
  const results: LookupResult[] = domains.map((d) => {
    const parsed = parsePolicyFile(benchPolicyText(d));
    if (!parsed.ok) throw new Error(`bench policy does not parse: ${parsed.problems.map((p) => p.code).join(',')}`);
    return {
      zoneName: 'default',
      zone: DEFAULT_ZONE,
      resolution: {
        kind: 'policy',
        domain: d,
        id: '20240101T000000',
        policy: parsed.value,
        source: 'cache',
        fetchedAt: 0,
        expiresAt: Number.MAX_SAFE_INTEGER,
        reason: 'grace',
      },
    };
  });
  const at = <T>(list: readonly T[], i: number): T => list[i % list.length] as T;

  // The production logger at the level the warm benchmark uses, writing nowhere.
  const log = createLogger({ level: 'warn', format: 'text' }, { stream: new NullSink() });
  const resultByDomain = new Map(results.map((r) => [r.resolution.domain, r]));
  const stub: LookupService = {
    zone: () => ({ name: 'default', zone: DEFAULT_ZONE }),
    lookup: async (domain) => resultByDomain.get(domain) as LookupResult,
  };
  const stubCtx: HandlerContext = { lookup: stub, log: log.child({ component: 'socketmap' }) };
  const guardedLog = guardLogLevels(createLogger({ level: 'warn', format: 'text' }, { stream: new NullSink() }));
  const guardedStubCtx: HandlerContext = { lookup: stub, log: guardedLog.child({ component: 'socketmap' }) };

  const network = new CountingNetwork(domains);
  const config = { ...buildDefaultConfig(), cacheGraceSec: 86_400 };
  const resolver = new Resolver({
    cache: new MemoryPolicyCache(DOMAINS * 2),
    dns: network,
    fetcher: network,
    clock: systemClock,
    log,
    cacheGraceSec: config.cacheGraceSec,
    negativeCacheTtlSec: config.negativeCacheTtlSec,
    negativeCacheSize: config.negativeCacheSize,
  });
  const realCtx: HandlerContext = { lookup: createLookupService(resolver, config, log), log: log.child({ component: 'socketmap' }) };
  const guardedRealCtx: HandlerContext = {
    lookup: createLookupService(resolver, config, guardedLog),
    log: guardedLog.child({ component: 'socketmap' }),
  };
  for (const r of requests) await socketmapAdapter.handle(r, realCtx); // pre-warm the cache

  console.log('mta-sts-bridge socketmap hot-path micro-benchmark');
  for (const line of machineContext()) console.log(`  ${line}`);
  console.log(
    `  ${fmtInt(iterations)} timed iterations per stage (after ${fmtInt(Math.ceil(iterations * WARMUP_FRACTION))} untimed), ${DOMAINS} domains cycled`,
  );

  const decoder = newSocketmapDecoder();
  const decodeOne = (i: number): SocketmapRequest => {
    const step = decoder.push(at(wire, i))[0];
    if (step?.kind !== 'request') throw new Error('decoder did not yield a request');
    return step.request;
  };
  const encodeAnswer = (r: LookupResult): Buffer => {
    const a = postfixAnswer(r);
    return encodeNetstring(a.kind === 'ok' ? socketmapReply.ok(a.data) : socketmapReply.notfound());
  };

  const stages: StageResult[] = [];
  stages.push(timeSync('decode netstring request', iterations, (i) => decodeOne(i).key.length));
  stages.push(
    timeSync('parsePostfixKey', iterations, (i) => {
      const k = parsePostfixKey(at(domains, i));
      return k.kind === 'domain' ? k.domain.length : 0;
    }),
  );
  stages.push(
    timeSync('postfixAnswer', iterations, (i) => {
      const a = postfixAnswer(at(results, i));
      return a.kind === 'ok' ? a.data.length : 0;
    }),
  );
  stages.push(timeSync('encode reply netstring', iterations, (i) => encodeNetstring(`OK secure match=mx1.${at(domains, i)}`).length));
  stages.push(
    timeSync('decode + key + answer + encode', iterations, (i) => {
      const req = decodeOne(i);
      const key = parsePostfixKey(req.key);
      return key.kind === 'domain' ? encodeAnswer(at(results, i)).length : 0;
    }),
  );
  stages.push(
    await timeAsync(
      'adapter.handle, stub lookup',
      iterations,
      async (i) => (await socketmapAdapter.handle(at(requests, i), stubCtx)).length,
    ),
  );
  stages.push(
    await timeAsync(
      'adapter.handle, stub lookup, guarded log',
      iterations,
      async (i) => (await socketmapAdapter.handle(at(requests, i), guardedStubCtx)).length,
    ),
  );
  stages.push(
    await timeAsync('lookup service, warm resolver', iterations, async (i) => {
      const r = await realCtx.lookup.lookup(at(domains, i), 'postfix');
      return r.resolution.kind.length;
    }),
  );
  stages.push(
    await timeAsync(
      'decode + adapter.handle, warm resolver',
      iterations,
      async (i) => (await socketmapAdapter.handle(decodeOne(i), realCtx)).length,
    ),
  );
  stages.push(
    await timeAsync(
      'decode + adapter.handle, warm, guarded log',
      iterations,
      async (i) => (await socketmapAdapter.handle(decodeOne(i), guardedRealCtx)).length,
    ),
  );

  // The warm path the daemon takes for a cached policy: decode, then the adapter's synchronous answer.
  const warmAnswer = (i: number): number => {
    const a = socketmapAdapter.answerNow?.(decodeOne(i), realCtx);
    if (a === undefined) throw new Error('no warm answer for a cached domain');
    return a.length;
  };
  stages.push(timeSync('decode + adapter.answerNow, warm resolver', iterations, warmAnswer));
  stages.push(
    timeSync(
      'adapter.answerNow alone, warm resolver',
      iterations,
      (i) => socketmapAdapter.answerNow?.(at(requests, i), realCtx)?.length ?? 0,
    ),
  );

  console.log('');
  printTable([
    ['stage', 'ops/s            ns/op    heap bytes/op'],
    ...stages.map((s): [string, string] => [
      s.name,
      `${fmtInt(s.ops / (s.ns / 1e9)).padStart(12)}  ${(s.ns / s.ops).toFixed(0).padStart(9)}  ${fmtBytes(s.allocated / s.ops).padStart(10)}`,
    ]),
  ]);
  const net = network.counts();
  console.log('\n  "guarded log": winston level methods patched to return when their level is off (bench/guarded-logger.ts)');
  console.log(`  network calls after pre-warm: ${net.txtQueries - DOMAINS} TXT, ${net.fetches - DOMAINS} fetches (expected 0)`);
  console.log(`  (checksum ${checksum}, printed so that no stage can be optimized away)`);
}

main().catch((err: unknown) => {
  console.error(`benchmark failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
