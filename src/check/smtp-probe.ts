/**
 * One MX address as a sender meets it: TCP to port 25, the 220 greeting, EHLO, STARTTLS offered
 * and accepted, a TLS 1.2+ handshake with SNI = the MX host name, then QUIT. The certificate is
 * taken whatever it is (verification is reported, not enforced) so that it can be judged.
 * One deadline covers the whole conversation; an abort signal (the run's --timeout) ends it
 * early. Never rejects: every outcome is an {@link SmtpProbe}.
 */
import net from 'node:net';
import tls, { type SecureContext } from 'node:tls';
import { certFactsOf, type CertFacts } from './cert.js';
import { describeSocketError, errorCodeOf } from './socket-error.js';
import { ehloKeywords, formatReply, SmtpReplyReader, type SmtpReply } from './smtp-reply.js';

/** How long a polite QUIT may take before the connection is dropped. */
export const QUIT_GRACE_MS = 1000;

export type SmtpStage = 'connect' | 'banner' | 'ehlo' | 'starttls' | 'tls';

export type SmtpProbe =
  | { readonly kind: 'connect-failed'; readonly code: string; readonly message: string }
  /** No progress before the deadline; `cut`: the run's --timeout, not this probe's own. */
  | {
      readonly kind: 'timeout';
      readonly stage: SmtpStage;
      readonly cut: boolean;
      readonly banner?: readonly string[];
      readonly ehlo?: readonly string[];
    }
  /** A reply that is not the expected one, a broken reply, or the peer closing. */
  | {
      readonly kind: 'smtp-error';
      readonly stage: 'banner' | 'ehlo' | 'starttls';
      readonly reply: readonly string[];
      readonly message: string;
    }
  | { readonly kind: 'no-starttls'; readonly banner: readonly string[]; readonly ehlo: readonly string[] }
  | {
      readonly kind: 'tls-failed';
      readonly banner: readonly string[];
      readonly ehlo: readonly string[];
      readonly code: string;
      readonly message: string;
    }
  | {
      readonly kind: 'tls';
      readonly banner: readonly string[];
      readonly ehlo: readonly string[];
      readonly protocol: string;
      readonly cipher: string;
      readonly cert: CertFacts;
      /** DER, leaf first: for TLSA matching, never printed. */
      readonly chainDer: readonly Buffer[];
    };

export interface SmtpProbeOptions {
  /** The MX host name: SNI and the EHLO-independent identity checked. */
  readonly host: string;
  readonly address: string;
  readonly port: number;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  readonly context: SecureContext;
  /** The name we greet with. */
  readonly ehloName: string;
}

export function probeSmtp(o: SmtpProbeOptions): Promise<SmtpProbe> {
  return new Promise((resolve) => {
    let stage: SmtpStage = 'connect';
    let banner: string[] = [];
    let ehlo: string[] = [];
    let secure: tls.TLSSocket | undefined;
    let settled = false;
    const reader = new SmtpReplyReader();
    const socket = net.connect({ host: o.address, port: o.port });

    const finish = (p: SmtpProbe): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      const tlsSocket = secure;
      if (p.kind === 'tls' && tlsSocket !== undefined) {
        // Polite end: QUIT over TLS; the peer's 221 and close end it, or a short grace does.
        tlsSocket.on('error', () => undefined);
        tlsSocket.end('QUIT\r\n');
        setTimeout(() => {
          tlsSocket.destroy();
          socket.destroy();
        }, QUIT_GRACE_MS).unref();
      } else {
        tlsSocket?.destroy();
        socket.destroy();
      }
      resolve(p);
    };
    const timeout = (cut: boolean): void =>
      finish({ kind: 'timeout', stage, cut, ...(banner.length > 0 ? { banner } : {}), ...(ehlo.length > 0 ? { ehlo } : {}) });
    const timer = setTimeout(() => timeout(false), Math.max(1, o.timeoutMs));
    const onAbort = (): void => timeout(true);
    if (o.signal?.aborted === true) {
      queueMicrotask(onAbort);
    } else {
      o.signal?.addEventListener('abort', onAbort, { once: true });
    }

    const onReply = (reply: SmtpReply): void => {
      switch (stage) {
        case 'banner':
          banner = formatReply(reply);
          if (reply.code !== 220)
            return finish({
              kind: 'smtp-error',
              stage,
              reply: banner,
              message: `greeting is not 220: ${JSON.stringify(banner.join(' '))}`,
            });
          stage = 'ehlo';
          socket.write(`EHLO ${o.ehloName}\r\n`);
          return;
        case 'ehlo':
          ehlo = formatReply(reply);
          if (reply.code !== 250)
            return finish({ kind: 'smtp-error', stage, reply: ehlo, message: `EHLO answered ${JSON.stringify(ehlo.join(' '))}` });
          if (!ehloKeywords(reply).includes('STARTTLS')) {
            socket.end('QUIT\r\n');
            return finish({ kind: 'no-starttls', banner, ehlo });
          }
          stage = 'starttls';
          socket.write('STARTTLS\r\n');
          return;
        case 'starttls':
          if (reply.code !== 220)
            return finish({
              kind: 'smtp-error',
              stage,
              reply: formatReply(reply),
              message: `STARTTLS answered ${JSON.stringify(formatReply(reply).join(' '))}`,
            });
          stage = 'tls';
          startTls();
          return;
        case 'connect':
        case 'tls':
          return; // nothing is read in clear text then
        default: {
          const _never: never = stage;
          return _never;
        }
      }
    };

    const startTls = (): void => {
      socket.removeAllListeners('data');
      const servername = net.isIP(o.host) === 0 ? o.host : undefined;
      secure = tls.connect({
        socket,
        ...(servername !== undefined ? { servername } : {}),
        secureContext: o.context,
        rejectUnauthorized: false,
        // Names are judged by the check (SAN DNS-IDs only), not by Node here.
        checkServerIdentity: () => undefined,
      });
      secure.on('secureConnect', () => {
        const s = secure as tls.TLSSocket;
        const facts = certFactsOf(s);
        if (facts === undefined)
          return finish({ kind: 'tls-failed', banner, ehlo, code: 'ECHECK_NO_CERTIFICATE', message: 'no certificate presented' });
        finish({
          kind: 'tls',
          banner,
          ehlo,
          protocol: s.getProtocol() ?? 'unknown',
          cipher: s.getCipher().name,
          cert: facts.cert,
          chainDer: facts.chainDer,
        });
      });
      secure.on('error', (err) =>
        finish({ kind: 'tls-failed', banner, ehlo, code: errorCodeOf(err, 'ECHECK_TLS'), message: describeSocketError(err) }),
      );
    };

    socket.on('connect', () => {
      stage = 'banner';
    });
    socket.on('data', (chunk: Buffer) => {
      for (const event of reader.push(chunk)) {
        if (settled || stage === 'tls') return;
        if (event.kind === 'error') {
          return finish({ kind: 'smtp-error', stage: stage === 'connect' ? 'banner' : stage, reply: [], message: event.message });
        }
        onReply(event.reply);
      }
    });
    socket.on('error', (err) => {
      if (stage === 'connect')
        finish({ kind: 'connect-failed', code: errorCodeOf(err, 'ECHECK_CONNECT'), message: describeSocketError(err) });
      else if (stage !== 'tls') finish({ kind: 'smtp-error', stage, reply: [], message: `connection error: ${describeSocketError(err)}` });
    });
    socket.on('close', () => {
      if (stage !== 'connect' && stage !== 'tls')
        finish({ kind: 'smtp-error', stage, reply: [], message: 'the server closed the connection' });
    });
  });
}
