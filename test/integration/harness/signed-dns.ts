/**
 * A signed DNS world inside a test namespace (TEST-WORLD-NOTES.md "DNSSEC and DANE"): zones
 * signed at test time with ldns-keygen / ldns-signzone (Debian `ldnsutils`), served by `nsd`,
 * and `unbound` validating with the signed zone's KSK as its trust anchor. A second unbound
 * without the validator plays "a resolver that does not set AD". All on 127.0.0.x inside the
 * namespace, nothing else is asked (unbound's stub zones point at nsd; every other name fails).
 *
 * Tampering: `tamper` replaces text in the signed zone file after signing, so the records it
 * touches no longer match their RRSIG: unbound answers SERVFAIL for them (bogus).
 */
import type { ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findBinary } from './binaries.js';
import type { NetNs } from './netns.js';
import { stopChild } from './world.js';

const execFileP = promisify(execFile);

/** How to install what these tests need (also done by .ci/install-dnssec.sh). */
export const DNSSEC_INSTALL_HINT = 'run "bash .ci/install-dnssec.sh" (apt-get install nsd unbound ldnsutils)';

/** Addresses inside the namespace. */
export const NSD_ADDRESS = '127.0.0.30';
export const VALIDATING_RESOLVER = '127.0.0.31';
export const NON_VALIDATING_RESOLVER = '127.0.0.32';

/** Debian's binaries: nsd and unbound live in /usr/sbin. */
const SBIN = ['/usr/sbin', '/sbin'];

/** Why the signed world cannot run here, or undefined. A missing binary is a failure, never a skip. */
export function dnssecPrerequisiteProblem(): string | undefined {
  for (const bin of ['nsd', 'unbound', 'ldns-keygen', 'ldns-signzone']) {
    if (findBinary(bin, SBIN) === undefined) return `${bin} is missing: ${DNSSEC_INSTALL_HINT}`;
  }
  return undefined;
}

/** One zone: its apex and its records in zone-file syntax, relative to `$ORIGIN <apex>.`. */
export interface ZoneSpec {
  readonly apex: string;
  readonly records: readonly string[];
}

export interface SignedDnsOptions {
  /** Signed with a fresh KSK and ZSK; the KSK is unbound's trust anchor. */
  readonly signed: readonly ZoneSpec[];
  /** Served unsigned (no trust anchor covers them: insecure, no AD). */
  readonly unsigned: readonly ZoneSpec[];
  /** Text replacements in signed zone files after signing (breaks those records' signatures). */
  readonly tamper?: ReadonlyArray<{ readonly apex: string; readonly from: string; readonly to: string }>;
  /**
   * Where both resolvers send every other name (a forward zone for "."), e.g. the fake
   * internet's DNS on 127.0.0.1 with the MTA-STS records; unset: other names fail.
   */
  readonly forward?: string;
}

function zoneText(zone: ZoneSpec): string {
  return [
    `$ORIGIN ${zone.apex}.`,
    '$TTL 300',
    `@ IN SOA ns.${zone.apex}. hostmaster.${zone.apex}. 1 3600 600 86400 300`,
    `@ IN NS ns.${zone.apex}.`,
    `ns IN A ${NSD_ADDRESS}`,
    ...zone.records,
    '',
  ].join('\n');
}

/** yyyymmddhhmmss for ldns-signzone -i/-e. */
function ldnsDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

async function sign(dir: string, zone: ZoneSpec): Promise<{ zoneFile: string; anchor: string }> {
  const opts = { cwd: dir, timeout: 30_000 };
  const ksk = (await execFileP('ldns-keygen', ['-a', 'ECDSAP256SHA256', '-k', zone.apex], opts)).stdout.trim();
  const zsk = (await execFileP('ldns-keygen', ['-a', 'ECDSAP256SHA256', zone.apex], opts)).stdout.trim();
  const file = join(dir, `${zone.apex}.zone`);
  writeFileSync(file, zoneText(zone));
  const now = Date.now();
  // Inception a day back, so that clock skew never makes the signatures "not yet valid".
  await execFileP(
    'ldns-signzone',
    ['-i', ldnsDate(now - 86_400_000), '-e', ldnsDate(now + 30 * 86_400_000), '-f', `${file}.signed`, file, zsk, ksk],
    opts,
  );
  return { zoneFile: `${file}.signed`, anchor: join(dir, `${ksk}.key`) };
}

function nsdConf(dir: string, zones: ReadonlyArray<{ apex: string; file: string }>): string {
  return [
    'server:',
    `  ip-address: ${NSD_ADDRESS}`,
    '  port: 53',
    '  username: ""',
    '  chroot: ""',
    '  database: ""',
    `  zonesdir: "${dir}"`,
    `  pidfile: "${join(dir, 'nsd.pid')}"`,
    `  xfrdfile: "${join(dir, 'xfrd.state')}"`,
    `  xfrdir: "${dir}"`,
    `  zonelistfile: "${join(dir, 'zone.list')}"`,
    `  logfile: "${join(dir, 'nsd.log')}"`,
    '  server-count: 1',
    '  verbosity: 1',
    'remote-control:',
    '  control-enable: no',
    ...zones.flatMap((z) => ['zone:', `  name: "${z.apex}"`, `  zonefile: "${z.file}"`]),
    '',
  ].join('\n');
}

