/**
 * The DNS seam on top of the system resolver: c-ares through `node:dns/promises` `Resolver`,
 * which reads /etc/resolv.conf (or uses the servers given) and sends real queries, so TXT
 * lookups see the same recursive resolver the MTA uses. c-ares does not chase CNAMEs itself;
 * it accepts the CNAME chain plus target records that a recursive resolver returns.
 *
 * Each lookup has a `Resolver` (a c-ares channel) to itself while it runs, so that a deadline can
 * `cancel()` exactly that lookup (cancel() is channel-wide). Creating a channel costs its first
 * query a resolv.conf read and socket set-up (~0.5 ms of the main thread, measured: most of a
 * cold storm's main-thread work), so a channel whose lookup ended without a cancel goes back to
 * a small pool, per per-try timeout, for at most {@link DNS_CHANNEL_MAX_AGE_MS}: a resolv.conf
 * change or a dead server is remembered no longer than that. Node's channels cache no answers
 * (the resolver core owns caching and freshness; a unit test checks that a reused channel sees
 * a changed record).
 */
import type { LookupAddress, LookupOptions } from 'node:dns';
import { Resolver } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import { BridgeError } from '../errors.js';
import type { DnsPort, TxtAnswer } from './types.js';

/**
 * c-ares tries per server: one retransmission covers a lost UDP datagram. c-ares doubles the
 * per-try timeout each round, so with 2 tries the lookup spends about 3 × the per-try timeout.
 */
export const DNS_TRIES = 2;
/** Divisor of the caller's deadline giving c-ares' first per-try timeout (T + 2T = deadline). */
export const DNS_TIMEOUT_DIVISOR = 3;
/** A pooled channel is used for new lookups this long after its creation, then dropped. */
export const DNS_CHANNEL_MAX_AGE_MS = 5_000;
/** Idle channels kept per DNS seam (each holds a UDP socket while pooled). */
export const DNS_CHANNEL_POOL_SIZE = 16;
/** Per-try timeouts are rounded down to this step so that lookups with nearby deadlines share channels. */
const DNS_TRY_STEP_MS = 100;

/** Code of a lookup that reached its deadline: the code c-ares uses for its own timeout. */
export const DNS_TIMEOUT_CODE = 'ETIMEOUT';
/** Code of a failure that carried no code of its own (should not happen with c-ares). */
export const DNS_UNKNOWN_CODE = 'EDNS_UNKNOWN';

/** Options of {@link createSystemDns}. */
export interface SystemDnsOptions {
  /** Resolver addresses (`'127.0.0.1'`, `'127.0.0.1:5353'`, `'[::1]:53'`); default: /etc/resolv.conf. */
  readonly servers?: readonly string[];
}

/** An Error with the `code` that `net`/`dns` errors carry, as the fetcher expects. */
export class DnsLookupError extends Error {
  readonly code: string;
  readonly hostname: string;
  readonly syscall = 'lookup';
  constructor(code: string, hostname: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DnsLookupError';
    this.code = code;
    this.hostname = hostname;
  }
}

function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The resolver's own "no such name" and "no record of this type" codes. */
function isNegative(code: string | undefined): boolean {
  return code === 'ENOTFOUND' || code === 'ENODATA';
}

/**
 * Create the production {@link DnsPort}. Throws `BridgeError('ECONFIG_INVALID')` when a server
 * address is malformed, so a bad configuration fails at startup rather than per lookup.
 */
