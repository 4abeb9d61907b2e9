/**
 * A small SMTP server for end-to-end delivery tests: STARTTLS with a given certificate, accepts
 * every message and prints `RECEIVED <listen address> <recipients>` on stdout. Never relays,
 * never stores. One process serves several addresses, each with its own certificate (so each
 * fake MX host presents its own).
 *
 * CLI: `node dist/test/world/smtp-sink.js <config.json>` with a {@link SinkConfig}; prints
 * `READY` once every address listens; stops on SIGTERM/SIGINT.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { pathToFileURL } from 'node:url';

/** RFC 5321 §4.5.3.1.4: a command line is at most 512 octets; we allow a little more. */
const MAX_LINE = 2048;
/** Bound on a message body in the tests. */
const MAX_MESSAGE = 1024 * 1024;

export interface SinkListener {
  readonly host: string;
  readonly port: number;
  readonly certPath: string;
  readonly keyPath: string;
  /** The name in the greeting. */
  readonly name: string;
}

export interface SinkConfig {
  readonly listeners: readonly SinkListener[];
}

function serve(listener: SinkListener, socket: net.Socket): void {
  const cert = readFileSync(listener.certPath);
  const key = readFileSync(listener.keyPath);
  let stream: net.Socket | tls.TLSSocket = socket;
  let buffer = '';
  let inData = false;
  let body = '';
  let rcpts: string[] = [];
  const say = (line: string): void => {
    stream.write(`${line}\r\n`);
  };
  const onLine = (line: string): void => {
    if (inData) {
      if (line === '.') {
        inData = false;
        process.stdout.write(`RECEIVED ${listener.host} ${rcpts.join(',')} tls=${stream instanceof tls.TLSSocket}\n`);
        rcpts = [];
        body = '';
        say('250 2.0.0 Ok: queued');
      } else if (body.length < MAX_MESSAGE) {
        body += `${line}\n`;
      }
      return;
    }
    const verb = line.slice(0, 4).toUpperCase();
    if (verb === 'EHLO') {
      const tlsOn = stream instanceof tls.TLSSocket;
      stream.write(`250-${listener.name}\r\n${tlsOn ? '' : '250-STARTTLS\r\n'}250 8BITMIME\r\n`);
    } else if (verb === 'HELO') say(`250 ${listener.name}`);
    else if (verb === 'STAR') {
      say('220 2.0.0 Ready to start TLS');
      const plain = socket;
      plain.removeAllListeners('data');
      const secure = new tls.TLSSocket(plain, { isServer: true, cert, key });
      secure.setEncoding('utf8');
      secure.on('error', () => plain.destroy());
      secure.on('data', onData);
      stream = secure;
      buffer = '';
    } else if (verb === 'MAIL') say('250 2.1.0 Ok');
    else if (verb === 'RCPT') {
      rcpts.push(line.replace(/^RCPT TO:\s*/i, ''));
      say('250 2.1.5 Ok');
    } else if (verb === 'DATA') {
      inData = true;
      say('354 End data with <CR><LF>.<CR><LF>');
    } else if (verb === 'RSET' || verb === 'NOOP') say('250 2.0.0 Ok');
    else if (verb === 'QUIT') {
      say('221 2.0.0 Bye');
      stream.end();
    } else say('502 5.5.2 Error: command not recognized');
  };
  const onData = (d: string): void => {
    buffer += d;
    if (buffer.length > MAX_LINE && !buffer.includes('\n')) {
      stream.destroy();
      return;
    }
    let at: number;
    while ((at = buffer.indexOf('\r\n')) >= 0) {
      const line = buffer.slice(0, at);
      buffer = buffer.slice(at + 2);
      onLine(line);
    }
  };
  socket.setEncoding('utf8');
  socket.on('error', () => undefined);
  socket.on('data', onData);
  say(`220 ${listener.name} ESMTP test sink`);
}

async function main(argv: readonly string[]): Promise<void> {
  const [path] = argv;
  if (path === undefined) throw new Error('usage: smtp-sink.js <config.json>');
  const config = JSON.parse(readFileSync(path, 'utf8')) as SinkConfig;
  const servers: net.Server[] = [];
  for (const l of config.listeners) {
    const server = net.createServer((s) => serve(l, s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(l.port, l.host, () => resolve());
    });
    servers.push(server);
  }
  const stop = (): void => {
    for (const s of servers) s.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdout.write('READY\n');
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`smtp-sink: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
