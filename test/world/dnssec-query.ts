/**
 * The DANE side's DNS client as a command, for integration tests that run it inside a test
 * namespace (where the signed world's resolvers are). Prints one JSON line; TLSA data in hex.
 *
 *   node dist/test/world/dnssec-query.js query RESOLVER TYPE NAME [TIMEOUT_MS]
 *   node dist/test/world/dnssec-query.js find  RESOLVER DOMAIN [TIMEOUT_MS]
 *   node dist/test/world/dnssec-query.js probe RESOLVER TYPE NAME [TIMEOUT_MS]
 */
import { pathToFileURL } from 'node:url';
import { createDnssecDns } from '../../src/dane/dnssec-client.js';
import { findDane } from '../../src/dane/finding.js';
import { probeResolver } from '../../src/dane/probe.js';
import { parseResolverAddress } from '../../src/dane/resolver-address.js';
import type { DaneQueryType } from '../../src/dane/types.js';

const TYPES: readonly DaneQueryType[] = ['MX', 'A', 'AAAA', 'TLSA', 'NS'];

function asType(text: string | undefined): DaneQueryType {
  const t = TYPES.find((x) => x === text);
  if (t === undefined) throw new Error(`type must be one of ${TYPES.join(', ')}`);
  return t;
}

/** JSON with Buffers as hex and infinite numbers as null. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'object' && v !== null && 'type' in v && v.type === 'Buffer' && 'data' in v && Array.isArray(v.data)) {
      return Buffer.from(v.data as number[]).toString('hex');
    }
    return v;
  });
}

async function main(argv: readonly string[]): Promise<void> {
  const [command, resolverText = '', ...rest] = argv;
  const parsed = parseResolverAddress(resolverText);
  if (!parsed.ok) throw new Error(parsed.message);
  const dns = createDnssecDns(parsed.address);
  switch (command) {
    case 'query': {
      const [type, name = '', timeout = '3000'] = rest;
      process.stdout.write(`${toJson(await dns.query(name, asType(type), Number(timeout)))}\n`);
      return;
    }
    case 'find': {
      const [domain = '', timeout = '5000'] = rest;
      process.stdout.write(`${toJson(await findDane(dns, domain, Number(timeout)))}\n`);
      return;
    }
    case 'probe': {
      const [type, name = '', timeout = '3000'] = rest;
      process.stdout.write(`${toJson(await probeResolver(dns, Number(timeout), { type: asType(type), name }))}\n`);
      return;
    }
    default:
      throw new Error('usage: dnssec-query.js query|find|probe RESOLVER ...');
  }
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`dnssec-query: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  });
}
