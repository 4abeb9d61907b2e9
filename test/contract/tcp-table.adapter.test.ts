import { Buffer } from 'node:buffer';
import { tcpTableAdapter } from '../../adapters/protocol/tcp-table.js';
import { runProtocolAdapterContract, type ReplySplit } from './protocol-adapter.contract.js';

/** Complete `200|400|500 <text>\n` lines at the start of `bytes`. */
function splitLines(bytes: Uint8Array): ReplySplit {
  const buf = Buffer.from(bytes);
  const replies: Buffer[] = [];
  let at = 0;
  for (let nl = buf.indexOf(0x0a, at); nl >= 0; nl = buf.indexOf(0x0a, at)) {
    const line = buf.subarray(at, nl + 1);
    if (!/^(200|400|500) [\x21-\x7e]*\n$/.test(line.toString('latin1')))
      return { ok: false, reason: `bad reply line ${JSON.stringify(line.toString('latin1'))}` };
    if (line.length > 4096) return { ok: false, reason: 'reply line over 4096 bytes' };
    replies.push(line);
    at = nl + 1;
  }
  if (buf.length - at > 4096) return { ok: false, reason: 'unterminated reply over 4096 bytes' };
  return { ok: true, replies, rest: buf.subarray(at) };
}

runProtocolAdapterContract('tcp_table', {
  adapter: tcpTableAdapter,
  oneShot: false,
  requests: (domains) => Buffer.from(domains.map((d) => `get ${d}\n`).join(''), 'latin1'),
  splitReplies: splitLines,
  classify: (reply) => {
    const code = Buffer.from(reply).toString('latin1', 0, 3);
    return code === '200' ? 'found' : code === '500' ? 'notfound' : 'error';
  },
  oversizedRequest: Buffer.from(`get ${'a'.repeat(5000)}.example\n`, 'latin1'),
  garbage: [Buffer.from('put example.com x\n'), Buffer.from('get %zz\n'), Buffer.from('get \n\n\n'), Buffer.from('get a%0Ab.example\n')],
  invalidUtf8Request: Buffer.concat([Buffer.from('get '), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('.example\n')]),
  // Under tcp_table's 4096-byte reply line with `%XX`-quoted separators.
  bulkyPolicyMx: 140,
});
