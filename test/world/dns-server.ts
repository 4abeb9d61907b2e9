/**
 * A small authoritative DNS server for tests, on UDP and TCP, built with `dns-packet`.
 *
 * Used in-process by unit tests (port 0 on loopback) and as a standalone process by the
 * integration harness (inside a network namespace, on 127.0.0.1:53, where it plays the role of
 * the system's recursive resolver). It never forwards anything: names outside its zones are
 * REFUSED.
 *
 * CLI: `node dist/test/world/dns-server.js <zone.json> [host] [port]` prints `READY <port>` once
 * listening on both transports, re-reads the zone file on SIGHUP (records and zones; prints
 * `RELOADED <names>`, or `RELOAD-FAILED <reason>` on stderr keeping the old data; the TTL is read
 * at start only), and stops on SIGTERM/SIGINT. The zone file is a {@link ZoneFile}.
 */
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { pathToFileURL } from 'node:url';
import dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, Packet, Question } from 'dns-packet';

/** RFC 1035 §4.2.1: a UDP answer larger than this without EDNS is truncated (TC set). */
export const MAX_UDP_PAYLOAD_PLAIN = 512;
/** DNS Flag Day 2020: the EDNS UDP size this server advertises and never exceeds. */
export const MAX_UDP_PAYLOAD_EDNS = 1232;
/** RFC 1035 §3.3: one <character-string> is at most 255 octets. */
export const MAX_TXT_STRING_OCTETS = 255;
/** Guard against CNAME loops in test data (resolvers give up after a handful too). */
export const MAX_CNAME_CHAIN = 8;
/** Idle TCP connections are closed after this long (RFC 7766 §6.2.3 suggests seconds). */
export const TCP_IDLE_TIMEOUT_MS = 10_000;

/** RFC 1035 §4.1.1 RCODE values. */
const RCODE_NOERROR = 0;
const RCODE_FORMERR = 1;
const RCODE_SERVFAIL = 2;
const RCODE_NXDOMAIN = 3;
const RCODE_NOTIMP = 4;
const RCODE_REFUSED = 5;

/** What the server does for every query at a name, instead of answering from data. */
export type Behaviour =
  | 'servfail' // answer SERVFAIL
  | 'refused' // answer REFUSED
  | 'drop'; // never answer: the client times out

/** The data of one owner name. JSON-able: the CLI's zone file uses the same shape. */
export interface NameRecords {
  /** Each entry is one TXT record: a list of strings, or a single string as shorthand. */
  readonly TXT?: ReadonlyArray<string | readonly string[]>;
  readonly A?: readonly string[];
  readonly AAAA?: readonly string[];
  /** An alias; no other data may sit beside it (RFC 1034 §3.6.2). */
  readonly CNAME?: string;
  readonly MX?: ReadonlyArray<{ readonly preference: number; readonly exchange: string }>;
  /** TLSA records (RFC 6698), the association data in hex. */
  readonly TLSA?: ReadonlyArray<{
    readonly usage: number;
    readonly selector: number;
    readonly matchingType: number;
    readonly data: string;
  }>;
  /** Overrides the data for every query type at this name (and for CNAMEs pointing here). */
  readonly behaviour?: Behaviour;
  /** Delay every answer at this name by this many milliseconds. */
  readonly delayMs?: number;
}

/** Records per owner name (any case, trailing dot optional). */
export type ZoneRecords = Readonly<Record<string, NameRecords>>;

export interface FakeDnsOptions {
  /**
   * Zones this server is authoritative for: unknown names inside them get NXDOMAIN, names
   * outside all of them get REFUSED. `'.'` (the default) means every name.
   */
  readonly zones?: readonly string[];
  /** TTL of every record, negative-caching TTL included. Default 0, so no client caches. */
  readonly ttl?: number;
  readonly records?: ZoneRecords;
  /**
   * Zones whose answers this server marks validated (the AD bit, when the query set DO or AD),
   * standing in for a validating resolver in unit tests: an answer is marked when every name
   * it went through (CNAMEs included) is in one of them. Default: none.
   */
  readonly secureZones?: readonly string[];
}

