/**
 * The Metrics port on prom-client: one registry per daemon, every name prefixed
 * `mta_sts_bridge_`. Hot path: a lookup costs one Map look-up of its cached child (per label
 * combination), an addition and a histogram bucket increment on plain numbers; they reach
 * prom-client only when /metrics is scraped (prom-client's own child `inc` and `observe` hash
 * their labels on every call, about 0.8 µs together: bench/metrics-overhead.ts). Gauges and
 * counters the core already keeps (cache entries, backend errors, warm-up queue) are read
 * lazily too. docs/operations.md, "Metrics and health", lists every metric.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import type { ResolutionSource } from '../resolver/types.js';
import type { DaneLookupOutcome, DaneResolverState, LookupOrigin, LookupOutcome, Metrics, RefreshResult } from './types.js';

export const METRICS_PREFIX = 'mta_sts_bridge_';

/** Seconds: a cached answer takes well under a millisecond, a fetch up to the zone timeout (10 s by default). */
export const LOOKUP_DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] as const;

/** Distinct error codes kept per metric; any further one is counted as `EOTHER` (bounded cardinality). */
export const MAX_CODES_PER_METRIC = 64;
const CODE = /^E[A-Z0-9_]{1,48}$/;

/** Values the daemon already counts, read at scrape time. Each is optional: absent, the metric stays 0. */
export interface MetricSources {
  /** Policies held in the memory cache (undefined: the cache cannot count cheaply). */
  readonly cacheEntries?: () => number | undefined;
  /** Cache backend operations that failed since start (monotonic). */
  readonly cacheBackendErrors?: () => number;
  /** Domains waiting in the warm-up queue. */
  readonly warmQueueLength?: () => number;
  /** Domains dropped because the warm-up queue was full, since start (monotonic). */
  readonly warmDropped?: () => number;
}

/** One label combination of the lookup counter, counted on a plain number. */
interface LookupChild {
  readonly labels: { readonly protocol: string; readonly zone: string; readonly outcome: string; readonly source: string };
  value: number;
}

/** One label combination of the duration histogram: per-bucket (not cumulative) counts, the last for +Inf. */
interface DurationChild {
  readonly labels: { readonly protocol: string; readonly source: string };
  readonly buckets: Float64Array;
  sum: number;
  count: number;
}

export class PrometheusMetrics implements Metrics {
  readonly registry = new Registry();
  private sources: MetricSources = {};
  private readonly lookupChildren = new Map<string, LookupChild>();
  private readonly durationChildren = new Map<string, DurationChild>();
  private readonly fetches: Counter<'result' | 'code'>;
  private readonly refreshes: Counter<'result' | 'code'>;
  private readonly dnsErrors: Counter<'code'>;
  private readonly localFaults: Counter<'code'>;
  private readonly daneLookups: Counter<'outcome'>;
  private readonly daneResolverGauge: Gauge;
  private readonly codesSeen = new Map<string, Set<string>>();

