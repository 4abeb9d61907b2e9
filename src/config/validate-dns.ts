/**
 * `dns:`: the DANE side's validating resolver (`dns.resolver`: "IP", "IP:PORT" or
 * "[IPV6]:PORT"; absent: the first nameserver of /etc/resolv.conf, read when the daemon starts)
 * and its start-up probe (`dns.probe`: "TYPE:NAME" as Postfix's `dnssec_probe`, default
 * "ns:."). See docs/dane.md.
 */
import { parseResolverAddress, type ResolverAddress } from '../dane/resolver-address.js';
import type { DaneQueryType } from '../dane/types.js';
import { asMap, readMap, readString, report, type Field, type ReadContext } from './node-reader.js';
import type { DnsConfig } from './types.js';

const DNS_KEYS = ['resolver', 'probe'] as const;
const PROBE_TYPES: readonly DaneQueryType[] = ['NS', 'MX', 'A', 'AAAA', 'TLSA'];
/** A DNS name: labels of 1-63 letters, digits, hyphens, underscores; "." alone is the root. */
const NAME = /^(?:\.|(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.?)$/i;

/** Parse Postfix's `dnssec_probe` form, "type:name" (e.g. "ns:."), or say why not. */
export function parseDnssecProbe(text: string): { ok: true; probe: { type: DaneQueryType; name: string } } | { ok: false; message: string } {
  const colon = text.indexOf(':');
  if (colon <= 0) return { ok: false, message: 'expected "TYPE:NAME", as Postfix\'s dnssec_probe (e.g. "ns:.")' };
  const type = PROBE_TYPES.find((t) => t === text.slice(0, colon).toUpperCase());
  if (type === undefined) return { ok: false, message: `the type must be one of ${PROBE_TYPES.join(', ')}` };
  const name = text.slice(colon + 1);
  if (name.length > 253 || !NAME.test(name)) return { ok: false, message: 'the name is not a DNS name' };
  return { ok: true, probe: { type, name } };
}

/** The `dns` block, or undefined when absent or invalid (problems reported). */
export function readDns(ctx: ReadContext, field: Field | undefined): DnsConfig | undefined {
  if (field === undefined) return undefined;
  const map = asMap(ctx, field);
  if (map === undefined) return undefined;
  const f = readMap(ctx, map, field.path, DNS_KEYS);
  let resolver: ResolverAddress | undefined;
  let probe: DnsConfig['probe'];
  let ok = true;
  const resolverField = f.get('resolver');
  if (resolverField !== undefined) {
    const text = readString(ctx, resolverField);
    if (text === undefined) ok = false;
    else {
      const parsed = parseResolverAddress(text);
      if (parsed.ok) resolver = parsed.address;
      else {
        report(ctx, 'ECONFIG_ADDRESS', resolverField.path, resolverField.node, `"${text}": ${parsed.message}`);
        ok = false;
      }
    }
  }
  const probeField = f.get('probe');
  if (probeField !== undefined) {
    const text = readString(ctx, probeField);
    if (text === undefined) ok = false;
    else {
      const parsed = parseDnssecProbe(text);
      if (parsed.ok) probe = parsed.probe;
      else {
        report(ctx, 'ECONFIG_BAD_VALUE', probeField.path, probeField.node, `"${text}": ${parsed.message}`);
        ok = false;
      }
    }
  }
  if (!ok) return undefined;
  return { ...(resolver === undefined ? {} : { resolver }), ...(probe === undefined ? {} : { probe }) };
}
