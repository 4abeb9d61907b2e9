/**
 * The DANE end-to-end world: the signed DNS (nsd + validating unbound), MX hosts (an SMTP sink
 * with STARTTLS, one certificate per host) and a Postfix that delivers with
 * `smtp_dns_support_level = dnssec`, all inside one test namespace whose resolv.conf names the
 * validating unbound (so Postfix and the daemon under test both ask it).
 */
import { createHash, createPublicKey } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NetNs } from './netns.js';
import { PostfixInstance } from './postfix-instance.js';
import { VALIDATING_RESOLVER } from './signed-dns.js';
import { stopChild, waitForLine } from './world.js';
import type { SinkConfig, SinkListener } from '../../world/smtp-sink.js';

const worldDir = join(import.meta.dirname, '../../world');

/** TLSA 3 1 1 data: SHA-256 of the certificate's DER SubjectPublicKeyInfo (RFC 6698 §2.1). */
export function spkiSha256(certPem: string): string {
  const der = createPublicKey(certPem).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex');
}

/** Point the namespace's resolv.conf (what Postfix and c-ares read) at the validating unbound. */
export function useValidatingResolver(ns: NetNs): void {
  writeFileSync(`/etc/netns/${ns.name}/resolv.conf`, `nameserver ${VALIDATING_RESOLVER}\noptions timeout:2 attempts:1\n`);
}

/** Start the SMTP sink for the given MX hosts; resolves once it listens. */
export async function startSink(ns: NetNs, dir: string, listeners: readonly SinkListener[]): Promise<ChildProcess> {
  const config: SinkConfig = { listeners };
  writeFileSync(join(dir, 'sink.json'), JSON.stringify(config));
  const sink = ns.spawn(process.execPath, [join(worldDir, 'smtp-sink.js'), join(dir, 'sink.json')], { stdio: ['ignore', 'pipe', 'pipe'] });
  await waitForLine(sink, 'stdout', /^READY/);
  return sink;
}

export async function stopSink(sink: ChildProcess | undefined): Promise<void> {
  if (sink !== undefined) await stopChild(sink);
}

/** A Postfix that delivers over SMTP with DNSSEC-validated lookups and the given policy map. */
export function startDeliveringPostfix(
  ns: NetNs,
  parent: string,
  options: { policyMaps: string; probe: string; caPath?: string; smtpdAddress?: string },
): Promise<PostfixInstance> {
  return PostfixInstance.start(ns, parent, {
    smtpdAddress: options.smtpdAddress ?? '127.0.0.3',
    recipientRestrictions: 'permit_mynetworks, reject',
    extraMaster: ['pickup    unix  n - n 60 1 pickup', 'smtp      unix  - - n - - smtp', 'tlsmgr    unix  - - n 1000? 1 tlsmgr'],
    extraMain: [
      'smtp_dns_support_level = dnssec',
      // No root zone in the test world: probe the signed zone instead of ns:. .
      `dnssec_probe = ${options.probe}`,
      'smtp_tls_security_level = may',
      `smtp_tls_policy_maps = ${options.policyMaps}`,
      'smtp_tls_loglevel = 1',
      ...(options.caPath === undefined ? [] : [`smtp_tls_CAfile = ${options.caPath}`]),
      'relayhost =',
      'smtp_address_preference = ipv4',
      // Deferred mail is not retried during a test; each test flushes when it wants.
      'queue_run_delay = 3600s',
      'minimal_backoff_time = 3600s',
      'maximal_backoff_time = 3600s',
    ],
  });
}

/** Inject a message with `sendmail -C`. */
export async function sendMail(ns: NetNs, postfix: PostfixInstance, rcpt: string): Promise<void> {
  const message = `From: sender@local.test\nTo: ${rcpt}\nSubject: dane test\n\nhello ${rcpt}\n`;
  const r = await ns.run('/usr/sbin/sendmail', ['-C', postfix.configDirectory, '-f', 'sender@local.test', rcpt], {
    input: message,
    timeoutMs: 30_000,
  });
  if (r.code !== 0) throw new Error(`sendmail to ${rcpt} failed (${r.code}): ${r.stderr}`);
}
