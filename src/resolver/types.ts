/**
 * Ports of the resolver core: the DNS and HTTPS seams it is given, and the outcome it returns.
 * Outcomes are values handled with exhaustive switches; nothing expected is thrown.
 */
import type { StsPolicy, StsRecord, ParseProblem } from '../policy/types.js';

/** Answer of one TXT query, as the DNS seam reports it. */
export type TxtAnswer =
  | { readonly kind: 'records'; readonly records: ReadonlyArray<readonly string[]> }
  /** NXDOMAIN or NODATA: the name has no TXT record. */
  | { readonly kind: 'nxdomain' | 'nodata' }
  /** SERVFAIL, REFUSED, timeout, network trouble: a DNS error, not "no record". */
  | { readonly kind: 'error'; readonly code: string; readonly message: string };

/** The DNS seam: TXT lookups and the address lookup used to reach the policy host. */
export interface DnsPort {
  resolveTxt(name: string, timeoutMs: number): Promise<TxtAnswer>;
  /**
   * Address lookup in the shape of `net.LookupFunction`'s callback data, used as the
   * `lookup` of the HTTPS request so the policy host is resolved by the same resolver.
   */
  lookupAddresses(host: string, timeoutMs: number): Promise<ReadonlyArray<{ address: string; family: 4 | 6 }>>;
}

/** What the discovery step found (RFC 8461 §3.1). */
export type Discovery =
  | { readonly kind: 'record'; readonly record: StsRecord; readonly strings: ReadonlyArray<readonly string[]> }
  | {
      readonly kind: 'none';
      readonly reason: 'nxdomain' | 'nodata' | 'no-sts-record' | 'multiple-sts-records' | 'invalid-sts-record';
      readonly strings: ReadonlyArray<readonly string[]>;
      readonly problems: readonly ParseProblem[];
    }
  | { readonly kind: 'error'; readonly code: string; readonly message: string };

/** Certificate facts recorded by the fetcher, shown by `query`. */
export interface CertificateInfo {
  readonly subject: string;
  readonly issuer: string;
  readonly subjectAltName: string;
  readonly validFrom: string;
  readonly validTo: string;
  readonly fingerprint256: string;
}

/** Stable codes of a failed policy fetch (docs/errors.md lists them). */
export type FetchErrorCode =
  | 'EFETCH_DNS' // the policy host did not resolve
  | 'EFETCH_CONNECT' // TCP connection failed or was refused
  | 'EFETCH_TLS' // handshake failed (protocol, untrusted chain, expired, ...)
  | 'EFETCH_CERT_NAME' // certificate not valid for mta-sts.<domain>
  | 'EFETCH_STATUS' // status other than 200 (redirects included)
  | 'EFETCH_CONTENT_TYPE' // media type is not text/plain
  | 'EFETCH_TOO_LARGE' // body larger than 64 KiB
  | 'EFETCH_TIMEOUT' // the total deadline passed
  | 'EFETCH_PROTOCOL' // malformed HTTP or other transport error
  | 'EPOLICY_INVALID' // fetched, but the policy file does not parse
  | 'ELOCAL_FAULT'; // a resource failure of this host (EMFILE, ENFILE, ENOMEM, ENOBUFS), not the remote's fault

export interface FetchTimings {
  /** Milliseconds from start, each present when reached. */
  readonly dnsMs?: number;
  readonly connectMs?: number;
  readonly tlsMs?: number;
  readonly firstByteMs?: number;
  readonly totalMs: number;
}

/** Result of fetching `https://mta-sts.<domain>/.well-known/mta-sts.txt` (RFC 8461 §3.3). */
export type FetchResult =
  | {
      readonly kind: 'ok';
      readonly url: string;
      readonly status: 200;
      readonly contentType: string | undefined;
      readonly body: string;
      readonly certificate: CertificateInfo | undefined;
      readonly timings: FetchTimings;
    }
  | {
      readonly kind: 'error';
      readonly url: string;
      readonly code: FetchErrorCode;
      readonly message: string;
      readonly status?: number;
      readonly contentType?: string;
      readonly certificate?: CertificateInfo;
      readonly timings: FetchTimings;
    };

/** The HTTPS seam. */
export interface PolicyFetcher {
  fetch(policyDomain: string, timeoutMs: number): Promise<FetchResult>;
}

/** Where an answer came from, for logs and `query`. */
export type ResolutionSource =
  | 'cache' // a cached entry answered (within cache_grace, or TXT id unchanged)
  | 'fetched' // the policy was fetched just now
  | 'stale' // discovery or fetch failed; an unexpired cached policy applies (RFC 8461 §3.3)
  | 'negative-cache' // remembered absence of MTA-STS
  | 'lookup'; // decided by the lookup just made (no record, error)

/** Reasons for "no policy applies", stable strings used in logs. */
export type NoPolicyReason =
  'nxdomain' | 'nodata' | 'no-sts-record' | 'multiple-sts-records' | 'invalid-sts-record' | 'fetch-failed' | 'fetch-backoff';

/** The resolver's answer for one policy domain. */
export type Resolution =
  | {
      readonly kind: 'policy';
      readonly domain: string;
      readonly id: string;
      readonly policy: StsPolicy;
      readonly source: 'cache' | 'fetched' | 'stale';
      readonly fetchedAt: number;
      readonly expiresAt: number;
      /** Why a stale policy was used, when source is 'stale'. */
      readonly reason?: string;
    }
  | {
      readonly kind: 'no-policy';
      readonly domain: string;
      readonly reason: NoPolicyReason;
      readonly source: 'negative-cache' | 'lookup';
      readonly detail?: string;
    }
  | {
      /**
       * DNS failed (SERVFAIL, timeout) and nothing usable is cached; or a local fault (see
       * `local-fault.ts`: EMFILE, c-ares' ECONNREFUSED, ELOCAL_FAULT, EINTERNAL), which the
       * verdict always answers as a temporary failure.
       */
      readonly kind: 'dns-error';
      readonly domain: string;
      readonly code: string;
      readonly detail: string;
    };
