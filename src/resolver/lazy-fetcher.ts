/**
 * The production PolicyFetcher, loaded at its first fetch. `node:https` and `node:tls` with the
 * fetcher's secure context cost the daemon about 3-4 MB of RSS and ~15 ms at start
 * (docs/benchmarks.md), and a daemon whose policies are all cached (or that is only asked for
 * domains it knows) may not fetch for hours. Concurrent first fetches share one import.
 *
 * If the import fails (files replaced or made unreadable under a running daemon), the fetch is
 * answered as a local fault (ELOCAL_FAULT: this host's problem, not the policy host's) and the
 * next fetch tries again.
 */
import type { HttpsFetcherOptions } from './https-fetcher.js';
import { policyUrl } from './policy-url.js';
import type { DnsPort, FetchResult, PolicyFetcher } from './types.js';

export function createLazyHttpsFetcher(
  dns: DnsPort,
  options: HttpsFetcherOptions = {},
  load: () => Promise<PolicyFetcher> = () => loadHttpsFetcher(dns, options),
): PolicyFetcher {
  let loading: Promise<PolicyFetcher> | undefined;
  return {
    async fetch(policyDomain: string, timeoutMs: number): Promise<FetchResult> {
      let fetcher: PolicyFetcher;
      try {
        fetcher = await (loading ??= load());
      } catch (err) {
        loading = undefined;
        return {
          kind: 'error',
          url: policyUrl(policyDomain, options.port),
          code: 'ELOCAL_FAULT',
          message: `cannot load the HTTPS fetcher: ${(err as Error).message}`,
          timings: { totalMs: 0 },
        };
      }
      return fetcher.fetch(policyDomain, timeoutMs);
    },
  };
}

async function loadHttpsFetcher(dns: DnsPort, options: HttpsFetcherOptions): Promise<PolicyFetcher> {
  const { createHttpsFetcher } = await import('./https-fetcher.js');
  return createHttpsFetcher(dns, options);
}
