/**
 * An in-memory internet for the benchmark: every benchmark domain publishes an `enforce`
 * MTA-STS policy, and every DNS query or policy fetch is counted, so the benchmark can show
 * that the measured (warm) phase never reached the "network".
 */
import type { DnsPort, FetchResult, PolicyFetcher, TxtAnswer } from '../src/resolver/types.js';

/** RFC 8461 §3.2 caps max_age at 31557600 s; one week is what real domains commonly publish. */
const BENCH_MAX_AGE_SEC = 604_800;

/** Benchmark domain number `i`: `d0042.bench.example` (RFC 2606 reserves `.example`). */
export function benchDomain(i: number): string {
  return `d${String(i).padStart(4, '0')}.bench.example`;
}

/** Every DNS query and fetch made so far. */
export interface NetworkCounts {
  readonly txtQueries: number;
  readonly addressLookups: number;
  readonly fetches: number;
}

/** The policy file a benchmark domain serves: enforce, two MX patterns (one wildcard). */
export function benchPolicyText(domain: string): string {
  return ['version: STSv1', 'mode: enforce', `mx: mx1.${domain}`, `mx: *.mx.${domain}`, `max_age: ${BENCH_MAX_AGE_SEC}`, ''].join('\r\n');
}

export class CountingNetwork implements DnsPort, PolicyFetcher {
  private txt = 0;
  private addresses = 0;
  private fetchCount = 0;
  private readonly domains: ReadonlySet<string>;

  constructor(domains: readonly string[]) {
    this.domains = new Set(domains);
  }

  counts(): NetworkCounts {
    return { txtQueries: this.txt, addressLookups: this.addresses, fetches: this.fetchCount };
  }

  async resolveTxt(name: string): Promise<TxtAnswer> {
    this.txt += 1;
    const domain = name.startsWith('_mta-sts.') ? name.slice('_mta-sts.'.length) : '';
    if (!this.domains.has(domain)) return { kind: 'nxdomain' };
    return { kind: 'records', records: [['v=STSv1; id=20240101T000000']] };
  }

  async lookupAddresses(): Promise<ReadonlyArray<{ address: string; family: 4 | 6 }>> {
    this.addresses += 1;
    return [{ address: '127.0.0.1', family: 4 }];
  }

  async fetch(policyDomain: string): Promise<FetchResult> {
    this.fetchCount += 1;
    const url = `https://mta-sts.${policyDomain}/.well-known/mta-sts.txt`;
    if (!this.domains.has(policyDomain)) {
      return { kind: 'error', url, code: 'EFETCH_DNS', message: 'no such host', timings: { totalMs: 0 } };
    }
    return {
      kind: 'ok',
      url,
      status: 200,
      contentType: 'text/plain',
      body: benchPolicyText(policyDomain),
      certificate: undefined,
      timings: { totalMs: 0 },
    };
  }
}
