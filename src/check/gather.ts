/**
 * Gather the {@link DomainFacts} of one domain: the DNS questions, the policy host's addresses
 * and every checked MX host's addresses, in parallel with bounds, every step bounded by its own
 * timeout and by the run's deadline, so a host that hangs costs one step timeout and never the
 * run. Only I/O here; judging is elsewhere.
 *
 * A conversation (HTTPS or SMTP) gets its own full timeout and the deadline's abort signal, never
 * a timeout shortened to what is left of the run: that would put the run's end on two clocks
 * (this timer's and `now`'s), and whichever fired first would decide whether a host "gave no
 * answer in time" or "was cut by --timeout". The deadline's signal alone says the run ended.
 */
import type { SecureContext } from 'node:tls';
import type { Address, CheckDns, DnsAnswer } from './dns.js';
import { isNullMx, MAX_MX_CHECKED, sortMx, type DomainFacts, type MxHostFacts } from './facts.js';
import { probeHttps } from './https-probe.js';
import { probeSmtp } from './smtp-probe.js';
import { tlsaName } from '../dane/tlsa.js';
import type { TlsaAnswer } from './tlsa.js';
import { TLSRPT_LABEL } from './tlsrpt-record.js';
import { DNS_TIMEOUT_CODE } from '../resolver/dns.js';
import { POLICY_HOST_LABEL } from '../resolver/https-fetcher.js';
import { stsRecordName } from '../resolver/discovery.js';

/** MX hosts probed at the same time within one domain. */
export const MX_HOST_CONCURRENCY = 5;
/** Addresses of one host (policy or MX) probed at the same time. */
export const ADDRESS_CONCURRENCY = 4;

/** The run's deadline: every step is bounded by what is left of it. */
export class Deadline {
  readonly #end: number;
  readonly #controller = new AbortController();
  readonly #timer: NodeJS.Timeout;

  constructor(
    timeoutMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.#end = now() + timeoutMs;
    this.#timer = setTimeout(() => this.#controller.abort(), Math.max(0, timeoutMs));
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Milliseconds left (0 once passed). */
  remaining(): number {
    return Math.max(0, this.#end - this.now());
  }

  get expired(): boolean {
    return this.#controller.signal.aborted || this.remaining() === 0;
  }

  /** `stepMs`, or less when the deadline is nearer. */
  step(stepMs: number): number {
    return Math.min(stepMs, this.remaining());
  }

  dispose(): void {
    clearTimeout(this.#timer);
  }
}

/** Run `fn` over `items` with at most `limit` at once; results in input order. */
export async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

export interface GatherOptions {
  readonly dns: CheckDns;
  readonly context: SecureContext;
  readonly mxPort: number;
  /** 443 but in tests. */
  readonly policyPort: number;
  readonly ehloName: string;
  /** Bound of one DNS question. */
  readonly dnsTimeoutMs: number;
  /** Bound of one HTTPS or SMTP conversation. */
  readonly probeTimeoutMs: number;
  readonly deadline: Deadline;
  readonly now: () => number;
}

const PASSED = { kind: 'error', code: DNS_TIMEOUT_CODE as string, message: 'not asked: the run timed out' } as const;
const TLSA_PASSED: TlsaAnswer = { kind: 'error', code: 'EDANE_DNS_TIMEOUT', message: 'not asked: the run timed out' };

function sortedAddresses(answer: DnsAnswer<Address>): Address[] {
  if (answer.kind !== 'records') return [];
  return [...answer.records].sort((a, b) => a.family - b.family || (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
}

export async function gatherDomain(domain: string, o: GatherOptions): Promise<DomainFacts> {
  const d = o.deadline;
  const ask = <T>(q: (timeoutMs: number) => Promise<DnsAnswer<T>>): Promise<DnsAnswer<T>> =>
    d.expired ? Promise.resolve(PASSED) : q(Math.max(1, d.step(o.dnsTimeoutMs)));
  const policyHost = `${POLICY_HOST_LABEL}.${domain}`;

  const policy = (async () => {
    const policyAddresses = await ask((t) => o.dns.addresses(policyHost, t));
    const policyProbes = await mapBounded(sortedAddresses(policyAddresses), ADDRESS_CONCURRENCY, async (a) => ({
      address: a.address,
      probe: await probeHttps({
        host: policyHost,
        address: a.address,
        family: a.family,
        port: o.policyPort,
        timeoutMs: o.probeTimeoutMs,
        signal: d.signal,
        context: o.context,
      }),
    }));
    return { policyAddresses, policyProbes };
  })();

  const mail = (async () => {
    const mx = await ask((t) => o.dns.mx(domain, t));
    // RFC 5321 §5.1: no MX records (NODATA) means the domain's own address; NXDOMAIN means no domain.
    const implicitMx = mx.kind === 'nodata';
    const records =
      mx.kind === 'records' ? (isNullMx(mx.records) ? [] : sortMx(mx.records)) : implicitMx ? [{ preference: 0, exchange: domain }] : [];
    const checked = records.slice(0, MAX_MX_CHECKED);
    const mxHosts = await mapBounded(checked, MX_HOST_CONCURRENCY, async (r): Promise<MxHostFacts> => {
      const [addresses, tlsa] = await Promise.all([
        ask((t) => o.dns.addresses(r.exchange, t)),
        d.expired ? Promise.resolve(TLSA_PASSED) : o.dns.tlsa(tlsaName(r.exchange), Math.max(1, d.step(o.dnsTimeoutMs))),
      ]);
      const probes = await mapBounded(sortedAddresses(addresses), ADDRESS_CONCURRENCY, async (a) => ({
        address: a.address,
        probe: await probeSmtp({
          host: r.exchange,
          address: a.address,
          port: o.mxPort,
          timeoutMs: o.probeTimeoutMs,
          signal: d.signal,
          context: o.context,
          ehloName: o.ehloName,
        }),
      }));
      return { host: r.exchange, preference: r.preference, addresses, tlsa, probes };
    });
    return { mx, implicitMx, mxHosts, mxNotChecked: records.slice(MAX_MX_CHECKED) };
  })();

  const [stsTxt, tlsrptTxt, p, m] = await Promise.all([
    ask((t) => o.dns.txt(stsRecordName(domain), t)),
    ask((t) => o.dns.txt(`${TLSRPT_LABEL}.${domain}`, t)),
    policy,
    mail,
  ]);
  return { domain, stsTxt, policyHost, ...p, ...m, tlsrptTxt, mxPort: o.mxPort, nowMs: o.now() };
}
