/**
 * The DNS questions `check` asks, as one port ({@link CheckDns}) and its production form on the
 * system resolver. TXT goes through the resolver's own seam (`createSystemDns`), so `check`
 * sees exactly what the daemon sees; MX and A/AAAA use c-ares the same way (a fresh `Resolver`
 * per lookup, cancelled at its deadline); TLSA, which c-ares cannot ask, goes through the
 * {@link TlsaSource} port (./tlsa-dns.ts). Answers are values: nothing expected is thrown.
 */
import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { createSystemDns, DNS_TIMEOUT_CODE, DNS_TIMEOUT_DIVISOR, DNS_TRIES, DNS_UNKNOWN_CODE } from '../resolver/dns.js';
import type { DnsPort } from '../resolver/types.js';
import type { TlsaSource } from './tlsa.js';
import { createDnsPacketTlsaSource } from './tlsa-dns.js';

/** One answer: records, a negative answer, or a DNS error with its code (c-ares' or ours). */
export type DnsAnswer<T> =
  | { readonly kind: 'records'; readonly records: readonly T[] }
  | { readonly kind: 'nxdomain' | 'nodata' }
  | { readonly kind: 'error'; readonly code: string; readonly message: string };

export interface MxRecord {
  readonly preference: number;
  /** Lower-case, without the final dot. */
  readonly exchange: string;
}

export interface Address {
  readonly address: string;
  readonly family: 4 | 6;
}

export interface CheckDns extends TlsaSource {
  /** TXT records, each the list of its strings. */
  txt(name: string, timeoutMs: number): Promise<DnsAnswer<readonly string[]>>;
  mx(name: string, timeoutMs: number): Promise<DnsAnswer<MxRecord>>;
  /** A then AAAA records; `records` when either family has some. */
  addresses(name: string, timeoutMs: number): Promise<DnsAnswer<Address>>;
}

export interface SystemCheckDnsOptions {
  /** Resolver addresses (`127.0.0.1:5353`); default: /etc/resolv.conf. */
  readonly servers?: readonly string[];
}

function codeOf(err: unknown): string {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : DNS_UNKNOWN_CODE;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The production {@link CheckDns}: the system resolver (or `servers`). */
export function createSystemCheckDns(options: SystemCheckDnsOptions = {}): CheckDns {
  const servers = options.servers === undefined ? undefined : [...options.servers];
  const txtPort: DnsPort = createSystemDns(servers === undefined ? {} : { servers });
  const tlsa = createDnsPacketTlsaSource(servers === undefined ? {} : { servers });

  /** Run `work` on a fresh Resolver cancelled at the deadline; `expired()` tells a cancel from the deadline. */
  async function withDeadline<T>(timeoutMs: number, work: (r: Resolver, expired: () => boolean) => Promise<T>): Promise<T> {
    const deadline = Math.max(1, Math.floor(timeoutMs));
    const resolver = new Resolver({ timeout: Math.max(1, Math.floor(deadline / DNS_TIMEOUT_DIVISOR)), tries: DNS_TRIES });
    if (servers !== undefined) resolver.setServers(servers);
    let expired = false;
    const timer = setTimeout(() => {
      expired = true;
      resolver.cancel();
    }, deadline);
    try {
      return await work(resolver, () => expired);
    } finally {
      clearTimeout(timer);
    }
  }

  function failure(err: unknown, expired: boolean, what: string, timeoutMs: number): DnsAnswer<never> {
    if (expired) return { kind: 'error', code: DNS_TIMEOUT_CODE, message: `${what} timed out after ${timeoutMs} ms` };
    const code = codeOf(err);
    if (code === 'ENOTFOUND') return { kind: 'nxdomain' };
    if (code === 'ENODATA') return { kind: 'nodata' };
    return { kind: 'error', code, message: `${what}: ${messageOf(err)}` };
  }

  return {
    async txt(name, timeoutMs) {
      const answer = await txtPort.resolveTxt(name, timeoutMs);
      switch (answer.kind) {
        case 'records':
          return { kind: 'records', records: answer.records };
        case 'nxdomain':
        case 'nodata':
          return { kind: answer.kind };
        case 'error':
          return { kind: 'error', code: answer.code, message: answer.message };
        default: {
          const _never: never = answer;
          return _never;
        }
      }
    },

    mx(name, timeoutMs) {
      return withDeadline(timeoutMs, async (resolver, expired) => {
        try {
          const records = await resolver.resolveMx(name);
          if (records.length === 0) return { kind: 'nodata' };
          return {
            kind: 'records',
            records: records.map((r) => ({ preference: r.priority, exchange: r.exchange.toLowerCase().replace(/\.$/, '') })),
          };
        } catch (err) {
          return failure(err, expired(), `MX lookup of ${name}`, timeoutMs);
        }
      });
    },

    addresses(name, timeoutMs) {
      const literal = isIP(name);
      if (literal === 4 || literal === 6) return Promise.resolve({ kind: 'records', records: [{ address: name, family: literal }] });
      return withDeadline(timeoutMs, async (resolver, expired): Promise<DnsAnswer<Address>> => {
        const [v4, v6] = await Promise.allSettled([resolver.resolve4(name), resolver.resolve6(name)]);
        const records: Address[] = [
          ...(v4.status === 'fulfilled' ? v4.value.map((address) => ({ address, family: 4 as const })) : []),
          ...(v6.status === 'fulfilled' ? v6.value.map((address) => ({ address, family: 6 as const })) : []),
        ];
        if (records.length > 0) return { kind: 'records', records };
        // Both negative: NXDOMAIN if either says so, else NODATA; otherwise the first real error.
        const answers = [v4, v6].map((r) => (r.status === 'rejected' ? failure(r.reason, expired(), `address lookup of ${name}`, timeoutMs) : ({ kind: 'nodata' } as const)));
        const error = answers.find((a) => a.kind === 'error');
        if (error !== undefined) return error;
        return answers.some((a) => a.kind === 'nxdomain') ? { kind: 'nxdomain' } : { kind: 'nodata' };
      });
    },

    lookupTlsa: (name, timeoutMs) => tlsa.lookupTlsa(name, timeoutMs),
  };
}
