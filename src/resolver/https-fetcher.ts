/**
 * The HTTPS seam: fetch `https://mta-sts.<domain>/.well-known/mta-sts.txt` (RFC 8461 §3.3).
 *
 * Decisions where the RFC leaves room (docs/rfc-decisions.md repeats them):
 * - Only status 200 counts; redirects are never followed (RFC 8461 §3.3). A 3xx is
 *   `EFETCH_STATUS` with its Location in the message.
 * - Media type: RFC 8461 §3.3 says senders SHOULD check it is `text/plain`; it is compared
 *   case-insensitively, parameters ignored. A MISSING Content-Type is rejected
 *   (`EFETCH_CONTENT_TYPE`), as postfix-mta-sts-resolver does: the check exists to stop a host
 *   that serves user content from yielding a policy, and "no type" proves nothing. Real policy
 *   hosts send `text/plain`.
 * - A Content-Encoding other than `identity` is `EFETCH_PROTOCOL`: we never ask for one.
 * - Body: at most 64 KiB, counted while reading (never trusting Content-Length; a declared
 *   length above the cap fails before reading). Decoded as strict UTF-8: invalid UTF-8 is
 *   `EPOLICY_INVALID` here (the file's grammar is ASCII, so it could never parse); a leading
 *   UTF-8 BOM is dropped, being encoding and not content.
 * - Certificate: chain to a trusted root, unexpired, TLS 1.2+, and valid for the policy host by
 *   a SAN DNS-ID only: a certificate without DNS SANs is rejected even when its CN matches
 *   (Node would fall back to the CN), and a wildcard counts only as the whole left-most label
 *   (Node also accepts `f*.example.com`). Node's own `checkServerIdentity` runs as well.
 * - One deadline covers DNS, connect, TLS, headers and body: a server that trickles bytes
 *   fails at `timeoutMs`, not after it.
 * - Requests send `Cache-Control: no-cache` so that a CDN in front of the policy host
 *   revalidates: RFC 8461 §3.3 forbids HTTP caching, and a new TXT id must see the new file.
 * - `agent: false`: a fresh connection per fetch. A shared agent would keep connections alive
 *   past DNS changes and resume TLS sessions, and Node skips `checkServerIdentity` on a
 *   resumed session, so certificate facts would go unrecorded. Fetches are rare (about once
 *   a day per domain), so reuse buys nothing.
 *
 * Never throws or rejects: every outcome is a `FetchResult`.
 */
import { readFileSync } from 'node:fs';
import { request, type RequestOptions } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { LookupFunction } from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  checkServerIdentity,
  createSecureContext,
  type ConnectionOptions,
  rootCertificates,
  type PeerCertificate,
  type SecureContext,
  type TLSSocket,
} from 'node:tls';
import { lookupFunctionFor } from './dns.js';
import { HTTPS_PORT, POLICY_HOST_LABEL, POLICY_PATH, policyUrl } from './policy-url.js';
import { isLocalDnsFault, isLocalErrno } from './local-fault.js';
import type { CertificateInfo, DnsPort, FetchErrorCode, FetchResult, FetchTimings, PolicyFetcher } from './types.js';

export { HTTPS_PORT, POLICY_HOST_LABEL, POLICY_PATH } from './policy-url.js';
/** RFC 8461 §3.3 suggests a maximum body size of 64 KiB. */
export const MAX_POLICY_BYTES = 64 * 1024;
/** RFC 8461 §3.3: TLS 1.2 or newer (RFC 7525). */
export const MIN_TLS_VERSION = 'TLSv1.2';

