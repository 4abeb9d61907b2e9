/**
 * One address of the policy host as a sender meets it: HTTPS to that address with SNI and Host
 * `mta-sts.<domain>`, TLS 1.2+, `GET /.well-known/mta-sts.txt`, redirects NOT followed. Unlike
 * the resolver's fetcher (which stops at the first problem), everything is recorded so that it
 * can be judged: the certificate whatever it is, the status, Location, Content-Type and the
 * body up to one byte past the 64 KiB cap. One deadline covers it all; an abort signal (the
 * run's --timeout) ends it early. Never rejects.
 */
import { request, type RequestOptions } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { LookupFunction } from 'node:net';
import type { ConnectionOptions, SecureContext, TLSSocket } from 'node:tls';
import { MAX_POLICY_BYTES, POLICY_PATH, USER_AGENT } from '../resolver/https-fetcher.js';
import { certFactsOf, type CertFacts } from './cert.js';
import { describeSocketError, errorCodeOf } from './socket-error.js';

export type HttpsStage = 'connect' | 'tls' | 'response';

export interface TlsFacts {
  readonly protocol: string;
  readonly cipher: string;
  readonly cert: CertFacts;
}

export type HttpsProbe =
  | { readonly kind: 'connect-failed'; readonly code: string; readonly message: string }
  | { readonly kind: 'tls-failed'; readonly code: string; readonly message: string }
  /** `cut`: ended by the run's --timeout rather than this probe's own deadline. */
  | { readonly kind: 'timeout'; readonly stage: HttpsStage; readonly cut: boolean; readonly tls?: TlsFacts }
  /** TLS worked, HTTP did not (a reset, a malformed answer). */
  | { readonly kind: 'http-failed'; readonly code: string; readonly message: string; readonly tls: TlsFacts }
  | {
      readonly kind: 'response';
      readonly tls: TlsFacts;
      readonly status: number;
      readonly location?: string;
      readonly contentType?: string;
      readonly body: Buffer;
      /** More than {@link MAX_POLICY_BYTES} were sent: `body` holds the first MAX + 1 bytes. */
      readonly truncated: boolean;
    };

export interface HttpsProbeOptions {
  readonly host: string;
  readonly address: string;
  readonly family: 4 | 6;
  readonly port: number;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  readonly context: SecureContext;
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}

export function probeHttps(o: HttpsProbeOptions): Promise<HttpsProbe> {
  return new Promise((resolve) => {
    let stage: HttpsStage = 'connect';
    let tlsFacts: TlsFacts | undefined;
    let settled = false;
    // The address is pinned: each A/AAAA record is probed on its own.
    const lookup: LookupFunction = (_hostname, options, callback) => {
      const all = typeof options === 'object' && options !== null && options.all === true;
      process.nextTick(() => (all ? callback(null, [{ address: o.address, family: o.family }]) : callback(null, o.address, o.family)));
    };
    // `secureContext` reaches tls.connect through the agent; @types/node omits it from RequestOptions.
    const options: RequestOptions & Pick<ConnectionOptions, 'secureContext'> = {
      host: o.host,
      port: o.port,
      path: POLICY_PATH,
      method: 'GET',
      servername: o.host,
      lookup,
      agent: false,
      secureContext: o.context,
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined,
      headers: { 'user-agent': USER_AGENT, 'cache-control': 'no-cache', accept: 'text/plain' },
    };
    const req = request(options);

    const finish = (p: HttpsProbe): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      req.destroy();
      resolve(p);
    };
    const timeout = (cut: boolean): void => finish({ kind: 'timeout', stage, cut, ...(tlsFacts !== undefined ? { tls: tlsFacts } : {}) });
    const timer = setTimeout(() => timeout(false), Math.max(1, o.timeoutMs));
    const onAbort = (): void => timeout(true);
    if (o.signal?.aborted === true) queueMicrotask(onAbort);
    else o.signal?.addEventListener('abort', onAbort, { once: true });

    req.on('socket', (socket) => {
      socket.once('connect', () => {
        stage = 'tls';
      });
      socket.once('secureConnect', () => {
        const s = socket as TLSSocket;
        const facts = certFactsOf(s);
        if (facts === undefined) return finish({ kind: 'tls-failed', code: 'ECHECK_NO_CERTIFICATE', message: 'no certificate presented' });
        tlsFacts = { protocol: s.getProtocol() ?? 'unknown', cipher: s.getCipher().name, cert: facts.cert };
        stage = 'response';
      });
    });
    req.on('error', (err) => {
      const code = errorCodeOf(err, 'ECHECK_HTTP');
      switch (stage) {
        case 'connect':
          return finish({ kind: 'connect-failed', code, message: describeSocketError(err) });
        case 'tls':
          return finish({ kind: 'tls-failed', code, message: describeSocketError(err) });
        case 'response':
          return finish(
            tlsFacts === undefined
              ? { kind: 'tls-failed', code, message: describeSocketError(err) }
              : { kind: 'http-failed', code, message: describeSocketError(err), tls: tlsFacts },
          );
        default: {
          const _never: never = stage;
          return _never;
        }
      }
    });
    req.on('response', (res: IncomingMessage) => {
      const tlsNow = tlsFacts;
      if (tlsNow === undefined) return finish({ kind: 'tls-failed', code: 'ECHECK_NO_CERTIFICATE', message: 'no certificate seen' });
      const chunks: Buffer[] = [];
      let size = 0;
      let truncated = false;
      const done = (): void => {
        const location = header(res.headers.location);
        const contentType = header(res.headers['content-type']);
        finish({
          kind: 'response',
          tls: tlsNow,
          status: res.statusCode ?? 0,
          ...(location !== undefined ? { location } : {}),
          ...(contentType !== undefined ? { contentType } : {}),
          body: Buffer.concat(chunks),
          truncated,
        });
      };
      res.on('data', (chunk: Buffer) => {
        const room = MAX_POLICY_BYTES + 1 - size;
        if (chunk.length >= room) {
          chunks.push(chunk.subarray(0, room));
          size += room;
          truncated = true;
          done();
          return;
        }
        chunks.push(chunk);
        size += chunk.length;
      });
      res.on('end', done);
      res.on('error', (err) =>
        finish({ kind: 'http-failed', code: errorCodeOf(err, 'ECHECK_HTTP'), message: describeSocketError(err), tls: tlsNow }),
      );
    });
    req.end();
  });
}
