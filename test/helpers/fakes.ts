/**
 * Test doubles for unit tests of the core: a fake clock, a scripted DNS and a scripted fetcher.
 * Integration tests never use these: they run against real DNS and HTTPS servers.
 */
import winston from 'winston';
import type { Clock } from '../../src/clock.js';
import type { ZoneConfig } from '../../src/config/types.js';
import type { DnsPort, FetchResult, PolicyFetcher, TxtAnswer } from '../../src/resolver/types.js';

export class FakeClock implements Clock {
  constructor(public t = Date.UTC(2026, 0, 1)) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

/** A DNS whose TXT answers are set per name; counts queries. */
export class ScriptedDns implements DnsPort {
  readonly answers = new Map<string, TxtAnswer>();
  queries: string[] = [];
  /** When set, resolveTxt waits for this promise before answering (to hold lookups in flight). */
  gate: Promise<void> | undefined;

  setTxt(domain: string, ...records: string[]): void {
    this.answers.set(`_mta-sts.${domain}`, { kind: 'records', records: records.map((r) => [r]) });
  }
  setAnswer(domain: string, answer: TxtAnswer): void {
    this.answers.set(`_mta-sts.${domain}`, answer);
  }
  async resolveTxt(name: string): Promise<TxtAnswer> {
    this.queries.push(name);
    if (this.gate !== undefined) await this.gate;
    return this.answers.get(name) ?? { kind: 'nxdomain' };
  }
  async lookupAddresses(): Promise<ReadonlyArray<{ address: string; family: 4 | 6 }>> {
    return [{ address: '127.0.0.1', family: 4 }];
  }
}

/** A fetcher whose results are set per domain; counts fetches. */
export class ScriptedFetcher implements PolicyFetcher {
  readonly results = new Map<string, FetchResult>();
  fetches: string[] = [];

  setPolicy(domain: string, body: string): void {
    this.results.set(domain, {
      kind: 'ok',
      url: `https://mta-sts.${domain}/.well-known/mta-sts.txt`,
      status: 200,
      contentType: 'text/plain',
      body,
      certificate: undefined,
      timings: { totalMs: 1 },
    });
  }
  setError(domain: string, code: 'EFETCH_CONNECT' | 'EFETCH_TLS' | 'EFETCH_STATUS' | 'ELOCAL_FAULT' = 'EFETCH_CONNECT'): void {
    this.results.set(domain, {
      kind: 'error',
      url: `https://mta-sts.${domain}/.well-known/mta-sts.txt`,
      code,
      message: `scripted ${code}`,
      timings: { totalMs: 1 },
    });
  }
  async fetch(domain: string): Promise<FetchResult> {
    this.fetches.push(domain);
    const r = this.results.get(domain);
    if (r === undefined) {
      return { kind: 'error', url: '', code: 'EFETCH_DNS', message: 'no such host', timings: { totalMs: 1 } };
    }
    return r;
  }
}

/** A logger that records entries in memory, for asserting on log lines. */
export function memoryLogger(): { log: winston.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const log = winston.createLogger({
    level: 'debug',
    transports: [
      new (class extends winston.transports.Stream {
        constructor() {
          super({ stream: process.stderr });
        }
        override log(info: Record<string, unknown>, next: () => void): void {
          lines.push({ ...info });
          next();
        }
      })(),
    ],
  });
  return { log, lines };
}

export const testZone: ZoneConfig = {
  strictTesting: false,
  timeoutSec: 10,
  requireSni: true,
  tlsrpt: false,
  dnsErrorAnswer: 'no-policy',
};

export function policyText(mode: 'enforce' | 'testing' | 'none', maxAge: number, ...mx: string[]): string {
  return ['version: STSv1', `mode: ${mode}`, ...mx.map((m) => `mx: ${m}`), `max_age: ${maxAge}`, ''].join('\r\n');
}
