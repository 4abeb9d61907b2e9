/**
 * SMTP servers for `check` tests: just enough ESMTP (220 greeting, EHLO, STARTTLS, QUIT) with a
 * chosen behaviour and certificate, on any loopback address and port.
 *
 * Behaviours: `starttls` (offered, TLS 1.2+), `no-starttls` (not offered), `refuse-starttls`
 * (offered, then 454), `tls10-only` (TLS 1.0 only: Node 20 needs `ciphers:
 * 'DEFAULT@SECLEVEL=0'` for OpenSSL 3 to allow it at all), `hang` (accepts the connection and
 * never says anything), `hang-tls` (STARTTLS accepted, then silence instead of a handshake).
 *
 * CLI (the integration harness, inside a network namespace):
 *   node dist/test/world/smtp-server.js CONFIG.json
 * CONFIG is a list of {@link SmtpListenerFile}. Prints `READY` once all listen; stops on SIGTERM.
 */
import { readFileSync, realpathSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';

export type SmtpBehaviour = 'starttls' | 'no-starttls' | 'refuse-starttls' | 'tls10-only' | 'hang' | 'hang-tls';

export interface FakeSmtpOptions {
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port?: number;
  readonly behaviour: SmtpBehaviour;
  /** The certificate presented after STARTTLS (needed unless the behaviour never gets there). */
  readonly certPem?: string;
  readonly keyPem?: string;
  /** The name in the greeting and EHLO reply. */
  readonly name?: string;
}

/** One listener of the CLI's config file. */
export interface SmtpListenerFile {
  readonly host: string;
  readonly port: number;
  readonly behaviour: SmtpBehaviour;
  readonly certPath?: string;
  readonly keyPath?: string;
  readonly name?: string;
}

export class FakeSmtp {
  /** EHLO names received, in order. */
  readonly ehlos: string[] = [];
  /** Connections that completed a TLS handshake. */
  handshakes = 0;
  readonly #sockets = new Set<net.Socket>();
  readonly #server: net.Server;
  readonly #context: tls.SecureContext | undefined;
  #port = 0;

  private constructor(private readonly o: FakeSmtpOptions) {
    if (o.certPem !== undefined && o.keyPem !== undefined) {
      this.#context =
        o.behaviour === 'tls10-only'
          ? tls.createSecureContext({
              cert: o.certPem,
              key: o.keyPem,
              minVersion: 'TLSv1',
              maxVersion: 'TLSv1',
              ciphers: 'DEFAULT@SECLEVEL=0',
            })
          : tls.createSecureContext({ cert: o.certPem, key: o.keyPem });
    }
    this.#server = net.createServer((socket) => this.#onConnection(socket));
    this.#server.on('error', () => undefined);
  }

  static async start(o: FakeSmtpOptions): Promise<FakeSmtp> {
    const fake = new FakeSmtp(o);
    await new Promise<void>((resolve, reject) => {
      fake.#server.once('error', reject);
      fake.#server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => {
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

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const s of this.#sockets) s.destroy();
    await closed;
  }

  #track(socket: net.Socket): void {
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => undefined);
  }

  #onConnection(socket: net.Socket): void {
    this.#track(socket);
    if (this.o.behaviour === 'hang') return;
    const name = this.o.name ?? 'mx.test';
    socket.write(`220 ${name} ESMTP test\r\n`);
    this.#converse(socket, name, false);
  }

  /** Read command lines on `s` (clear text or TLS) and answer them. */
  #converse(s: net.Socket, name: string, secure: boolean): void {
    let buffer = '';
    const onData = (chunk: Buffer): void => {
      buffer += chunk.toString('latin1');
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const line = buffer.slice(0, nl).replace(/\r$/, '');
        buffer = buffer.slice(nl + 1);
        const verb = (line.split(' ')[0] ?? '').toUpperCase();
        switch (verb) {
          case 'EHLO': {
            this.ehlos.push(line.slice(5));
            const offer = !secure && this.o.behaviour !== 'no-starttls';
            s.write(`250-${name}\r\n250-PIPELINING\r\n${offer ? '250-STARTTLS\r\n' : ''}250 8BITMIME\r\n`);
            break;
          }
          case 'STARTTLS':
            if (secure || this.o.behaviour === 'no-starttls') {
              s.write('502 5.5.1 not now\r\n');
            } else if (this.o.behaviour === 'refuse-starttls' || this.#context === undefined) {
              s.write('454 4.7.0 TLS not available\r\n');
            } else {
              s.write('220 2.0.0 Ready to start TLS\r\n');
              s.off('data', onData);
              if (this.o.behaviour === 'hang-tls') return;
              this.#upgrade(s, name);
              return;
            }
            break;
          case 'QUIT':
            s.end('221 2.0.0 Bye\r\n');
            return;
          default:
            s.write('250 2.0.0 OK\r\n');
        }
      }
    };
    s.on('data', onData);
  }

  #upgrade(socket: net.Socket, name: string): void {
    const secure = new tls.TLSSocket(socket, { isServer: true, secureContext: this.#context as tls.SecureContext });
    this.#track(secure);
    secure.on('secure', () => {
      this.handshakes++;
    });
    this.#converse(secure, name, true);
  }
}

async function main(argv: readonly string[]): Promise<void> {
  const path = argv[0];
  if (path === undefined) {
    process.stderr.write('usage: smtp-server.js CONFIG.json\n');
    process.exit(2);
  }
  const listeners = JSON.parse(readFileSync(path, 'utf8')) as SmtpListenerFile[];
  const servers: FakeSmtp[] = [];
  for (const l of listeners) {
    servers.push(
      await FakeSmtp.start({
        host: l.host,
        port: l.port,
        behaviour: l.behaviour,
        ...(l.certPath !== undefined ? { certPem: readFileSync(l.certPath, 'utf8') } : {}),
        ...(l.keyPath !== undefined ? { keyPem: readFileSync(l.keyPath, 'utf8') } : {}),
        ...(l.name !== undefined ? { name: l.name } : {}),
      }),
    );
  }
  const stop = (): void => {
    void Promise.all(servers.map((s) => s.close())).then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
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
    process.stderr.write(`smtp-server: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
