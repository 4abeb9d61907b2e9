/**
 * The production {@link DnssecDns}: queries with the DO bit to one validating resolver (the
 * zone-independent `dns.resolver`, default the first nameserver of /etc/resolv.conf), read with
 * the AD bit and RCODE. The MTA-STS side keeps c-ares (src/resolver/dns.ts); c-ares neither sets
 * DO nor exposes AD, hence this second client.
 *
 * No caching here: the DANE findings cache (finding-cache.ts) owns TTLs.
 */
import { interpretAnswer } from './dns-message.js';
import { exchange } from './dns-transport.js';
import type { ResolverAddress } from './resolver-address.js';
import type { DaneQueryType, DnssecAnswer, DnssecDns } from './types.js';

/** Create the client for one resolver. */
export function createDnssecDns(server: ResolverAddress): DnssecDns {
  return {
    async query<T extends DaneQueryType>(name: string, type: T, timeoutMs: number): Promise<DnssecAnswer<T>> {
      const result = await exchange(server, name, type, timeoutMs);
      switch (result.kind) {
        case 'packet':
          return interpretAnswer(result.packet, name, type);
        case 'error':
          return result;
        default: {
          const _never: never = result;
          return _never;
        }
      }
    },
  };
}
