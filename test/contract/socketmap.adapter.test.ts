import { Buffer } from 'node:buffer';
import { encodeNetstring } from '../../adapters/protocol/netstring.js';
import { socketmapAdapter } from '../../adapters/protocol/socketmap.js';
import { runProtocolAdapterContract, type ReplySplit } from './protocol-adapter.contract.js';

/** Complete netstrings at the start of `bytes`. */
function splitNetstrings(bytes: Uint8Array): ReplySplit {
  const buf = Buffer.from(bytes);
  const replies: Buffer[] = [];
  let at = 0;
  while (at < buf.length) {
    const colon = buf.indexOf(0x3a, at);
    const digits = buf.toString('latin1', at, colon < 0 ? buf.length : colon);
    if (!/^\d*$/.test(digits) || digits.length > 6) return { ok: false, reason: `bad netstring length ${JSON.stringify(digits)}` };
    if (colon < 0) break;
    if (digits === '') return { ok: false, reason: 'empty netstring length' };
    const end = colon + 1 + Number(digits);
    if (end >= buf.length) break;
    if (buf[end] !== 0x2c) return { ok: false, reason: 'missing comma' };
    replies.push(buf.subarray(at, end + 1));
    at = end + 1;
  }
  return { ok: true, replies, rest: buf.subarray(at) };
}

runProtocolAdapterContract('socketmap', {
  adapter: socketmapAdapter,
  oneShot: false,
  requests: (domains) => Buffer.concat(domains.map((d) => encodeNetstring(`postfix ${d}`))),
  splitReplies: splitNetstrings,
  classify: (reply) => {
    const text = Buffer.from(reply).toString('latin1');
    const payload = text.slice(text.indexOf(':') + 1, -1);
    if (payload.startsWith('OK ')) return 'found';
    if (payload === 'NOTFOUND ') return 'notfound';
    return 'error';
  },
  oversizedRequest: Buffer.concat([Buffer.from('20000:postfix '), Buffer.alloc(20000 - 8, 0x61), Buffer.from(',')]),
  garbage: [Buffer.from('5:abc'), Buffer.from('007:postfix,'), Buffer.from('99999999999999999999:'), Buffer.from('3:abcX')],
  invalidUtf8Request: encodeNetstring(Buffer.concat([Buffer.from('postfix '), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('.example')])),
  // About 20 bytes per host: some 60 kB per reply, under socketmap's 100,000.
  bulkyPolicyMx: 3000,
});