/** The CLI's zone file. */
export interface ZoneFile {
  readonly zones?: readonly string[];
  readonly ttl?: number;
  readonly records: ZoneRecords;
}

/** One query seen by the server, for tests that assert on the transport used. */
export interface QueryLogEntry {
  readonly name: string;
  readonly type: string;
  readonly transport: 'udp' | 'tcp';
}

interface Outcome {
  /** Every name of the answer lies in a secure zone (see {@link FakeDnsOptions.secureZones}). */
  readonly secure?: boolean;
  readonly rcode: number;
  readonly answers: Answer[];
  readonly authorities: Answer[];
  readonly drop: boolean;
  readonly delayMs: number;
}

/** Lower-case, without the trailing dot; the root is the empty string. */
function normalizeName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

function isUnder(name: string, zone: string): boolean {
  return zone === '' || name === zone || name.endsWith(`.${zone}`);
}

function validateRecords(records: ZoneRecords): Map<string, NameRecords> {
  const out = new Map<string, NameRecords>();
  for (const [rawName, data] of Object.entries(records)) {
    const name = normalizeName(rawName);
    const where = JSON.stringify(rawName);
    if (out.has(name)) throw new Error(`FakeDns: name ${where} given twice`);
    const hasOther =
      data.TXT !== undefined || data.A !== undefined || data.AAAA !== undefined || data.MX !== undefined || data.TLSA !== undefined;
    if (data.CNAME !== undefined && hasOther) throw new Error(`FakeDns: ${where} has a CNAME and other data`);
    for (const record of data.TXT ?? []) {
      if (typeof record !== 'string' && record.length === 0) throw new Error(`FakeDns: an empty TXT record at ${where}`);
      for (const s of typeof record === 'string' ? [record] : record) {
        if (Buffer.byteLength(s, 'utf8') > MAX_TXT_STRING_OCTETS) {
          throw new Error(`FakeDns: a TXT string of ${where} is longer than ${MAX_TXT_STRING_OCTETS} octets`);
        }
      }
    }
    for (const a of data.A ?? []) if (net.isIPv4(a) === false) throw new Error(`FakeDns: bad A ${a} at ${where}`);
    for (const a of data.AAAA ?? []) if (net.isIPv6(a) === false) throw new Error(`FakeDns: bad AAAA ${a} at ${where}`);
    if (data.delayMs !== undefined && !(data.delayMs >= 0)) throw new Error(`FakeDns: bad delayMs at ${where}`);
    out.set(name, data);
  }
  return out;
}

/**
 * The fake server. Data can be replaced at any time with {@link FakeDns.set}; queries already
 * being delayed answer from the data they saw.
 */
export class FakeDns {
  /** Every query received, in order (tests may truncate it). */
  readonly queries: QueryLogEntry[] = [];

  private names = new Map<string, NameRecords>();
  private zones: string[];
  private ttl: number;
  private secureZones: string[];
  private udp: dgram.Socket | undefined;
  private tcp: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(opts: FakeDnsOptions = {}) {
    this.zones = (opts.zones ?? ['.']).map(normalizeName);
    this.ttl = opts.ttl ?? 0;
    this.secureZones = (opts.secureZones ?? []).map(normalizeName);
    if (opts.records !== undefined) this.set(opts.records);
  }

  /** Replace all records. Throws on data that could not go on the wire. */
  set(records: ZoneRecords): void {
    this.names = validateRecords(records);
  }

  /** Replace the zones list (the CLI reloads it with the records). */
  setZones(zones: readonly string[]): void {
    this.zones = zones.map(normalizeName);
  }

  /** Replace the zones whose answers are marked validated (AD). */
  setSecureZones(zones: readonly string[]): void {
    this.secureZones = zones.map(normalizeName);
  }

