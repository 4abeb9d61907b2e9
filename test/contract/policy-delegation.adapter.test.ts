import { Buffer } from 'node:buffer';
import { policyDelegationAdapter } from '../../adapters/protocol/policy-delegation.js';
import { runProtocolAdapterContract, type ReplySplit } from './protocol-adapter.contract.js';

/** Complete `action=...\n\n` blocks at the start of `bytes`. */
function splitBlocks(bytes: Uint8Array): ReplySplit {
  const buf = Buffer.from(bytes);
  const replies: Buffer[] = [];
  let at = 0;
  for (let end = buf.indexOf('\n\n', at); end >= 0; end = buf.indexOf('\n\n', at)) {
    const block = buf.subarray(at, end + 2);
    if (!/^action=[^\n]+\n\n$/.test(block.toString('latin1')))
      return { ok: false, reason: `bad reply block ${JSON.stringify(block.toString('latin1'))}` };
    replies.push(block);
    at = end + 2;
  }
  const rest = buf.subarray(at);
  if (rest.length > 0 && !'action='.startsWith(rest.toString('latin1').slice(0, 7)))
    return { ok: false, reason: 'reply does not start with action=' };
  return { ok: true, replies, rest };
}

const request = (recipient: Buffer | string): Buffer =>
  Buffer.concat([
    Buffer.from(
      'request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\nclient_address=192.0.2.1\nsender=a@example.net\nrecipient=',
    ),
    Buffer.from(recipient),
    Buffer.from('\ninstance=1a2b.3c4d.0\n\n'),
  ]);

runProtocolAdapterContract('policy delegation', {
  adapter: policyDelegationAdapter,
  oneShot: false,
  requests: (domains) => Buffer.concat(domains.map((d) => request(`user@${d}`))),
  splitReplies: splitBlocks,
  // The answer is always DUNNO ("no opinion"): the adapter only warms the cache.
  classify: (reply) => (Buffer.from(reply).toString('latin1') === 'action=DUNNO\n\n' ? 'notfound' : 'error'),
  oversizedRequest: request('x'.repeat(70_000)),
  garbage: [Buffer.from('a=b\n'.repeat(150) + '\n'), Buffer.from('=value\n\n'), Buffer.from('novalue\n\n')],
  invalidUtf8Request: request(Buffer.concat([Buffer.from('user@'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('.example')])),
  // The reply never depends on a policy: only the pending-request bound applies.
  bulkyPolicyMx: 0,
});
