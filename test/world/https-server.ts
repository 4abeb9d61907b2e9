/**
 * A fake HTTPS policy host for tests: one `node:https` listener that picks its certificate by
 * SNI and answers per host name with a data-driven behaviour (JSON-able, so the integration
 * harness can write it to a file). Responses are written as raw bytes on the TLS socket, so a
 * test controls framing exactly: lying or missing Content-Length, chunked, close-delimited,
 * trickled, cut off, or never sent.
 *
 * CLI (used by the integration harness, inside a network namespace):
 *   node dist/test/world/https-server.js CONFIG.json
 * CONFIG is a `FakeHttpsConfig`. Prints `READY` on stdout once every listener listens,
 * re-reads `hosts` on SIGHUP (listeners are fixed at start), exits on SIGTERM/SIGINT.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Socket } from 'node:net';
import { createSecureContext, type SecureContext, type SecureVersion, type TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { createTestPki, type LeafKind, type TestPki } from './pki.js';

/** Which certificate a host presents. `names` defaults to the host name itself. */
export interface CertSpec {
  readonly kind?: LeafKind;
  readonly names?: readonly string[];
}

/** How the body is delimited on the wire. */
export type Framing =
  /** `Content-Length` equal to the body length. */
  | 'content-length'
  /** `Transfer-Encoding: chunked`. */
  | 'chunked'
  /** Neither: the body ends when the server closes the connection. */
  | 'close';

/** What a host answers to any request. */
export type ResponseSpec =
  | {
      readonly kind: 'body';
      readonly status?: number;
      /** Defaults to `text/plain`; `null` sends no Content-Type header at all. */
      readonly contentType?: string | null;
      readonly headers?: Readonly<Record<string, string>>;
      readonly body?: string;
      /** Raw body bytes (wins over `body`): for invalid UTF-8 and the like. */
      readonly bodyBase64?: string;
      readonly framing?: Framing;
      /** Sent as Content-Length instead of the true length (framing 'content-length' only). */
      readonly declaredLength?: number;
    }
  | { readonly kind: 'redirect'; readonly status?: number; readonly location: string }
  | {
      /** Sends `bytesPerSecond` bytes a second: the body only, or the whole response with `headersToo`. */
      readonly kind: 'trickle';
      readonly bytesPerSecond: number;
      readonly body?: string;
      readonly contentType?: string;
      readonly headersToo?: boolean;
    }
  | {
      /** `bytes` of `a`, written with back-pressure until done or the client goes away. */
      readonly kind: 'huge';
      readonly bytes: number;
      readonly framing?: Framing;
      readonly declaredLength?: number;
      readonly contentType?: string;
    }
  /** Completes TLS, reads the request, never answers. */
  | { readonly kind: 'hang' }
  /** Announces the full length, sends `sendBytes` of the body, then closes. */
  | { readonly kind: 'close-mid-body'; readonly body: string; readonly sendBytes: number; readonly contentType?: string };

export interface HostBehaviour {
  readonly cert?: CertSpec;
  /** Defaults to a 404. */
  readonly response?: ResponseSpec;
}

export interface ListenerSpec {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly minVersion?: SecureVersion;
  readonly maxVersion?: SecureVersion;
  /** OpenSSL cipher string; TLS 1.0/1.1 need `DEFAULT:@SECLEVEL=0` with OpenSSL 3. */
  readonly ciphers?: string;
}

/** The CLI's config file. */
export interface FakeHttpsConfig {
  readonly pkiDir: string;
  readonly listeners: readonly ListenerSpec[];
  readonly hosts: Readonly<Record<string, HostBehaviour>>;
  /** Names on the certificate served for unknown or missing SNI. */
  readonly defaultNames?: readonly string[];
}

export interface FakeHttpsOptions extends Partial<ListenerSpec> {
  readonly pki: TestPki;
  readonly hosts?: Readonly<Record<string, HostBehaviour>>;
  readonly defaultNames?: readonly string[];
}

/** One request as the server saw it; the byte counters move while it is answered. */
export interface RequestRecord {
  readonly sni: string | undefined;
  readonly host: string | undefined;
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  bytesSent: number;
  /** The connection closed before the server finished its answer. */
  closedEarly: boolean;
}

