/**
 * The fake internet inside a network namespace: the project's own DNS server on 127.0.0.1:53
 * (the namespace's system resolver) and HTTPS policy hosts on 127.0.0.2:443 with a test CA.
 * Both are real servers in child processes; the test drives them by rewriting their data files
 * and sending SIGHUP.
 */
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { NameRecords, ZoneFile } from '../../world/dns-server.js';
import type { FakeHttpsConfig, HostBehaviour } from '../../world/https-server.js';
import { createTestPki, type TestPki } from '../../world/pki.js';
import type { NetNs } from './netns.js';

/** Address of every fake policy host. */
export const POLICY_HOST_ADDRESS = '127.0.0.2';

/** One domain of the fake internet. */
export interface Site {
  /** TXT records at `_mta-sts.<domain>` (each a list of strings), or a DNS behaviour. */
  readonly txt?: ReadonlyArray<string | readonly string[]> | 'servfail' | 'drop';
  /** The policy host `mta-sts.<domain>`; absent = no A record for it. */
  readonly policyHost?: HostBehaviour;
}

export type Sites = Readonly<Record<string, Site>>;

export const repoRoot = resolve(import.meta.dirname, '../../../..');
const worldDir = resolve(import.meta.dirname, '../../world');

/** Wait until `child` prints a line matching `pattern` on the given stream. */
export function waitForLine(child: ChildProcess, stream: 'stdout' | 'stderr', pattern: RegExp, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolveLine, reject) => {
    const src = child[stream];
    if (src === null) {
      reject(new Error(`no ${stream} pipe`));
      return;
    }
    let buf = '';
    const onData = (d: Buffer): void => {
      buf += d.toString('utf8');
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const line of lines) {
        if (pattern.test(line)) {
          cleanup();
          resolveLine(line);
          return;
        }
      }
    };
    const onExit = (code: number | null): void => {
      cleanup();
      reject(new Error(`process exited (${code}) before printing ${pattern}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out waiting for ${pattern} on ${stream}`));
    }, timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      src.off('data', onData);
      child.off('exit', onExit);
    };
    src.on('data', onData);
    child.on('exit', onExit);
  });
}

function zoneFile(sites: Sites): ZoneFile {
  const records: Record<string, NameRecords> = {};
  for (const [domain, site] of Object.entries(sites)) {
    if (site.txt === 'servfail' || site.txt === 'drop') {
      records[`_mta-sts.${domain}`] = { behaviour: site.txt };
    } else if (site.txt !== undefined) {
      records[`_mta-sts.${domain}`] = { TXT: site.txt };
    }
    if (site.policyHost !== undefined) records[`mta-sts.${domain}`] = { A: [POLICY_HOST_ADDRESS] };
  }
  // Authoritative for the test TLDs only: anything else is REFUSED, never forwarded.
  return { zones: ['test', 'example'], ttl: 0, records };
}

function httpsConfig(pki: TestPki, sites: Sites): FakeHttpsConfig {
  const hosts: Record<string, HostBehaviour> = {};
  for (const [domain, site] of Object.entries(sites)) {
    if (site.policyHost !== undefined) hosts[`mta-sts.${domain}`] = site.policyHost;
  }
  return { pkiDir: pki.dir, listeners: [{ host: POLICY_HOST_ADDRESS, port: 443 }], hosts };
}

export class FakeInternet {
  private constructor(
    private readonly dir: string,
    readonly pki: TestPki,
    private readonly dns: ChildProcess,
    private readonly https: ChildProcess,
  ) {}

  /** Path of the test CA certificate (give it to the daemon as NODE_EXTRA_CA_CERTS). */
  get caPath(): string {
    return this.pki.caCertPath;
  }

  static async start(ns: NetNs, dir: string, sites: Sites): Promise<FakeInternet> {
    // The PKI is made before any server starts, so two processes never write it at once.
    const pki = await createTestPki(join(dir, 'pki'));
    writeFileSync(join(dir, 'zone.json'), JSON.stringify(zoneFile(sites), null, 2));
    writeFileSync(join(dir, 'https.json'), JSON.stringify(httpsConfig(pki, sites), null, 2));
    const dns = ns.spawn(process.execPath, [join(worldDir, 'dns-server.js'), join(dir, 'zone.json'), '127.0.0.1', '53'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const https = ns.spawn(process.execPath, [join(worldDir, 'https-server.js'), join(dir, 'https.json')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await Promise.all([waitForLine(dns, 'stdout', /^READY/), waitForLine(https, 'stdout', /^READY/)]);
    return new FakeInternet(dir, pki, dns, https);
  }

  /** Replace the whole fake internet's data; resolves once both servers have reloaded. */
  async update(sites: Sites): Promise<void> {
    writeFileSync(join(this.dir, 'zone.json'), JSON.stringify(zoneFile(sites), null, 2));
    writeFileSync(join(this.dir, 'https.json'), JSON.stringify(httpsConfig(this.pki, sites), null, 2));
    const dnsReloaded = waitForLine(this.dns, 'stdout', /^RELOADED/);
    const httpsReloaded = waitForLine(this.https, 'stderr', /^reloaded/);
    this.dns.kill('SIGHUP');
    this.https.kill('SIGHUP');
    await Promise.all([dnsReloaded, httpsReloaded]);
  }

  async stop(): Promise<void> {
    await Promise.all([stopChild(this.dns), stopChild(this.https)]);
  }
}

/** SIGTERM, then SIGKILL after a grace period; resolves when the process has exited. */
export function stopChild(child: ChildProcess, graceMs = 5000): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolveExit) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolveExit(code);
    });
    child.kill('SIGTERM');
  });
}

/** A policy file body in CRLF form. */
export function policyBody(mode: 'enforce' | 'testing' | 'none', mx: readonly string[], maxAge = 86400): string {
  return ['version: STSv1', `mode: ${mode}`, ...mx.map((m) => `mx: ${m}`), `max_age: ${maxAge}`, ''].join('\r\n');
}

/** A policy host serving `body` as text/plain with a valid certificate. */
export function servesPolicy(body: string): HostBehaviour {
  return { cert: { kind: 'valid' }, response: { kind: 'body', status: 200, contentType: 'text/plain', body } };
}