/** The package version, read once; the fetcher identifies itself with it. */
function packageVersion(): string {
  try {
    // dist/src/resolver/https-fetcher.js -> package.json at the project root.
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

export const USER_AGENT = `mta-sts-bridge/${packageVersion()}`;

/** Options of {@link createHttpsFetcher}. */
export interface HttpsFetcherOptions {
  /** Port of the policy host; 443 except in tests. */
  readonly port?: number;
  /**
   * Extra trusted roots (PEM), added to Node's bundled roots. In production the daemon relies
   * on Node's store plus NODE_EXTRA_CA_CERTS and leaves this unset.
   */
  readonly ca?: string | Buffer;
}

/**
 * Create the production {@link PolicyFetcher}. The policy host is resolved through `dns` (the
 * same resolver as the TXT lookup) via `lookupFunctionFor`.
 */
export function createHttpsFetcher(dns: DnsPort, options: HttpsFetcherOptions = {}): PolicyFetcher {
  const port = options.port ?? HTTPS_PORT;
  // Node's `ca` option REPLACES the default store, NODE_EXTRA_CA_CERTS included (checked on
  // Node 20): rebuild it as bundled roots + the extra file + the given roots.
  const ca = options.ca === undefined ? undefined : [...rootCertificates, ...extraCaCerts(), options.ca.toString()];
  // Built once: parsing ~150 roots per request costs ~100 ms of CPU. Sharing the context does
  // not share TLS sessions (client session reuse is the agent's, and there is none).
  const secureContext = createSecureContext({ minVersion: MIN_TLS_VERSION, ...(ca !== undefined ? { ca } : {}) });
  return { fetch: (policyDomain, timeoutMs) => fetchPolicyFile(dns, policyDomain, timeoutMs, port, secureContext) };
}

/** The PEM text of NODE_EXTRA_CA_CERTS, if set and readable (Node itself only warns when not). */
function extraCaCerts(): string[] {
  const path = process.env['NODE_EXTRA_CA_CERTS'];
  if (path === undefined || path === '') return [];
  try {
    return [readFileSync(path, 'utf8')];
  } catch {
    return [];
  }
}

/** True when the media type of `contentType` is `text/plain` (case-insensitive, parameters ignored). */
export function isTextPlain(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const mediaType = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  return mediaType === 'text/plain';
}

/**
 * The DNS names of a Node `subjectaltname` string (`DNS:a.example, IP Address:192.0.2.1`).
 * Node JSON-quotes values holding separators; such values are unquoted here.
 */
export function dnsSubjectAltNames(subjectAltName: string): string[] {
  const names: string[] = [];
  let i = 0;
  while (i < subjectAltName.length) {
    const colon = subjectAltName.indexOf(':', i);
    if (colon < 0) break;
    const type = subjectAltName.slice(i, colon).trim();
    let j = colon + 1;
    let value = '';
    if (subjectAltName[j] === '"') {
      let k = j + 1;
      while (k < subjectAltName.length && subjectAltName[k] !== '"') k += subjectAltName[k] === '\\' ? 2 : 1;
      try {
        value = JSON.parse(subjectAltName.slice(j, k + 1)) as string;
      } catch {
        value = '';
      }
      j = k + 1;
    } else {
      const comma = subjectAltName.indexOf(', ', j);
      const end = comma < 0 ? subjectAltName.length : comma;
      value = subjectAltName.slice(j, end);
      j = end;
    }
    if (type === 'DNS') names.push(value);
    const next = subjectAltName.indexOf(', ', j);
    i = next < 0 ? subjectAltName.length : next + 2;
  }
  return names;
}

/**
 * Whether DNS-ID `pattern` covers `host` (both compared lower-case without a final dot). A
 * wildcard is accepted only as the whole left-most label of a name with at least two more
 * labels, and matches exactly one label (RFC 6125 §6.4.3 as RFC 8461 §3.3 applies it).
 */
export function dnsIdMatches(host: string, pattern: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  const p = pattern.toLowerCase().replace(/\.$/, '');
  if (!p.includes('*')) return p === h;
  if (!p.startsWith('*.') || p.includes('*', 1)) return false;
  const suffix = p.slice(2);
  if (suffix.split('.').length < 2 || suffix.split('.').includes('')) return false;
  const dot = h.indexOf('.');
  return dot > 0 && h.slice(dot + 1) === suffix;
}

function nameError(message: string, host: string): Error {
  // The same code Node uses, so that one mapping covers both checks.
  return Object.assign(new Error(message), { code: 'ERR_TLS_CERT_ALTNAME_INVALID', reason: message, host });
}

/**
 * `checkServerIdentity` for the policy host: SAN DNS-IDs only (never the subject CN), strict
 * wildcards, then Node's own check. Returns an Error (code `ERR_TLS_CERT_ALTNAME_INVALID`) on mismatch.
 */
export function checkPolicyHostIdentity(host: string, cert: PeerCertificate): Error | undefined {
  const names = dnsSubjectAltNames(cert.subjectaltname ?? '');
  if (names.length === 0) {
    return nameError(`certificate has no DNS subjectAltName; its CN is not used for ${host}`, host);
  }
  if (!names.some((n) => dnsIdMatches(host, n))) {
    return nameError(`${host} is not among the certificate's DNS names (${names.join(', ')})`, host);
  }
  return checkServerIdentity(host, cert);
}

function distinguishedName(dn: unknown): string {
  if (typeof dn !== 'object' || dn === null) return '';
  return Object.entries(dn as Record<string, string | string[]>)
    .map(([k, v]) => (Array.isArray(v) ? v.map((x) => `${k}=${x}`).join(', ') : `${k}=${v}`))
    .join(', ');
}

/** The facts `query` shows about a peer certificate. */
export function certificateInfo(cert: PeerCertificate): CertificateInfo {
  return {
    subject: distinguishedName(cert.subject),
    issuer: distinguishedName(cert.issuer),
    subjectAltName: cert.subjectaltname ?? '',
    validFrom: cert.valid_from ?? '',
    validTo: cert.valid_to ?? '',
    fingerprint256: cert.fingerprint256 ?? '',
  };
}

/** Where the fetch was when something happened; decides the error code. */
export type FetchPhase = 'dns' | 'connect' | 'tls' | 'headers' | 'body';

function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}

/** One line for logs: OpenSSL errors carry their short `reason`; their message is a raw dump. */
function describe(err: unknown): string {
  let message = err instanceof Error ? err.message : String(err);
  if (typeof err === 'object' && err !== null && 'library' in err && 'reason' in err && typeof err.reason === 'string') {
    message = err.reason;
  } else {
    // `write EPROTO <hex>:error:0A00010B:SSL routines:<function>:<reason>:<file>:<line>:`
    const openssl = /:error:[0-9A-F]+:[^:]*:[^:]*:([^:]+):/.exec(message);
    if (openssl?.[1] !== undefined) message = openssl[1];
  }
  message = (message.split('\n')[0] ?? '').trim();
  const code = errorCode(err);
  return code !== undefined && !message.includes(code) ? `${message} (${code})` : message;
}

/** Map a transport error to a stable code by what failed and when. */
export function classifyTransportError(phase: FetchPhase, err: unknown): FetchErrorCode {
  const code = errorCode(err);
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return 'EFETCH_CERT_NAME';
  // Out of descriptors or memory here, or the resolver unreachable for local reasons: not the remote's fault.
  if (isLocalErrno(code) || (phase === 'dns' && isLocalDnsFault(code))) return 'ELOCAL_FAULT';
  switch (phase) {
    case 'dns':
      return 'EFETCH_DNS';
    case 'connect':
      return 'EFETCH_CONNECT';
    case 'tls':
      // Verification failures (CERT_HAS_EXPIRED, UNABLE_TO_VERIFY_LEAF_SIGNATURE, ...),
      // protocol-version alerts, and resets during the handshake.
      return 'EFETCH_TLS';
    case 'headers':
    case 'body':
      return code !== undefined && code.startsWith('ERR_SSL_') ? 'EFETCH_TLS' : 'EFETCH_PROTOCOL';
    default: {
      const _never: never = phase;
      return _never;
    }
  }
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

function fetchPolicyFile(
  dns: DnsPort,
  policyDomain: string,
  timeoutMs: number,
  port: number,
  secureContext: SecureContext,
): Promise<FetchResult> {
  const host = `${POLICY_HOST_LABEL}.${policyDomain}`;
  const url = policyUrl(policyDomain, port);
  const deadlineMs = Number.isFinite(timeoutMs) ? Math.max(1, Math.floor(timeoutMs)) : 1;
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);
  const marks: { dnsMs?: number; connectMs?: number; tlsMs?: number; firstByteMs?: number } = {};
  const timings = (): FetchTimings => ({ ...marks, totalMs: elapsed() });
  let phase: FetchPhase = 'dns';
  let certificate: CertificateInfo | undefined;

  return new Promise<FetchResult>((resolve) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    let req: ReturnType<typeof request> | undefined;

    const settle = (result: FetchResult): void => {
      if (settled) return;
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      req?.destroy();
      resolve(result);
    };
    const fail = (code: FetchErrorCode, message: string, extra: { status?: number; contentType?: string } = {}): void => {
      settle({
        kind: 'error',
        url,
        code,
        message,
        ...(extra.status !== undefined ? { status: extra.status } : {}),
        ...(extra.contentType !== undefined ? { contentType: extra.contentType } : {}),
        ...(certificate !== undefined ? { certificate } : {}),
        timings: timings(),
      });
    };

    const resolveHost = lookupFunctionFor(dns, deadlineMs);
    const lookup: LookupFunction = (hostname, opts, callback) => {
      resolveHost(hostname, opts, (err, address, family) => {
        marks.dnsMs = elapsed();
        if (err === null) phase = 'connect';
        callback(err, address, family);
      });
    };

    // `secureContext` reaches tls.connect through the agent; @types/node omits it from RequestOptions.
    const options: RequestOptions & Pick<ConnectionOptions, 'secureContext'> = {
      host,
      port,
      path: POLICY_PATH,
      method: 'GET',
      agent: false,
      lookup,
      servername: host,
      // Carries minVersion (TLS 1.2) and the trusted roots.
      secureContext,
      rejectUnauthorized: true,
      checkServerIdentity: (name, cert) => {
        // Recorded here because this is the only hook that sees the certificate when the name
        // check then fails; chain failures end the handshake before any hook runs.
        certificate = certificateInfo(cert);
        return checkPolicyHostIdentity(name, cert);
      },
      headers: {
        Accept: 'text/plain',
        'Cache-Control': 'no-cache',
        'User-Agent': USER_AGENT,
      },
    };

    timer = setTimeout(() => {
      fail('EFETCH_TIMEOUT', `no complete answer from ${host} within ${deadlineMs} ms (stopped during ${phase})`);
    }, deadlineMs);

    try {
      req = request(options);
    } catch (err) {
      fail('EFETCH_PROTOCOL', `cannot build the request for ${url}: ${describe(err)}`);
      return;
    }

    req.on('socket', (socket) => {
      const tlsSocket = socket as TLSSocket;
      tlsSocket.once('connect', () => {
        marks.connectMs = elapsed();
        phase = 'tls';
      });
      tlsSocket.once('secureConnect', () => {
        marks.tlsMs = elapsed();
        phase = 'headers';
        if (certificate === undefined) {
          const peer = tlsSocket.getPeerCertificate();
          if (Object.keys(peer).length > 0) certificate = certificateInfo(peer);
        }
      });
    });

    req.on('error', (err) => {
      const code = classifyTransportError(phase, err);
      const lead: Partial<Record<FetchErrorCode, string>> = {
        EFETCH_DNS: `cannot resolve ${host}`,
        EFETCH_CONNECT: `cannot connect to ${host}:${port}`,
        EFETCH_CERT_NAME: `certificate not valid for ${host}`,
        EFETCH_TLS: `TLS with ${host} failed`,
        ELOCAL_FAULT: `local fault while fetching from ${host}`,
      };
      fail(code, `${lead[code] ?? `HTTP exchange with ${host} failed`}: ${describe(err)}`);
    });

    req.on('response', (res: IncomingMessage) => onResponse(res));

    const onResponse = (res: IncomingMessage): void => {
      // Attached first: a later destroy() must not surface as an unhandled 'error'.
      res.on('error', (err) => fail('EFETCH_PROTOCOL', `reading the body from ${host} failed: ${describe(err)}`));
      res.on('close', () => {
        if (!res.complete) fail('EFETCH_PROTOCOL', `${host} closed the connection before the end of the body`);
      });
      marks.firstByteMs = elapsed();
      phase = 'body';
      const status = res.statusCode ?? 0;
      const contentType = header(res.headers['content-type']);
      const seen = { status, ...(contentType !== undefined ? { contentType } : {}) };
      if (status !== 200) {
        const location = header(res.headers.location);
        const redirect = location !== undefined ? `, Location ${location} (redirects are not followed)` : '';
        fail('EFETCH_STATUS', `HTTP status ${status} from ${url}${redirect}`, seen);
        return;
      }
      if (!isTextPlain(contentType)) {
        fail(
          'EFETCH_CONTENT_TYPE',
          contentType === undefined
            ? `no Content-Type from ${url}; text/plain is required`
            : `Content-Type ${contentType} is not text/plain`,
          seen,
        );
        return;
      }
      const encoding = header(res.headers['content-encoding']);
      if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
        fail('EFETCH_PROTOCOL', `unrequested Content-Encoding ${encoding} from ${url}`, seen);
        return;
      }
      const declared = header(res.headers['content-length']);
      if (declared !== undefined && Number(declared) > MAX_POLICY_BYTES) {
        fail('EFETCH_TOO_LARGE', `Content-Length ${declared} exceeds ${MAX_POLICY_BYTES} bytes`, seen);
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (settled) return;
        size += chunk.length;
        if (size > MAX_POLICY_BYTES) {
          fail('EFETCH_TOO_LARGE', `body from ${url} exceeds ${MAX_POLICY_BYTES} bytes`, seen);
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => {
        if (settled || !res.complete) return;
        let body: string;
        try {
          body = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks, size));
        } catch {
          fail('EPOLICY_INVALID', `body from ${url} is not valid UTF-8`, seen);
          return;
        }
        settle({ kind: 'ok', url, status: 200, contentType, body, certificate, timings: timings() });
      });
    };

    req.end();
  });
}