export function createSystemDns(options: SystemDnsOptions = {}): DnsPort {
  const servers = options.servers === undefined ? undefined : [...options.servers];
  if (servers !== undefined) {
    try {
      new Resolver().setServers(servers);
    } catch (err) {
      throw new BridgeError('ECONFIG_INVALID', `invalid DNS server list ${JSON.stringify(servers)}: ${errorMessage(err)}`, {
        cause: err,
      });
    }
  }

  /** Idle channels by per-try timeout, oldest first; each with its creation time. */
  const pool = new Map<number, Array<{ resolver: Resolver; born: number }>>();
  let pooled = 0;
  let pruneTimer: NodeJS.Timeout | undefined;

  const prune = (): void => {
    const oldest = Date.now() - DNS_CHANNEL_MAX_AGE_MS;
    for (const [key, list] of pool) {
      while (list.length > 0 && (list[0] as { born: number }).born <= oldest) {
        list.shift();
        pooled -= 1;
      }
      if (list.length === 0) pool.delete(key);
    }
    if (pooled > 0 && pruneTimer === undefined) {
      pruneTimer = setTimeout(() => {
        pruneTimer = undefined;
        prune();
      }, DNS_CHANNEL_MAX_AGE_MS);
      pruneTimer.unref();
    }
  };

  const take = (tryMs: number): { resolver: Resolver; born: number } => {
    const list = pool.get(tryMs);
    const oldest = Date.now() - DNS_CHANNEL_MAX_AGE_MS;
    while (list !== undefined && list.length > 0) {
      const found = list.pop() as { resolver: Resolver; born: number };
      pooled -= 1;
      if (found.born > oldest) return found;
    }
    const resolver = new Resolver({ timeout: tryMs, tries: DNS_TRIES });
    if (servers !== undefined) resolver.setServers(servers);
    return { resolver, born: Date.now() };
  };

  const give = (tryMs: number, channel: { resolver: Resolver; born: number }): void => {
    if (pooled >= DNS_CHANNEL_POOL_SIZE || channel.born <= Date.now() - DNS_CHANNEL_MAX_AGE_MS) return;
    let list = pool.get(tryMs);
    if (list === undefined) pool.set(tryMs, (list = []));
    list.push(channel);
    pooled += 1;
    prune();
  };

  /**
   * Run `work` with a channel of its own and cancel it at the deadline. `timedOut()` tells the
   * work's result handling whether an ECANCELLED came from the deadline. A channel that was not
   * cancelled goes back to the pool.
   */
  async function withDeadline<T>(timeoutMs: number, work: (resolver: Resolver, timedOut: () => boolean) => Promise<T>): Promise<T> {
    const deadline = Math.max(1, Math.floor(Number.isFinite(timeoutMs) ? timeoutMs : 1));
    const exactTry = Math.max(1, Math.floor(deadline / DNS_TIMEOUT_DIVISOR));
    const tryMs = exactTry >= DNS_TRY_STEP_MS ? exactTry - (exactTry % DNS_TRY_STEP_MS) : exactTry;
    const channel = take(tryMs);
    let expired = false;
    const timer = setTimeout(() => {
      expired = true;
      channel.resolver.cancel();
    }, deadline);
    try {
      return await work(channel.resolver, () => expired);
    } finally {
      clearTimeout(timer);
      if (!expired) give(tryMs, channel);
    }
  }

  async function resolveTxt(name: string, timeoutMs: number): Promise<TxtAnswer> {
    return withDeadline(timeoutMs, async (resolver, timedOut) => {
      try {
        const records = await resolver.resolveTxt(name);
        return records.length === 0 ? { kind: 'nodata' } : { kind: 'records', records };
      } catch (err) {
        if (timedOut()) {
          return { kind: 'error', code: DNS_TIMEOUT_CODE, message: `TXT lookup of ${name} timed out after ${timeoutMs} ms` };
        }
        const code = errorCode(err);
        if (code === 'ENOTFOUND') return { kind: 'nxdomain' };
        if (code === 'ENODATA') return { kind: 'nodata' };
        return { kind: 'error', code: code ?? DNS_UNKNOWN_CODE, message: errorMessage(err) };
      }
    });
  }

  /**
   * IPv4 addresses first, then IPv6, each in the resolver's order. A and AAAA are asked in
   * parallel; if either family has addresses they are the answer, even when the other failed
   * (the connection attempt will tell). With no address at all: `ENOTFOUND` when both answers
   * were negative, otherwise the first real error (IPv4's before IPv6's), or `ETIMEOUT`.
   */
  async function lookupAddresses(host: string, timeoutMs: number): Promise<ReadonlyArray<{ address: string; family: 4 | 6 }>> {
    const literal = isIP(host);
    if (literal === 4 || literal === 6) return [{ address: host, family: literal }];
    return withDeadline(timeoutMs, async (resolver, timedOut) => {
      const [v4, v6] = await Promise.allSettled([resolver.resolve4(host), resolver.resolve6(host)]);
      const addresses = [
        ...(v4.status === 'fulfilled' ? v4.value.map((address) => ({ address, family: 4 as const })) : []),
        ...(v6.status === 'fulfilled' ? v6.value.map((address) => ({ address, family: 6 as const })) : []),
      ];
      if (addresses.length > 0) return addresses;
      if (timedOut()) {
        throw new DnsLookupError(DNS_TIMEOUT_CODE, host, `address lookup of ${host} timed out after ${timeoutMs} ms`);
      }
      for (const result of [v4, v6]) {
        if (result.status === 'rejected' && !isNegative(errorCode(result.reason))) {
          const code = errorCode(result.reason) ?? DNS_UNKNOWN_CODE;
          throw new DnsLookupError(code, host, `address lookup of ${host} failed: ${errorMessage(result.reason)}`, {
            cause: result.reason,
          });
        }
      }
      throw new DnsLookupError('ENOTFOUND', host, `${host} has no A or AAAA record`);
    });
  }

  return { resolveTxt, lookupAddresses };
}

