/**
 * A tiny SMTP client run as a script INSIDE the test namespace (the test process itself is
 * outside it): `node smtp-client.js HOST PORT FROM RCPT...`. Prints one JSON array of
 * `{ command, reply, ms }` (ms measured from sending the command to the last reply line), and
 * never sends DATA: the test is about RCPT time, not delivery.
 */
import net from 'node:net';

interface Exchange {
  readonly command: string;
  readonly reply: string;
  readonly ms: number;
}

const [host = '127.0.0.1', port = '25', from = '', ...rcpts] = process.argv.slice(2);
const socket = net.connect(Number(port), host);
socket.setEncoding('utf8');
let buffer = '';
let waiting: ((reply: string) => void) | undefined;

socket.on('data', (d: string) => {
  buffer += d;
  // A reply is complete at a line whose 4th character is a space ("250 ..." not "250-...").
  const lines = buffer.split('\r\n');
  const done = lines.findIndex((l) => /^[0-9]{3}(?: |$)/.test(l));
  if (done >= 0 && waiting !== undefined) {
    const reply = lines.slice(0, done + 1).join('\n');
    buffer = lines.slice(done + 1).join('\r\n');
    const w = waiting;
    waiting = undefined;
    w(reply);
  }
});
socket.on('error', (err) => {
  process.stderr.write(`smtp-client: ${err.message}\n`);
  process.exit(2);
});

function send(command: string | undefined): Promise<Exchange> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    waiting = (reply) => resolve({ command: command ?? '(greeting)', reply, ms: performance.now() - t0 });
    if (command !== undefined) socket.write(`${command}\r\n`);
  });
}

const out: Exchange[] = [];
out.push(await send(undefined));
out.push(await send('EHLO client.test'));
out.push(await send(`MAIL FROM:<${from}>`));
for (const rcpt of rcpts) out.push(await send(`RCPT TO:<${rcpt}>`));
out.push(await send('RSET'));
out.push(await send('QUIT'));
socket.end();
process.stdout.write(`${JSON.stringify(out)}\n`);