  /** Listen on UDP and TCP on the same port; port 0 picks a free one. */
  async start(host = '127.0.0.1', port = 0): Promise<{ port: number }> {
    if (this.udp !== undefined) throw new Error('FakeDns: already started');
    // With port 0 the UDP port may be taken on TCP: try a few fresh ports.
    for (let attempt = 0; ; attempt++) {
      const udp = dgram.createSocket({ type: net.isIPv6(host) ? 'udp6' : 'udp4' });
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(port, host, () => {
          udp.off('error', reject);
          resolve();
        });
      });
      const bound = udp.address().port;
      const tcp = net.createServer((socket) => this.onTcpConnection(socket));
      try {
        await new Promise<void>((resolve, reject) => {
          tcp.once('error', reject);
          tcp.listen(bound, host, () => {
            tcp.off('error', reject);
            resolve();
          });
        });
      } catch (err) {
        udp.close();
        if (port === 0 && attempt < 5) continue;
        throw err;
      }
      udp.on('message', (msg, rinfo) => this.onUdpMessage(udp, msg, rinfo));
      // A send error (e.g. ICMP unreachable surfacing) must never crash the test process.
      udp.on('error', () => undefined);
      tcp.on('error', () => undefined);
      this.udp = udp;
      this.tcp = tcp;
      return { port: bound };
    }
  }

  /** Stop listening, drop open connections and pending delayed answers. */
  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    const udp = this.udp;
    const tcp = this.tcp;
    this.udp = undefined;
    this.tcp = undefined;
    await Promise.all([
      udp === undefined ? undefined : new Promise<void>((resolve) => udp.close(() => resolve())),
      tcp === undefined ? undefined : new Promise<void>((resolve) => tcp.close(() => resolve())),
    ]);
  }

  private onUdpMessage(udp: dgram.Socket, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    this.handle(msg, 'udp', (response) => {
      if (this.udp === udp) udp.send(response, rinfo.port, rinfo.address);
    });
  }

  private onTcpConnection(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.setTimeout(TCP_IDLE_TIMEOUT_MS, () => socket.destroy());
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    let pending = Buffer.alloc(0);
    // RFC 1035 §4.2.2 / RFC 7766 §8: each message has a 2-byte length prefix; several per connection.
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2) {
        const length = pending.readUInt16BE(0);
        if (pending.length < 2 + length) break;
        const msg = pending.subarray(2, 2 + length);
        pending = pending.subarray(2 + length);
        this.handle(msg, 'tcp', (response) => {
          if (socket.destroyed) return;
          const prefix = Buffer.alloc(2);
          prefix.writeUInt16BE(response.length, 0);
          socket.write(Buffer.concat([prefix, response]));
        });
      }
    });
  }

  /** Decode, answer, encode. Garbage gets FORMERR when it has an ID, else silence. */
  private handle(msg: Buffer, transport: 'udp' | 'tcp', reply: (response: Buffer) => void): void {
    let query: DecodedPacket;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      // Never answer something that claims to be a response (QR bit): no reflection loops.
      if (msg.length >= 12 && (msg[2]! & 0x80) === 0) reply(formErr(msg.readUInt16BE(0)));
      return;
    }
    if (query.flag_qr) return;
    const opt = (query.additionals ?? []).find((a) => a.type === 'OPT');
    const udpLimit =
      opt !== undefined && 'udpPayloadSize' in opt
        ? Math.min(Math.max(opt.udpPayloadSize, MAX_UDP_PAYLOAD_PLAIN), MAX_UDP_PAYLOAD_EDNS)
        : MAX_UDP_PAYLOAD_PLAIN;
    const questions = query.questions ?? [];
    const question = questions[0];
    let outcome: Outcome;
    if ((query as DecodedPacket & { opcode?: string }).opcode !== 'QUERY') {
      outcome = { rcode: RCODE_NOTIMP, answers: [], authorities: [], drop: false, delayMs: 0 };
    } else if (question === undefined || questions.length !== 1) {
      outcome = { rcode: RCODE_FORMERR, answers: [], authorities: [], drop: false, delayMs: 0 };
    } else {
      this.queries.push({ name: normalizeName(question.name), type: question.type, transport });
      outcome = this.answer(question);
    }
    if (outcome.drop) return;
    const wantsDnssec = (opt !== undefined && 'flag_do' in opt && opt.flag_do) || ((query.flags ?? 0) & dnsPacket.AUTHENTIC_DATA) !== 0;
    const response: Packet = {
      id: query.id ?? 0,
      type: 'response',
      // AA: we own the data; RA: in the test world we also stand in for the recursive resolver.
      flags:
        dnsPacket.AUTHORITATIVE_ANSWER |
        dnsPacket.RECURSION_AVAILABLE |
        ((query.flags ?? 0) & dnsPacket.RECURSION_DESIRED) |
        (outcome.secure === true && wantsDnssec ? dnsPacket.AUTHENTIC_DATA : 0) |
        outcome.rcode,
      questions,
      answers: outcome.answers,
      authorities: outcome.authorities,
      additionals:
        opt === undefined
          ? []
          : [
              {
                type: 'OPT',
                name: '.',
                udpPayloadSize: MAX_UDP_PAYLOAD_EDNS,
                extendedRcode: 0,
                ednsVersion: 0,
                flags: 0,
                flag_do: false,
                options: [],
              },
            ],
    };
    let encoded: Buffer;
    try {
      encoded = dnsPacket.encode(response);
      if (transport === 'udp' && encoded.length > udpLimit) {
        // RFC 1035 §4.2.1 / RFC 7766: truncate, the client retries over TCP.
        encoded = dnsPacket.encode({
          ...response,
          flags: (response.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE,
          answers: [],
          authorities: [],
        });
      }
    } catch {
      encoded = dnsPacket.encode({ ...response, flags: ((response.flags ?? 0) & ~0xf) | RCODE_SERVFAIL, answers: [], authorities: [] });
    }
    if (outcome.delayMs > 0) {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        reply(encoded);
      }, outcome.delayMs);
      this.timers.add(timer);
    } else {
      reply(encoded);
    }
  }

  private answer(question: Question): Outcome {
    const qname = normalizeName(question.name);
    const zone = this.zoneOf(qname);
    const none = (rcode: number, delayMs = 0): Outcome => ({ rcode, answers: [], authorities: [], drop: false, delayMs });
    if (zone === undefined) return none(RCODE_REFUSED);
    if ((question.class ?? 'IN') !== 'IN') return none(RCODE_REFUSED);
    const answers: Answer[] = [];
    let delayMs = 0;
    let name = qname;
    let secure = true;
    for (let hop = 0; hop <= MAX_CNAME_CHAIN; hop++) {
      secure = secure && this.isSecure(name);
      const data = this.names.get(name);
      delayMs = Math.max(delayMs, data?.delayMs ?? 0);
      const behaviour = data?.behaviour;
      switch (behaviour) {
        case 'servfail':
          return none(RCODE_SERVFAIL, delayMs);
        case 'refused':
          return none(RCODE_REFUSED, delayMs);
        case 'drop':
          return { ...none(RCODE_NOERROR), drop: true };
        case undefined:
          break;
        default: {
          const _never: never = behaviour;
          throw new Error(`unknown behaviour ${String(_never)}`);
        }
      }
      if (data?.CNAME !== undefined && question.type !== 'CNAME') {
        const target = normalizeName(data.CNAME);
        answers.push({ type: 'CNAME', name, ttl: this.ttl, data: target });
        // Out of our zones: a recursor would chase it; we answer with the alias alone.
        if (this.zoneOf(target) === undefined) return { rcode: RCODE_NOERROR, answers, authorities: [], drop: false, delayMs, secure };
        name = target;
        continue;
      }
      const found = this.recordsOf(name, question.type, data);
      if (found.length > 0) {
        return { rcode: RCODE_NOERROR, answers: [...answers, ...found], authorities: [], drop: false, delayMs, secure };
      }
      // RFC 2308: NODATA and NXDOMAIN carry the zone's SOA for negative caching.
      const soaZone = this.zoneOf(name) ?? zone;
      const rcode = this.exists(name) ? RCODE_NOERROR : RCODE_NXDOMAIN;
      return { rcode, answers, authorities: [this.soa(soaZone)], drop: false, delayMs, secure };
    }
    return none(RCODE_SERVFAIL, delayMs);
  }

  private recordsOf(name: string, type: string, data: NameRecords | undefined): Answer[] {
    const ttl = this.ttl;
    switch (type) {
      case 'TXT':
        return (data?.TXT ?? []).map((r) => ({
          type: 'TXT',
          name,
          ttl,
          data: (typeof r === 'string' ? [r] : [...r]).map((s) => Buffer.from(s, 'utf8')),
        }));
      case 'A':
        return (data?.A ?? []).map((a) => ({ type: 'A', name, ttl, data: a }));
      case 'AAAA':
        return (data?.AAAA ?? []).map((a) => ({ type: 'AAAA', name, ttl, data: a }));
      case 'CNAME':
        return data?.CNAME === undefined ? [] : [{ type: 'CNAME', name, ttl, data: normalizeName(data.CNAME) }];
      case 'MX':
        return (data?.MX ?? []).map((m) => ({
          type: 'MX',
          name,
          ttl,
          data: { preference: m.preference, exchange: normalizeName(m.exchange) },
        }));
      case 'TLSA':
        return (data?.TLSA ?? []).map((t) => ({
          type: 'TLSA',
          name,
          ttl,
          data: { usage: t.usage, selector: t.selector, matchingType: t.matchingType, certificate: Buffer.from(t.data, 'hex') },
        }));
      case 'SOA':
        return this.zones.includes(name) ? [this.soa(name)] : [];
      default:
        return [];
    }
  }

  /** A name exists when it has data, is a zone apex, or has names below it (empty non-terminal). */
  private exists(name: string): boolean {
    if (this.names.has(name) || this.zones.includes(name)) return true;
    for (const known of this.names.keys()) if (name === '' || known.endsWith(`.${name}`)) return true;
    return false;
  }

  /** True when `name` lies in a zone marked secure. */
  private isSecure(name: string): boolean {
    return this.secureZones.some((zone) => isUnder(name, zone));
  }

  /** The longest configured zone containing `name`, or undefined when not authoritative. */
  private zoneOf(name: string): string | undefined {
    let best: string | undefined;
    for (const zone of this.zones) {
      if (isUnder(name, zone) && (best === undefined || zone.length > best.length)) best = zone;
    }
    return best;
  }

  private soa(zone: string): Answer {
    const apex = zone === '' ? '' : `.${zone}`;
    return {
      type: 'SOA',
      name: zone === '' ? '.' : zone,
      ttl: this.ttl,
      data: {
        mname: `ns${apex}`,
        rname: `hostmaster${apex}`,
        serial: 1,
        refresh: 3600,
        retry: 600,
        expire: 86400,
        minimum: this.ttl,
      },
    };
  }
}