function unboundConf(
  dir: string,
  name: string,
  address: string,
  validating: boolean,
  anchors: readonly string[],
  apexes: readonly string[],
  forward: string | undefined,
): string {
  return [
    'server:',
    `  interface: ${address}`,
    '  port: 53',
    '  username: ""',
    '  chroot: ""',
    `  directory: "${dir}"`,
    `  pidfile: "${join(dir, `${name}.pid`)}"`,
    '  use-syslog: no',
    `  logfile: "${join(dir, `${name}.log`)}"`,
    '  do-daemonize: no',
    '  verbosity: 1',
    '  val-log-level: 2',
    '  num-threads: 1',
    '  do-ip6: no',
    '  access-control: 127.0.0.0/8 allow',
    '  do-not-query-localhost: no',
    // RFC 6761: unbound answers test. itself by default.
    '  local-zone: "test." nodefault',
    '  qname-minimisation: no',
    // The answers change between test runs only; never serve anything from a cache past its TTL.
    '  serve-expired: no',
    `  module-config: "${validating ? 'validator iterator' : 'iterator'}"`,
    ...(validating ? anchors.map((a) => `  trust-anchor-file: "${a}"`) : []),
    'remote-control:',
    '  control-enable: no',
    ...apexes.flatMap((apex) => ['stub-zone:', `  name: "${apex}"`, `  stub-addr: ${NSD_ADDRESS}`]),
    ...(forward === undefined ? [] : ['forward-zone:', '  name: "."', `  forward-addr: ${forward}`]),
    '',
  ].join('\n');
}

/** The running signed world. */
export class SignedDns {
  private constructor(
    private readonly children: readonly ChildProcess[],
    /** The KSK public key files (DNSKEY records), one per signed zone. */
    readonly anchors: readonly string[],
  ) {}

  static async start(ns: NetNs, dir: string, options: SignedDnsOptions): Promise<SignedDns> {
    const served: Array<{ apex: string; file: string }> = [];
    const anchors: string[] = [];
    for (const zone of options.signed) {
      const { zoneFile, anchor } = await sign(dir, zone);
      let text = readFileSync(zoneFile, 'utf8');
      for (const t of options.tamper ?? []) {
        if (t.apex !== zone.apex) continue;
        if (!text.includes(t.from)) throw new Error(`SignedDns: nothing to tamper: ${t.from} not in ${zoneFile}`);
        text = text.split(t.from).join(t.to);
      }
      writeFileSync(zoneFile, text);
      served.push({ apex: zone.apex, file: zoneFile });
      anchors.push(anchor);
    }
    for (const zone of options.unsigned) {
      const file = join(dir, `${zone.apex}.zone`);
      writeFileSync(file, zoneText(zone));
      served.push({ apex: zone.apex, file });
    }
    const apexes = served.map((z) => z.apex);
    writeFileSync(join(dir, 'nsd.conf'), nsdConf(dir, served));
    writeFileSync(join(dir, 'unbound.conf'), unboundConf(dir, 'unbound', VALIDATING_RESOLVER, true, anchors, apexes, options.forward));
    writeFileSync(
      join(dir, 'unbound-plain.conf'),
      unboundConf(dir, 'unbound-plain', NON_VALIDATING_RESOLVER, false, [], apexes, options.forward),
    );

    const children: ChildProcess[] = [];
    const world = new SignedDns(children, anchors);
    try {
      const nsd = ns.spawn(findBinary('nsd', SBIN) ?? 'nsd', ['-d', '-c', join(dir, 'nsd.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(nsd);
      for (const conf of ['unbound.conf', 'unbound-plain.conf']) {
        children.push(
          ns.spawn(findBinary('unbound', SBIN) ?? 'unbound', ['-d', '-c', join(dir, conf)], { stdio: ['ignore', 'pipe', 'pipe'] }),
        );
      }
      // Ready when each answers the SOA of the first zone over UDP (nsd, then both unbounds).
      for (const server of [NSD_ADDRESS, VALIDATING_RESOLVER, NON_VALIDATING_RESOLVER]) {
        await waitForDns(ns, server, apexes[0] ?? 'test', children, dir);
      }
    } catch (err) {
      await world.stop();
      throw err;
    }
    return world;
  }

  async stop(): Promise<void> {
    await Promise.all(this.children.map((c) => stopChild(c)));
  }
}

/** Poll `drill` until `server` answers, or fail with the servers' logs. */
async function waitForDns(ns: NetNs, server: string, name: string, children: readonly ChildProcess[], dir: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const exited = children.find((c) => c.exitCode !== null || c.signalCode !== null);
    if (exited !== undefined) throw new Error(`SignedDns: a server exited at start; logs:\n${logs(dir)}`);
    const r = await ns.run('drill', [`@${server}`, 'SOA', name], { timeoutMs: 5000 });
    if (r.code === 0 && /rcode: NOERROR/.test(r.stdout)) return;
    if (Date.now() > deadline)
      throw new Error(`SignedDns: ${server} does not answer SOA ${name}: ${r.stdout}${r.stderr}\nlogs:\n${logs(dir)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function logs(dir: string): string {
  return ['nsd.log', 'unbound.log', 'unbound-plain.log']
    .map((f) => {
      try {
        return `== ${f}\n${readFileSync(join(dir, f), 'utf8').slice(-4000)}`;
      } catch {
        return `== ${f}: none`;
      }
    })
    .join('\n');
}