  constructor(options: { readonly defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    const sources = (): MetricSources => this.sources;
    const lookupChildren = this.lookupChildren;
    new Counter({
      name: `${METRICS_PREFIX}lookups_total`,
      help: 'Lookups answered, by protocol (warm: background warm-ups), zone, outcome (policy, no-policy, dns-error; with DANE on: dane, dane-temp) and source.',
      labelNames: ['protocol', 'zone', 'outcome', 'source'],
      registers,
      collect(): void {
        this.reset();
        for (const child of lookupChildren.values()) this.inc(child.labels, child.value);
      },
    });
    this.registry.registerMetric(durationHistogram(this.durationChildren));
    this.fetches = new Counter({
      name: `${METRICS_PREFIX}policy_fetches_total`,
      help: 'HTTPS policy fetches (lookups and refreshes), by result (ok, error) and error code.',
      labelNames: ['result', 'code'],
      registers,
    });
    this.refreshes = new Counter({
      name: `${METRICS_PREFIX}refreshes_total`,
      help: 'Proactive refreshes of cached policies, by result (refreshed, failed, backoff, not-cached, error) and error code.',
      labelNames: ['result', 'code'],
      registers,
    });
    this.dnsErrors = new Counter({
      name: `${METRICS_PREFIX}dns_errors_total`,
      help: 'DNS errors of MTA-STS TXT lookups, by code (ETIMEOUT, ESERVFAIL, ...).',
      labelNames: ['code'],
      registers,
    });
    this.localFaults = new Counter({
      name: `${METRICS_PREFIX}local_faults_total`,
      help: 'Faults of this host (not of the destination), by code.',
      labelNames: ['code'],
      registers,
    });
    this.daneLookups = new Counter({
      name: `${METRICS_PREFIX}dane_lookups_total`,
      help: 'DANE lookups made (zones with dane: true), by outcome (dane, mixed, absent, unsigned, servfail, timeout, local-fault).',
      labelNames: ['outcome'],
      registers,
    });
    this.daneResolverGauge = new Gauge({
      name: `${METRICS_PREFIX}dane_resolver_validating`,
      help: 'The DNSSEC resolver start-up probe: 1 validating (AD set), 0 answering without AD (DANE never applies), -1 probe failed; absent until probed.',
      registers,
    });
    new Gauge({
      name: `${METRICS_PREFIX}cache_entries`,
      help: 'Policies held in the in-process memory cache (all of them for type internal; the most recently used for persistent backends).',
      registers,
      collect(): void {
        const n = sources().cacheEntries?.();
        this.set(n ?? 0);
      },
    });
    new Counter({
      name: `${METRICS_PREFIX}cache_backend_errors_total`,
      help: 'Cache backend operations (and recovery probes) that failed since start.',
      registers,
      collect(): void {
        setCounter(this, sources().cacheBackendErrors?.() ?? 0);
      },
    });
    new Gauge({
      name: `${METRICS_PREFIX}warm_queue_length`,
      help: 'Domains waiting in the policy-delegation warm-up queue.',
      registers,
      collect(): void {
        this.set(sources().warmQueueLength?.() ?? 0);
      },
    });
    new Counter({
      name: `${METRICS_PREFIX}warm_dropped_total`,
      help: 'Domains not warmed up because the warm-up queue was full (policy_delegation.queue_size).',
      registers,
      collect(): void {
        setCounter(this, sources().warmDropped?.() ?? 0);
      },
    });
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: METRICS_PREFIX });
  }

  /** Adds (or replaces) the values read at scrape time. */
  watch(sources: MetricSources): void {
    this.sources = { ...this.sources, ...sources };
  }

  /** The Prometheus text exposition of every metric. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  lookupAnswered(protocol: LookupOrigin, zone: string, outcome: LookupOutcome, source: ResolutionSource, seconds: number): void {
    const key = `${protocol}\0${zone}\0${outcome}\0${source}`;
    let counter = this.lookupChildren.get(key);
    if (counter === undefined) {
      counter = { labels: { protocol, zone, outcome, source }, value: 0 };
      this.lookupChildren.set(key, counter);
    }
    counter.value += 1;
    const hKey = `${protocol}\0${source}`;
    let histogram = this.durationChildren.get(hKey);
    if (histogram === undefined) {
      histogram = { labels: { protocol, source }, buckets: new Float64Array(LOOKUP_DURATION_BUCKETS.length + 1), sum: 0, count: 0 };
      this.durationChildren.set(hKey, histogram);
    }
    let i = 0;
    while (i < LOOKUP_DURATION_BUCKETS.length && seconds > (LOOKUP_DURATION_BUCKETS[i] as number)) i += 1;
    (histogram.buckets[i] as number) += 1;
    histogram.sum += seconds;
    histogram.count += 1;
  }

  policyFetched(code: string | undefined): void {
    if (code === undefined) this.fetches.inc({ result: 'ok', code: '' });
    else this.fetches.inc({ result: 'error', code: this.bounded('fetch', code) });
  }

  refreshed(result: RefreshResult, code: string | undefined): void {
    this.refreshes.inc({ result, code: code === undefined ? '' : this.bounded('refresh', code) });
  }

  dnsError(code: string): void {
    this.dnsErrors.inc({ code: this.bounded('dns', code) });
  }

  localFault(code: string): void {
    this.localFaults.inc({ code: this.bounded('local', code) });
  }

  daneLookup(outcome: DaneLookupOutcome): void {
    this.daneLookups.inc({ outcome });
  }

  daneResolver(state: DaneResolverState): void {
    switch (state) {
      case 'validating':
        this.daneResolverGauge.set(1);
        break;
      case 'no-ad':
        this.daneResolverGauge.set(0);
        break;
      case 'failed':
        this.daneResolverGauge.set(-1);
        break;
      default: {
        const _never: never = state;
        return _never;
      }
    }
  }

  /** `code` when it looks like one of our codes and the metric has room for it; `EOTHER` otherwise. */
  private bounded(metric: string, code: string): string {
    if (!CODE.test(code)) return 'EOTHER';
    let seen = this.codesSeen.get(metric);
    if (seen === undefined) {
      seen = new Set();
      this.codesSeen.set(metric, seen);
    }
    if (seen.has(code)) return code;
    if (seen.size >= MAX_CODES_PER_METRIC) return 'EOTHER';
    seen.add(code);
    return code;
  }
}

/**
 * `mta_sts_bridge_lookup_duration_seconds` as prom-client's registry reads a metric (`get()`),
 * built from the plain counts at scrape time, in the shape and label order of its Histogram.
 */
function durationHistogram(children: ReadonlyMap<string, DurationChild>): Metric {
  const name = `${METRICS_PREFIX}lookup_duration_seconds`;
  const help = 'Time to answer a lookup, by protocol and source (cache, fetched, stale, negative-cache, lookup).';
  const bounds = [...LOOKUP_DURATION_BUCKETS.map(String), '+Inf'];
  const get = async (): Promise<unknown> => {
    const values: Array<{ labels: Record<string, string>; value: number; metricName: string }> = [];
    for (const child of children.values()) {
      let cumulative = 0;
      bounds.forEach((le, i) => {
        cumulative += child.buckets[i] as number;
        values.push({ labels: { le, ...child.labels }, value: cumulative, metricName: `${name}_bucket` });
      });
      values.push({ labels: { ...child.labels }, value: child.sum, metricName: `${name}_sum` });
      values.push({ labels: { ...child.labels }, value: child.count, metricName: `${name}_count` });
    }
    return { name, help, type: 'histogram', values, aggregator: 'sum' };
  };
  const reset = (): void => {
    for (const child of children.values()) {
      child.buckets.fill(0);
      child.sum = 0;
      child.count = 0;
    }
  };
  return { name, help, type: 'histogram', aggregator: 'sum', get, reset } as unknown as Metric;
}

/** Sets an unlabelled counter to a total kept elsewhere (monotonic by contract). */
function setCounter(counter: Counter, total: number): void {
  counter.reset();
  if (total > 0) counter.inc(total);
}
