import { Buffer } from 'node:buffer';
import { eximAdapter } from '../../adapters/protocol/exim.js';
import { runProtocolAdapterContract, type ReplySplit } from './protocol-adapter.contract.js';

/** The reply line (`enforce|testing|none|defer|error ...\n`), at most one per connection. */
function splitLine(bytes: Uint8Array): ReplySplit {
  const buf = Buffer.from(bytes);
  const nl = buf.indexOf(0x0a);
  if (nl < 0) return { ok: true, replies: [], rest: buf };
  const line = buf.subarray(0, nl + 1);
  if (!/^(enforce|testing|none|defer|error)( [^\n]*)?\n$/.test(line.toString('latin1')))
    return { ok: false, reason: `bad reply line ${JSON.stringify(line.toString('latin1'))}` };
  if (nl + 1 < buf.length) return { ok: false, reason: 'bytes after the one-shot reply' };
  return { ok: true, replies: [line], rest: buf.subarray(nl + 1) };
}

runProtocolAdapterContract('exim', {
  adapter: eximAdapter,
  oneShot: true,
  requests: (domains) => Buffer.from(domains.map((d) => `${d}\n`).join(''), 'latin1'),
  splitReplies: splitLine,
  classify: (reply) => {
    const word = Buffer.from(reply).toString('latin1').split(/[ \n]/)[0];
    return word === 'enforce' || word === 'testing' ? 'found' : word === 'none' ? 'notfound' : 'error';
  },
  oversizedRequest: Buffer.from(`${'a'.repeat(5000)}.example\n`, 'latin1'),
  garbage: [Buffer.from('a b c d\n'), Buffer.from('\n'), Buffer.from('[192.0.2.1]\n')],
  invalidUtf8Request: Buffer.concat([Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('.example\n')]),
  bulkyPolicyMx: 0,
});
