/**
 * A small fake internet for `check` unit tests, all in this process on loopback: the project's
 * DNS server on a free port, one HTTPS policy host (127.0.0.1, a free port, certificates by
 * SNI), and SMTP servers each on its own 127.0.0.x address sharing one free port (--mx-port).
 * Every question goes to the test DNS server through the production clients (TXT through the
 * resolver's seam, MX, A/AAAA and TLSA through the DANE side's DNSSEC client); zones given to
 * {@link CheckWorld.secureZones} are answered with the AD bit, standing in for a validating
 * resolver (the real one, unbound over signed zones, is in the check-netns integration test).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSystemCheckDns, type CheckDns } from '../../../src/check/dns.js';
import { runCheck, type RunOptions } from '../../../src/check/run.js';
import type { CheckReport, CheckResult, DomainReport } from '../../../src/check/types.js';
import { FakeDns, type NameRecords } from '../../world/dns-server.js';
import { FakeHttps, type FakeHttpsOptions, type HostBehaviour } from '../../world/https-server.js';
import { createTestPki, type LeafKind, type TestPki } from '../../world/pki.js';
import { FakeSmtp, type SmtpBehaviour } from '../../world/smtp-server.js';

export const POLICY_ADDRESS = '127.0.0.1';

/** One SMTP server: where it listens, how it behaves, the certificate it presents. */
export interface MxServerSpec {
  readonly address: string;
  readonly behaviour: SmtpBehaviour;
  readonly kind?: LeafKind;
  /** Names on the certificate (the first is also the CN). */
  readonly names: readonly string[];
}

export interface DomainSpec {
  /** TXT strings at _mta-sts (each entry one record); absent: no record. */
  readonly sts?: ReadonlyArray<string | readonly string[]>;
  readonly tlsrpt?: ReadonlyArray<string | readonly string[]>;
  /** The policy host's behaviour; absent: no A record. */
  readonly policyHost?: HostBehaviour;
  /** MX host name -> preference and the address of its server (started with startMx). */
  readonly mx?: Readonly<Record<string, { readonly preference: number; readonly address?: string }>>;
  /** Extra records. */
  readonly records?: Readonly<Record<string, NameRecords>>;
}

export function policyText(mode: 'enforce' | 'testing' | 'none', mx: readonly string[], maxAge = 604800): string {
  return ['version: STSv1', `mode: ${mode}`, ...mx.map((m) => `mx: ${m}`), `max_age: ${maxAge}`, ''].join('\n');
}

export function serves(body: string, extra: Partial<{ contentType: string | null; status: number }> = {}): HostBehaviour {
  return {
    response: {
      kind: 'body',
      status: extra.status ?? 200,
      contentType: extra.contentType === undefined ? 'text/plain' : extra.contentType,
      body,
    },
  };
}

export class CheckWorld {
  readonly smtp: FakeSmtp[] = [];
  readonly listeners: FakeHttps[] = [];
  #records: Record<string, NameRecords> = {};
  #smtpPort = 0;

  private constructor(
    readonly pki: TestPki,
    readonly dns: FakeDns,
    readonly dnsPort: number,
    readonly https: FakeHttps,
  ) {}

  static async start(): Promise<CheckWorld> {
    const pki = await createTestPki(mkdtempSync(join(tmpdir(), 'check-world-')));
    const dns = new FakeDns({ zones: ['test'] });
    const { port } = await dns.start('127.0.0.1', 0);
    const https = await FakeHttps.start({ pki, host: POLICY_ADDRESS, port: 0 });
    return new CheckWorld(pki, dns, port, https);
  }

  get smtpPort(): number {
    return this.#smtpPort;
  }

  /** Start an SMTP server at `spec.address` on the shared port. */
  async startMx(spec: MxServerSpec): Promise<FakeSmtp> {
    const leaf = await this.pki.issueLeaf({ names: [...spec.names], kind: spec.kind ?? 'valid' });
    const server = await FakeSmtp.start({
      host: spec.address,
      port: this.#smtpPort,
      behaviour: spec.behaviour,
      certPem: leaf.certPem,
      keyPem: leaf.keyPem,
      name: spec.names[0] ?? 'mx.test',
    });
    this.#smtpPort = server.port;
    this.smtp.push(server);
    return server;
  }

  /** Another policy host listener at `address`, on the policy port (for per-address differences). */
  async startPolicyListener(
    address: string,
    extra: Partial<Pick<FakeHttpsOptions, 'minVersion' | 'maxVersion' | 'ciphers'>> = {},
  ): Promise<FakeHttps> {
    const listener = await FakeHttps.start({ pki: this.pki, host: address, port: this.https.port, ...extra });
    this.listeners.push(listener);
    return listener;
  }

  /** Add a domain: its DNS records and policy host. */
  add(domain: string, spec: DomainSpec): void {
    const r = this.#records;
    if (spec.sts !== undefined) r[`_mta-sts.${domain}`] = { TXT: spec.sts };
    if (spec.tlsrpt !== undefined) r[`_smtp._tls.${domain}`] = { TXT: spec.tlsrpt };
    if (spec.policyHost !== undefined) {
      r[`mta-sts.${domain}`] = { A: [POLICY_ADDRESS] };
      this.https.setHost(`mta-sts.${domain}`, spec.policyHost);
    }
    if (spec.mx !== undefined) {
      r[domain] = { ...(r[domain] ?? {}), MX: Object.entries(spec.mx).map(([exchange, m]) => ({ preference: m.preference, exchange })) };
      for (const [host, m] of Object.entries(spec.mx)) if (m.address !== undefined) r[host] = { A: [m.address] };
    }
    for (const [name, data] of Object.entries(spec.records ?? {})) r[name] = data;
    this.dns.set(r);
  }

  /** Answers in these zones carry the AD bit (when the query sets DO or AD). */
  secureZones(zones: readonly string[]): void {
    this.dns.setSecureZones(zones);
  }

  /** `--resolver 127.0.0.1:<port>` of the test DNS server. */
  get resolver(): string {
    return `127.0.0.1:${this.dnsPort}`;
  }

  checkDns(): CheckDns {
    return createSystemCheckDns({ host: '127.0.0.1', port: this.dnsPort, family: 4 });
  }

  options(extra: Partial<RunOptions> = {}): RunOptions {
    return {
      dns: this.checkDns(),
      mxPort: this.#smtpPort,
      policyPort: this.https.port,
      extraCa: this.pki.caCertPem,
      timeoutMs: 10_000,
      ehloName: 'checker.test',
      ...extra,
    };
  }

  async run(domains: readonly string[], extra: Partial<RunOptions> = {}): Promise<CheckReport> {
    return (await runCheck(domains, this.options(extra))).report;
  }

  async close(): Promise<void> {
    await Promise.all([...this.smtp.map((s) => s.close()), ...this.listeners.map((l) => l.close()), this.https.close(), this.dns.stop()]);
  }
}

/** The results of `id` in a domain's report (optionally for one subject). */
export function results(d: DomainReport | undefined, id: string, subject?: string): CheckResult[] {
  return (d?.checks ?? []).filter((c) => c.id === id && (subject === undefined || c.subject === subject));
}

/** The single result of `id` (and subject); fails the test when there is not exactly one. */
export function one(d: DomainReport | undefined, id: string, subject?: string): CheckResult {
  const found = results(d, id, subject);
  if (found.length !== 1)
    throw new Error(
      `expected one ${id}${subject !== undefined ? ` [${subject}]` : ''}, got ${found.length}: ${JSON.stringify(d?.checks.map((c) => `${c.id} ${c.subject ?? ''}`))}`,
    );
  return found[0]!;
}
