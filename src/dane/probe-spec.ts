/**
 * `dns.probe`: Postfix's `dnssec_probe` form, "TYPE:NAME" (e.g. "ns:."): what the start-up
 * probe asks the DANE side's resolver to learn whether it validates. See docs/dane.md.
 */
import type { DaneQueryType } from './types.js';

const PROBE_TYPES: readonly DaneQueryType[] = ['NS', 'MX', 'A', 'AAAA', 'TLSA'];
/** A DNS name: labels of 1-63 letters, digits, hyphens, underscores; "." alone is the root. */
const NAME = /^(?:\.|(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.?)$/i;

/** Parse Postfix's `dnssec_probe` form, "type:name" (e.g. "ns:."), or say why not. */
export function parseDnssecProbe(
  text: string,
): { ok: true; probe: { type: DaneQueryType; name: string } } | { ok: false; message: string } {
  const colon = text.indexOf(':');
  if (colon <= 0) return { ok: false, message: 'expected "TYPE:NAME", as Postfix\'s dnssec_probe (e.g. "ns:.")' };
  const type = PROBE_TYPES.find((t) => t === text.slice(0, colon).toUpperCase());
  if (type === undefined) return { ok: false, message: `the type must be one of ${PROBE_TYPES.join(', ')}` };
  const name = text.slice(colon + 1);
  if (name.length > 253 || !NAME.test(name)) return { ok: false, message: 'the name is not a DNS name' };
  return { ok: true, probe: { type, name } };
}