/** `family` of `dns.lookup` options: 0, 4, 6, or the legacy `'IPv4'` / `'IPv6'`. */
function requestedFamily(family: LookupOptions['family']): 0 | 4 | 6 {
  if (family === 4 || family === 'IPv4') return 4;
  if (family === 6 || family === 'IPv6') return 6;
  return 0;
}

/**
 * A `net.LookupFunction` backed by a {@link DnsPort}, to pass as `lookup` to `https.request`
 * so the policy host is resolved by the same resolver as the TXT record, within `timeoutMs`.
 *
 * Honours `family` and `all` (Node 20 asks with `all: true` when `autoSelectFamily` is on, and
 * with `all: false` otherwise); `hints`, `order` and `verbatim` are ignored: the order is
 * {@link DnsPort.lookupAddresses}' (IPv4 first). The callback runs on a later tick, outside any
 * promise chain, as with `dns.lookup`, so an exception thrown by it is not swallowed.
 */
export function lookupFunctionFor(dns: DnsPort, timeoutMs: number): LookupFunction {
  return (hostname, options, callback) => {
    // Old-style callers pass a family number; LookupFunction's type says object, be lenient.
    const opts: LookupOptions = typeof options === 'object' && options !== null ? options : { family: options };
    const family = requestedFamily(opts.family);
    const all = opts.all === true;
    dns.lookupAddresses(hostname, timeoutMs).then(
      (found) => {
        const matching = found.filter((a) => family === 0 || a.family === family);
        const first = matching[0];
        process.nextTick(() => {
          if (first === undefined) {
            callback(new DnsLookupError('ENOTFOUND', hostname, `${hostname} has no IPv${family} address`), all ? [] : '');
          } else if (all) {
            callback(
              null,
              matching.map((a): LookupAddress => ({ address: a.address, family: a.family })),
            );
          } else {
            callback(null, first.address, first.family);
          }
        });
      },
      (err: unknown) => {
        const error =
          err instanceof Error && errorCode(err) !== undefined
            ? (err as NodeJS.ErrnoException)
            : new DnsLookupError(DNS_UNKNOWN_CODE, hostname, errorMessage(err), { cause: err });
        process.nextTick(() => callback(error, all ? [] : ''));
      },
    );
  };
}
