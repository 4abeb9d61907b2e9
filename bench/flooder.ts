/**
 * Flooding clients (bench/flood-run.ts forks this; never run by hand): `count` connections to
 * 127.0.0.1:`port` that pipeline socketmap requests as fast as the socket takes them and never
 * read a reply, so the daemon sees no backpressure until the kernel's buffers are full.
 *
 * argv: <port> <count> <domains>. Sends `{type:'connected'}` once every connection is open.
 */
import net from 'node:net';
import { Buffer } from 'node:buffer';
import { encodeNetstring } from '../adapters/protocol/netstring.js';
import { benchDomain } from './fake-network.js';

const [portArg = '0', countArg = '200', domainsArg = '200'] = process.argv.slice(2);
const port = Number(portArg);
const domains = Number(domainsArg);
// About 64 KiB of requests, written again whenever the socket drains.
const parts: Buffer[] = [];
let size = 0;
for (let i = 0; size < 65_536; i += 1) {
  const b = encodeNetstring(`postfix ${benchDomain(i % domains)}`);
  parts.push(b);
  size += b.length;
}
const batch = Buffer.concat(parts);

let connected = 0;
const sockets: net.Socket[] = [];
for (let i = 0; i < Number(countArg); i += 1) {
  const s = net.connect(port, '127.0.0.1');
  sockets.push(s);
  s.on('error', () => undefined);
  s.pause(); // never read
  s.on('connect', () => {
    connected += 1;
    if (connected === sockets.length) process.send?.({ type: 'connected' });
    const pump = (): void => {
      while (s.write(batch));
    };
    s.on('drain', pump);
    pump();
  });
}
process.on('message', (m: { type?: string }) => {
  if (m.type === 'stop') {
    for (const s of sockets) s.destroy();
    process.exit(0);
  }
});
