/**
 * The resolver stack, built in one place for `serve`, `generate` and `query`: the system DNS,
 * the HTTPS policy fetcher, over a cache (optional) the resolver, and the DANE side's DNSSEC
 * client when a zone asks for DANE. `query` passes no cache: it is cache-less by design and
 * walks the steps itself with the DNS and the fetcher. The daemon builds its DANE service
 * (src/dane/service.ts) on the DNSSEC client, and a reload that changes zones asks `daneClient`
 * again.
 *
 * The DANE modules are imported only when a zone enables DANE.
 */
import type { Logger } from 'winston';
import type { PolicyCache } from '../src/cache/types.js';
import type { Clock } from '../src/clock.js';
import type { ZoneConfig } from '../src/config/types.js';
import type { ResolverAddress } from '../src/dane/resolver-address.js';
import type { DnssecDns } from '../src/dane/types.js';
import { createSystemDns } from '../src/resolver/dns.js';
import { createLazyHttpsFetcher } from '../src/resolver/lazy-fetcher.js';
import { createWorkerFetcher, type WorkerPolicyFetcher } from '../src/resolver/worker-fetcher.js';
import { Resolver, type ResolverDeps } from '../src/resolver/resolver.js';
import type { DnsPort, PolicyFetcher } from '../src/resolver/types.js';

/** The resolver's settings besides its parts (ResolverDeps): cache grace, negative cache, metrics. */
export type ResolverTuning = Omit<ResolverDeps, 'cache' | 'dns' | 'fetcher' | 'clock' | 'log'>;

/** `generate`'s resolver, tuned for a batch: check every TXT id (cache_grace 0), no negative cache. */
export const BATCH_TUNING: ResolverTuning = { cacheGraceSec: 0, negativeCacheTtlSec: 0, negativeCacheSize: 1 };

export interface ResolverStackOptions {
  readonly clock: Clock;
  /** Seams (tests, benchmarks): default the system resolver and the real HTTPS fetcher. */
  readonly dns?: DnsPort | undefined;
  readonly fetcher?: PolicyFetcher | undefined;
  /**
   * Where the default fetcher runs TLS and HTTP. 'worker' (the daemon): in a worker thread
   * started at the first fetch (src/resolver/worker-fetcher.ts), so a storm of new domains does
   * not delay cached answers; the stack's `close()` stops it. 'main' (default: `query`,
   * `generate`): on the main thread. Either way node:https is loaded only at the first fetch.
   */
  readonly fetchIn?: 'worker' | 'main' | undefined;
  /** With a cache, a resolver over it (logging to `log`); without, DNS and fetcher only (`query`). */
  readonly cache?: { readonly cache: PolicyCache; readonly tuning: ResolverTuning; readonly log: Logger } | undefined;
  /** The zones in use and the configured DNSSEC resolver (`dns.resolver`): decide the DANE side. */
  readonly dane?: DaneClientOptions | undefined;
}

export interface DaneClientOptions {
  readonly zones: readonly ZoneConfig[];
  /** `dns.resolver`; default: the first nameserver of /etc/resolv.conf. */
  readonly resolver: ResolverAddress | undefined;
  /** Seam (tests): the DNSSEC client to use instead of one on the resolver. */
  readonly dnssec?: DnssecDns | undefined;
}

/** The DANE side's client and the resolver it asks. */
export interface DaneClient {
  readonly dns: DnssecDns;
  readonly resolver: ResolverAddress;
}

export interface ResolverStack<R extends Resolver | undefined> {
  readonly dns: DnsPort;
  readonly fetcher: PolicyFetcher;
  readonly resolver: R;
  /** Present when a zone enables DANE. */
  readonly dane: DaneClient | undefined;
  /** Stops what the stack started (the fetch worker); the cache is the caller's. */
  close(): Promise<void>;
}

export async function buildResolverStack(
  options: ResolverStackOptions & { readonly cache: NonNullable<ResolverStackOptions['cache']> },
): Promise<ResolverStack<Resolver>>;
export async function buildResolverStack(options: ResolverStackOptions & { readonly cache?: undefined }): Promise<ResolverStack<undefined>>;
export async function buildResolverStack(options: ResolverStackOptions): Promise<ResolverStack<Resolver | undefined>> {
  const dns = options.dns ?? createSystemDns();
  // With the system resolver, the fetch worker resolves policy hosts with its own (equal) one.
  let worker: WorkerPolicyFetcher | undefined;
  const fetcher =
    options.fetcher ??
    (options.fetchIn === 'worker'
      ? (worker = createWorkerFetcher(dns, options.dns === undefined ? { systemDns: {} } : {}))
      : createLazyHttpsFetcher(dns));
  const { clock } = options;
  const c = options.cache;
  const resolver = c === undefined ? undefined : new Resolver(resolverDeps(c.tuning, { cache: c.cache, dns, fetcher, clock, log: c.log }));
  const dane = options.dane === undefined ? undefined : await daneClient(options.dane);
  return { dns, fetcher, resolver, dane, close: async () => worker?.close() };
}

/** The tuning's getters are kept, not copied: the daemon's cache_grace follows a reload. */
function resolverDeps(tuning: ResolverTuning, parts: Pick<ResolverDeps, 'cache' | 'dns' | 'fetcher' | 'clock' | 'log'>): ResolverDeps {
  return Object.assign(Object.create(tuning) as ResolverTuning, parts);
}

/** The DNSSEC client of the DANE side, when one of `zones` enables DANE (docs/dane.md); else undefined. */
export async function daneClient(options: DaneClientOptions): Promise<DaneClient | undefined> {
  if (!options.zones.some((z) => z.dane?.enabled === true)) return undefined;
  const { systemResolverAddress } = await import('../src/dane/resolver-address.js');
  const resolver = options.resolver ?? systemResolverAddress();
  if (options.dnssec !== undefined) return { dns: options.dnssec, resolver };
  const { createDnssecDns } = await import('../src/dane/dnssec-client.js');
  return { dns: createDnssecDns(resolver), resolver };
}