const DEFAULT_NAMES = ['default.invalid'];
const WRITE_CHUNK = 16 * 1024;

function lower(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

function head(status: number, headers: ReadonlyArray<readonly [string, string]>): string {
  const lines = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}`, ...headers.map(([k, v]) => `${k}: ${v}`)];
  return lines.join('\r\n') + '\r\n\r\n';
}

function framed(body: Buffer, framing: Framing, declaredLength: number | undefined): { headers: Array<[string, string]>; payload: Buffer } {
  switch (framing) {
    case 'content-length':
      return { headers: [['Content-Length', String(declaredLength ?? body.length)]], payload: body };
    case 'chunked': {
      const parts: Buffer[] = [];
      for (let off = 0; off < body.length; off += WRITE_CHUNK) {
        const chunk = body.subarray(off, off + WRITE_CHUNK);
        parts.push(Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n'));
      }
      parts.push(Buffer.from('0\r\n\r\n'));
      return { headers: [['Transfer-Encoding', 'chunked']], payload: Buffer.concat(parts) };
    }
    case 'close':
      return { headers: [], payload: body };
    default: {
      const _never: never = framing;
      throw new Error(`unknown framing ${String(_never)}`);
    }
  }
}

/** A fake policy host. Create with `FakeHttps.start`. */
export class FakeHttps {
  readonly requests: RequestRecord[] = [];
  /** SNI of every ClientHello that reached certificate selection (`undefined`: no SNI sent). */
  readonly handshakes: Array<string | undefined> = [];
  #hosts = new Map<string, HostBehaviour>();
  readonly #contexts = new Map<string, Promise<SecureContext>>();
  readonly #sockets = new Set<Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #pki: TestPki;
  readonly #defaultNames: readonly string[];
  readonly #server: Server;
  #port = 0;
  readonly host: string;

  private constructor(opts: FakeHttpsOptions, defaultCert: { certPem: string; keyPem: string }) {
    this.#pki = opts.pki;
    this.#defaultNames = opts.defaultNames ?? DEFAULT_NAMES;
    this.host = opts.host ?? '127.0.0.1';
    this.setHosts(opts.hosts ?? {});
    this.#server = createServer(
      {
        cert: defaultCert.certPem,
        key: defaultCert.keyPem,
        ...(opts.minVersion !== undefined ? { minVersion: opts.minVersion } : {}),
        ...(opts.maxVersion !== undefined ? { maxVersion: opts.maxVersion } : {}),
        ...(opts.ciphers !== undefined ? { ciphers: opts.ciphers } : {}),
        SNICallback: (servername, cb) => {
          this.handshakes.push(servername);
          this.#contextFor(servername).then(
            (ctx) => cb(null, ctx),
            (err: unknown) => cb(err instanceof Error ? err : new Error(String(err))),
          );
        },
        // A hanging answer must hang until the client gives up, not until Node's defaults.
        requestTimeout: 0,
      },
      (req, res) => this.#answer(req, res),
    );
    this.#server.on('connection', (s: Socket) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
    // Clients that go away mid-handshake are normal here (name mismatch, untrusted, ...).
    this.#server.on('tlsClientError', () => undefined);
    this.#server.on('secureConnection', (s: TLSSocket) => {
      if (s.servername === false || s.servername === null || s.servername === undefined) this.handshakes.push(undefined);
    });
  }

  /** Starts a listener; resolves once it listens. */
  static async start(opts: FakeHttpsOptions): Promise<FakeHttps> {
    const defaultCert = await opts.pki.issueLeaf({ names: [...(opts.defaultNames ?? DEFAULT_NAMES)] });
    const fake = new FakeHttps(opts, defaultCert);
    await new Promise<void>((resolve, reject) => {
      fake.#server.once('error', reject);
      fake.#server.listen(opts.port ?? 0, fake.host, () => {
        fake.#server.off('error', reject);
        resolve();
      });
    });
    const addr = fake.#server.address();
    fake.#port = typeof addr === 'object' && addr !== null ? addr.port : 0;
    return fake;
  }

  get port(): number {
    return this.#port;
  }

  /** Sets (or replaces) one host's behaviour. */
  setHost(name: string, behaviour: HostBehaviour): void {
    this.#hosts.set(lower(name), behaviour);
  }

  /** Replaces every host behaviour (the CLI's SIGHUP). */
  setHosts(hosts: Readonly<Record<string, HostBehaviour>>): void {
    this.#hosts = new Map(Object.entries(hosts).map(([k, v]) => [lower(k), v]));
  }

  /** Requests whose SNI or Host was `name`. */
  requestsFor(name: string): RequestRecord[] {
    const n = lower(name);
    return this.requests.filter((r) => r.host === n || r.sni === n);
  }

  async close(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const s of this.#sockets) s.destroy();
    await closed;
  }

  #contextFor(servername: string): Promise<SecureContext> {
    const name = lower(servername);
    const behaviour = this.#hosts.get(name);
    // Unknown SNI gets the default certificate, like a shared web server would serve.
    if (behaviour === undefined) return this.#context(this.#defaultNames, 'valid');
    return this.#context(behaviour.cert?.names ?? [name], behaviour.cert?.kind ?? 'valid');
  }

  #context(names: readonly string[], kind: LeafKind): Promise<SecureContext> {
    const key = JSON.stringify([kind, names]);
    let ctx = this.#contexts.get(key);
    if (!ctx) {
      ctx = this.#pki.issueLeaf({ names, kind }).then((leaf) => createSecureContext({ cert: leaf.certPem, key: leaf.keyPem }));
      this.#contexts.set(key, ctx);
      ctx.catch(() => this.#contexts.delete(key));
    }
    return ctx;
  }

  #answer(req: IncomingMessage, _res: ServerResponse): void {
    const socket = req.socket as TLSSocket;
    const sni = typeof socket.servername === 'string' ? lower(socket.servername) : undefined;
    const hostHeader = req.headers.host;
    const host = hostHeader !== undefined ? lower(hostHeader.replace(/:\d+$/, '')) : undefined;
    const record: RequestRecord = {
      sni,
      host,
      method: req.method ?? '',
      path: req.url ?? '',
      headers: { ...req.headers },
      bytesSent: 0,
      closedEarly: false,
    };
    this.requests.push(record);
    const behaviour = (host !== undefined ? this.#hosts.get(host) : undefined) ?? (sni !== undefined ? this.#hosts.get(sni) : undefined);
    const spec: ResponseSpec = behaviour?.response ?? { kind: 'body', status: 404, body: 'not found\n' };
    let finished = false;
    socket.on('close', () => {
      if (!finished) record.closedEarly = true;
    });
    // Peers that reset the connection (the fetcher aborting) are expected.
    socket.on('error', () => undefined);
    const send = (data: Buffer | string, cb?: () => void): boolean => {
      if (socket.destroyed) return false;
      record.bytesSent += Buffer.byteLength(data);
      return socket.write(data, cb);
    };
    const done = (): void => {
      finished = true;
      socket.end();
    };
    req.resume();

    switch (spec.kind) {
      case 'body': {
        const body = spec.bodyBase64 !== undefined ? Buffer.from(spec.bodyBase64, 'base64') : Buffer.from(spec.body ?? '');
        const { headers, payload } = framed(body, spec.framing ?? 'content-length', spec.declaredLength);
        const all: Array<[string, string]> = [];
        const contentType = spec.contentType === undefined ? 'text/plain' : spec.contentType;
        if (contentType !== null) all.push(['Content-Type', contentType]);
        all.push(...headers, ['Connection', 'close']);
        for (const [k, v] of Object.entries(spec.headers ?? {})) all.push([k, v]);
        send(head(spec.status ?? 200, all));
        send(payload);
        done();
        return;
      }
      case 'redirect':
        send(
          head(spec.status ?? 301, [
            ['Location', spec.location],
            ['Content-Length', '0'],
            ['Connection', 'close'],
          ]),
        );
        done();
        return;
      case 'trickle': {
        const body = Buffer.from(spec.body ?? 'version: STSv1\nmode: enforce\nmx: mail.example.test\nmax_age: 86400\n');
        const headers = Buffer.from(
          head(200, [
            ['Content-Type', spec.contentType ?? 'text/plain'],
            ['Content-Length', String(body.length)],
            ['Connection', 'close'],
          ]),
        );
        let pending: Buffer;
        if (spec.headersToo === true) {
          pending = Buffer.concat([headers, body]);
        } else {
          send(headers);
          pending = body;
        }
        const intervalMs = Math.max(1, Math.round(1000 / Math.max(spec.bytesPerSecond, 0.001)));
        const tick = (): void => {
          if (socket.destroyed) return;
          if (pending.length === 0) {
            done();
            return;
          }
          send(pending.subarray(0, 1));
          pending = pending.subarray(1);
          this.#later(tick, intervalMs);
        };
        this.#later(tick, intervalMs);
        return;
      }
      case 'huge': {
        const framing = spec.framing ?? 'content-length';
        const all: Array<[string, string]> = [['Content-Type', spec.contentType ?? 'text/plain']];
        if (framing === 'content-length') all.push(['Content-Length', String(spec.declaredLength ?? spec.bytes)]);
        if (framing === 'chunked') all.push(['Transfer-Encoding', 'chunked']);
        all.push(['Connection', 'close']);
        send(head(200, all));
        const block = Buffer.alloc(WRITE_CHUNK, 'a');
        let left = spec.bytes;
        const pump = (): void => {
          while (left > 0 && !socket.destroyed) {
            const n = Math.min(left, WRITE_CHUNK);
            left -= n;
            const piece = block.subarray(0, n);
            const data = framing === 'chunked' ? Buffer.concat([Buffer.from(`${n.toString(16)}\r\n`), piece, Buffer.from('\r\n')]) : piece;
            if (!send(data)) {
              socket.once('drain', pump);
              return;
            }
          }
          if (left === 0 && !socket.destroyed) {
            if (framing === 'chunked') send('0\r\n\r\n');
            done();
          }
        };
        pump();
        return;
      }
      case 'hang':
        return;
      case 'close-mid-body': {
        const body = Buffer.from(spec.body);
        send(
          head(200, [
            ['Content-Type', spec.contentType ?? 'text/plain'],
            ['Content-Length', String(body.length)],
            ['Connection', 'close'],
          ]),
        );
        send(body.subarray(0, Math.min(spec.sendBytes, body.length)));
        // Not `done()`: the answer is deliberately incomplete.
        socket.end();
        return;
      }
      default: {
        const _never: never = spec;
        throw new Error(`unknown response kind ${JSON.stringify(_never)}`);
      }
    }
  }

  #later(fn: () => void, ms: number): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    this.#timers.add(t);
  }
}

function readConfig(path: string): FakeHttpsConfig {
  return JSON.parse(readFileSync(path, 'utf8')) as FakeHttpsConfig;
}

async function main(argv: readonly string[]): Promise<void> {
  const configPath = argv[0];
  if (configPath === undefined) {
    process.stderr.write('usage: https-server.js CONFIG.json\n');
    process.exit(2);
  }
  const config = readConfig(configPath);
  const pki = await createTestPki(config.pkiDir);
  const servers: FakeHttps[] = [];
  for (const l of config.listeners) {
    servers.push(
      await FakeHttps.start({
        pki,
        ...l,
        hosts: config.hosts,
        ...(config.defaultNames !== undefined ? { defaultNames: config.defaultNames } : {}),
      }),
    );
  }
  process.on('SIGHUP', () => {
    try {
      const next = readConfig(configPath);
      for (const s of servers) s.setHosts(next.hosts);
      process.stderr.write(`reloaded ${Object.keys(next.hosts).length} hosts (listeners unchanged)\n`);
    } catch (err) {
      process.stderr.write(`reload failed, keeping the old hosts: ${String(err)}\n`);
    }
  });
  const stop = (): void => {
    void Promise.all(servers.map((s) => s.close())).then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  for (const s of servers) process.stderr.write(`listening on ${s.host}:${s.port}\n`);
  process.stdout.write('READY\n');
}

function isMain(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isMain()) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`https-server: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
