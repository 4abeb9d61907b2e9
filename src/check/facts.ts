/**
 * What the network said about one domain: the facts the checks judge. Gathered by
 * ./gather.ts, judged by the pure functions of ./judge-*.ts, so every check can be tested on
 * facts alone and the network part once.
 */
import type { Address, DnsAnswer, MxRecord } from './dns.js';
import type { HttpsProbe } from './https-probe.js';
import type { SmtpProbe } from './smtp-probe.js';
import type { TlsaAnswer } from './tlsa.js';

export interface PolicyAddressFacts {
  readonly address: string;
  readonly probe: HttpsProbe;
}

export interface MxAddressFacts {
  readonly address: string;
  readonly probe: SmtpProbe;
}

export interface MxHostFacts {
  readonly host: string;
  readonly preference: number;
  readonly addresses: DnsAnswer<Address>;
  readonly tlsa: TlsaAnswer;
  /** One per address, in address order. */
  readonly probes: readonly MxAddressFacts[];
}

export interface DomainFacts {
  /** The policy domain: lower-case A-labels. */
  readonly domain: string;
  readonly stsTxt: DnsAnswer<readonly string[]>;
  /** `mta-sts.<domain>`. */
  readonly policyHost: string;
  readonly policyAddresses: DnsAnswer<Address>;
  readonly policyProbes: readonly PolicyAddressFacts[];
  readonly mx: DnsAnswer<MxRecord>;
  /** True when the domain has no MX records and its own name was checked (RFC 5321 §5.1). */
  readonly implicitMx: boolean;
  /** The MX hosts checked (the first {@link MAX_MX_CHECKED} by preference). */
  readonly mxHosts: readonly MxHostFacts[];
  readonly mxNotChecked: readonly MxRecord[];
  readonly tlsrptTxt: DnsAnswer<readonly string[]>;
  /** The MX port probed (25 but in tests). */
  readonly mxPort: number;
  /** When the facts were gathered (ms since the epoch): certificate days are counted from it. */
  readonly nowMs: number;
}

/** RFC 8461 gives no number; the choice: check the first 10 MX hosts by preference. */
export const MAX_MX_CHECKED = 10;

/** MX records in preference order, ties by name: the order senders try them in, made stable. */
export function sortMx(records: readonly MxRecord[]): MxRecord[] {
  return [...records].sort((a, b) => a.preference - b.preference || (a.exchange < b.exchange ? -1 : a.exchange > b.exchange ? 1 : 0));
}

/** RFC 7505: a single MX record with the root as exchange means "no mail here". */
export function isNullMx(records: readonly MxRecord[]): boolean {
  return records.length === 1 && records[0]?.exchange === '';
}
