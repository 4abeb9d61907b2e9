/**
 * `dns:`: the DANE side's validating resolver (`dns.resolver`: "IP", "IP:PORT" or
 * "[IPV6]:PORT"). Absent: the first nameserver of /etc/resolv.conf, read when the daemon starts.
 * See docs/dane.md.
 */
import { parseResolverAddress } from '../dane/resolver-address.js';
import { asMap, readMap, readString, report, type Field, type ReadContext } from './node-reader.js';
import type { DnsConfig } from './types.js';

const DNS_KEYS = ['resolver'] as const;

/** The `dns` block, or undefined when absent or invalid (problems reported). */
export function readDns(ctx: ReadContext, field: Field | undefined): DnsConfig | undefined {
  if (field === undefined) return undefined;
  const map = asMap(ctx, field);
  if (map === undefined) return undefined;
  const f = readMap(ctx, map, field.path, DNS_KEYS);
  const resolverField = f.get('resolver');
  if (resolverField === undefined) return {};
  const text = readString(ctx, resolverField);
  if (text === undefined) return undefined;
  const parsed = parseResolverAddress(text);
  if (!parsed.ok) {
    report(ctx, 'ECONFIG_ADDRESS', resolverField.path, resolverField.node, `"${text}": ${parsed.message}`);
    return undefined;
  }
  return { resolver: parsed.address };
}
