/**
 * Test doubles shared by the adapter unit tests: zones, policies, a scripted LookupService
 * and a winston logger that records what it was given. No side effects on import.
 */
import { Writable } from 'node:stream';
import winston from 'winston';
import type { Logger } from 'winston';
import type { ZoneConfig } from '../../../src/config/types.js';
import type { LookupResult, LookupService } from '../../../src/lookup.js';
import type { StsPolicy, PolicyMode } from '../../../src/policy/types.js';
import type { Resolution } from '../../../src/resolver/types.js';

export const baseZone: ZoneConfig = {
  strictTesting: false,
  timeoutSec: 4,
  requireSni: true,
  tlsrpt: false,
  dnsErrorAnswer: 'no-policy',
};

export function zone(overrides: Partial<ZoneConfig> = {}): ZoneConfig {
  return { ...baseZone, ...overrides };
}

/** A policy whose `lines` mirror its fields in file order, as the parser would produce. */
export function policy(mode: PolicyMode, mx: readonly string[], extraLines: ReadonlyArray<readonly [string, string]> = []): StsPolicy {
  const lines: Array<readonly [string, string]> = [
    ['version', 'STSv1'],
    ['mode', mode],
    ...mx.map((m) => ['mx', m] as const),
    ['max_age', '604800'],
    ...extraLines,
  ];
  return { version: 'STSv1', mode, maxAge: 604800, mx, lines };
}

export function policyResolution(domain: string, p: StsPolicy, source: 'cache' | 'fetched' | 'stale' = 'cache'): Resolution {
  return { kind: 'policy', domain, id: '20240101', policy: p, source, fetchedAt: 1_700_000_000_000, expiresAt: 1_700_604_800_000 };
}

export function result(resolution: Resolution, z: ZoneConfig = baseZone, zoneName = 'postfix'): LookupResult {
  return { zoneName, zone: z, resolution };
}

export interface LookupCall {
  readonly domain: string;
  readonly zoneName: string | undefined;
}

/** A LookupService answering from a script; records every call. */
export class FakeLookup implements LookupService {
  readonly calls: LookupCall[] = [];
  constructor(
    private readonly script: (domain: string, zoneName: string | undefined) => Resolution | Promise<Resolution>,
    private readonly zones: Readonly<Record<string, ZoneConfig>> = {},
  ) {}

  zone(zoneName?: string): { readonly name: string; readonly zone: ZoneConfig } {
    const z = zoneName === undefined ? undefined : this.zones[zoneName];
    return z === undefined ? { name: 'default', zone: baseZone } : { name: zoneName as string, zone: z };
  }

  async lookup(domain: string, zoneName?: string): Promise<LookupResult> {
    this.calls.push({ domain, zoneName });
    const { name, zone: z } = this.zone(zoneName);
    return { zoneName: name, zone: z, resolution: await this.script(domain, zoneName) };
  }
}

export interface LogEntry {
  readonly level: string;
  readonly message: string;
  readonly [field: string]: unknown;
}

/** A real winston logger at level debug that keeps every entry. */
export function captureLogger(): { log: Logger; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const stream = new Writable({
    objectMode: true,
    write(info: LogEntry, _enc, done) {
      entries.push({ ...info });
      done();
    },
  });
  const log = winston.createLogger({ level: 'debug', transports: [new winston.transports.Stream({ stream })] });
  return { log, entries };
}

/** Split `bytes` into chunks of `size` bytes. */
export function chunks(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}