/** A bare FORMERR header for a packet we could not decode (RFC 1035 §4.1.1). */
function formErr(id: number): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x8000 | RCODE_FORMERR, 2);
  return header;
}

/** Read and check a zone file (see {@link ZoneFile}). */
export function readZoneFile(path: string): ZoneFile {
  const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
  if (typeof parsed !== 'object' || parsed === null || !('records' in parsed)) {
    throw new Error(`${path}: expected an object with "records"`);
  }
  const file = parsed as ZoneFile;
  validateRecords(file.records);
  return file;
}

async function main(argv: readonly string[]): Promise<void> {
  const [zonePath, host = '127.0.0.1', portText = '53'] = argv;
  if (zonePath === undefined) {
    process.stderr.write('usage: dns-server.js <zone.json> [host] [port]\n');
    process.exit(2);
  }
  const zone = readZoneFile(zonePath);
  const server = new FakeDns({
    records: zone.records,
    ...(zone.zones ? { zones: zone.zones } : {}),
    ...(zone.ttl !== undefined ? { ttl: zone.ttl } : {}),
  });
  const { port } = await server.start(host, Number(portText));
  process.on('SIGHUP', () => {
    try {
      const next = readZoneFile(zonePath);
      server.set(next.records);
      if (next.zones !== undefined) server.setZones(next.zones);
      process.stdout.write(`RELOADED ${Object.keys(next.records).length}\n`);
    } catch (err) {
      process.stderr.write(`RELOAD-FAILED ${err instanceof Error ? err.message : String(err)}\n`);
    }
  });
  const shutdown = (): void => {
    void server.stop().then(() => process.exit(0));
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  process.stdout.write(`READY ${port}\n`);
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`dns-server: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
