/**
 * The benchmark's HTTPS policy hosts, as their own process inside the benchmark's network
 * namespace: one listener on ADDRESS:443 serving `mta-sts.<domain>` for thousands of domains.
 * Certificates come from the test PKI (test/world/pki.ts), a few hundred SANs each, picked by
 * SNI (OpenSSL rejects one certificate with thousands of SANs). Domains listed as `delayed`
 * answer after `delayMs` (the cold storm's slow policy hosts).
 *
 *   node dist/bench/policy-hosts.js CONFIG.json      (prints READY once it listens)
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { createSecureContext, type SecureContext } from 'node:tls';

export interface PolicyHostsConfig {
  readonly address: string;
  readonly port: number;
  /** Certificate groups: the policy host names each certificate covers. */
  readonly groups: ReadonlyArray<{ readonly certPath: string; readonly keyPath: string; readonly hosts: readonly string[] }>;
  /** Domains (not host names) whose policy host answers after `delayMs`. */
  readonly delayed: readonly string[];
  readonly delayMs: number;
  /** Seconds. */
  readonly maxAge: number;
}

/** The policy every benchmark domain publishes: enforce, two MX patterns (one wildcard). */
export function benchPolicy(domain: string, maxAge: number): string {
  return ['version: STSv1', 'mode: enforce', `mx: mx1.${domain}`, `mx: *.mx.${domain}`, `max_age: ${maxAge}`, ''].join('\r\n');
}

function main(configPath: string): void {
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as PolicyHostsConfig;
  const contexts = new Map<string, SecureContext>();
  for (const g of config.groups) {
    const ctx = createSecureContext({ cert: readFileSync(g.certPath), key: readFileSync(g.keyPath) });
    for (const h of g.hosts) contexts.set(h, ctx);
  }
  const first = config.groups[0];
  if (first === undefined) throw new Error('no certificate groups');
  const delayed = new Set(config.delayed);
  let served = 0;
  const server = createServer(
    {
      cert: readFileSync(first.certPath),
      key: readFileSync(first.keyPath),
      SNICallback: (name, cb) => cb(null, contexts.get(name.toLowerCase())),
      keepAliveTimeout: 1000,
    },
    (req, res) => {
      const host = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
      const domain = host.startsWith('mta-sts.') ? host.slice('mta-sts.'.length) : '';
      const known = contexts.has(host);
      const answer = (): void => {
        served += 1;
        if (!known || req.url !== '/.well-known/mta-sts.txt') {
          res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
          return;
        }
        const body = benchPolicy(domain, config.maxAge);
        res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) }).end(body);
      };
      if (delayed.has(domain)) setTimeout(answer, config.delayMs);
      else answer();
    },
  );
  server.on('tlsClientError', () => undefined);
  server.listen(config.port, config.address, () => process.stdout.write('READY\n'));
  process.on('SIGTERM', () => {
    process.stderr.write(`policy-hosts: served ${served}\n`);
    process.exit(0);
  });
}

const arg = process.argv[2];
if (arg !== undefined && process.argv[1]?.endsWith('policy-hosts.js') === true) main(arg);
