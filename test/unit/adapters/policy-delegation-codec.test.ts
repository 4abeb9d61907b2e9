import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import type { DecodeStep } from '../../../src/protocol/types.js';
import {
  POLICY_MAX_ATTRIBUTES,
  POLICY_MAX_LINE_BYTES,
  POLICY_MAX_REQUEST_BYTES,
  encodePolicyReply,
  newPolicyDecoder,
  type PolicyRequest,
} from '../../../adapters/protocol/policy-attributes.js';

type Step = DecodeStep<PolicyRequest>;

/** Feed `input` in pieces of `size` bytes (0: all at once), then end. */
function decode(input: string | Buffer, size = 0, end = true): Step[] {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const d = newPolicyDecoder();
  const steps: Step[] = [];
  const n = size === 0 ? bytes.length || 1 : size;
  for (let i = 0; i < bytes.length; i += n) steps.push(...d.push(bytes.subarray(i, i + n)));
  if (end) steps.push(...d.end());
  return steps;
}

/** Split at every offset into two chunks. */
function decodeSplits(input: string): Step[][] {
  const bytes = Buffer.from(input, 'utf8');
  const out: Step[][] = [];
  for (let at = 0; at <= bytes.length; at += 1) {
    const d = newPolicyDecoder();
    out.push([...d.push(bytes.subarray(0, at)), ...d.push(bytes.subarray(at)), ...d.end()]);
  }
  return out;
}

const POSTFIX_RCPT = [
  'request=smtpd_access_policy',
  'protocol_state=RCPT',
  'protocol_name=ESMTP',
  'client_address=192.0.2.7',
  'client_name=client.example',
  'helo_name=client.example',
  'sender=alice@sender.example',
  'recipient=bob@enforce.test',
  'recipient_count=0',
  'queue_id=',
  'instance=123.456.7',
  'size=12345',
  'etrn_domain=',
  'stress=',
  'sasl_method=',
  'ccert_subject=',
  'encryption_protocol=TLSv1.3',
  'policy_context=',
  'server_address=127.0.0.3',
  'server_port=25',
  '',
  '',
].join('\n');

const RCPT_REQUEST: PolicyRequest = {
  request: 'smtpd_access_policy',
  protocolState: 'RCPT',
  clientAddress: '192.0.2.7',
  sender: 'alice@sender.example',
  recipient: 'bob@enforce.test',
  instance: '123.456.7',
};

describe('policy delegation decoder', () => {
  const table: ReadonlyArray<{ name: string; input: string; expect: Step[] }> = [
    {
      name: 'a full Postfix RCPT request, unknown names ignored',
      input: POSTFIX_RCPT,
      expect: [{ kind: 'request', request: RCPT_REQUEST }],
    },
    {
      name: 'two requests on one connection',
      input: 'protocol_state=RCPT\nrecipient=a@x.test\n\nprotocol_state=RCPT\nrecipient=b@y.test\n\n',
      expect: [
        { kind: 'request', request: { protocolState: 'RCPT', recipient: 'a@x.test' } },
        { kind: 'request', request: { protocolState: 'RCPT', recipient: 'b@y.test' } },
      ],
    },
    { name: 'an empty block is an empty request', input: '\n', expect: [{ kind: 'request', request: {} }] },
    {
      name: 'value may contain =',
      input: 'recipient="a=b"@x.test\n\n',
      expect: [{ kind: 'request', request: { recipient: '"a=b"@x.test' } }],
    },
    { name: 'empty value', input: 'recipient=\n\n', expect: [{ kind: 'request', request: { recipient: '' } }] },
    {
      name: 'a repeated name keeps the last value',
      input: 'recipient=a@x.test\nrecipient=b@x.test\n\n',
      expect: [{ kind: 'request', request: { recipient: 'b@x.test' } }],
    },
    {
      name: 'CRLF from a hand-typed session is tolerated',
      input: 'protocol_state=RCPT\r\nrecipient=a@x.test\r\n\r\n',
      expect: [{ kind: 'request', request: { protocolState: 'RCPT', recipient: 'a@x.test' } }],
    },
    {
      name: 'UTF-8 value',
      input: 'recipient=jürgen@bücher.test\n\n',
      expect: [{ kind: 'request', request: { recipient: 'jürgen@bücher.test' } }],
    },
    { name: 'nothing sent: no step', input: '', expect: [] },
    {
      name: 'a line without = ends the stream',
      input: 'protocol_state=RCPT\nbogus\n\nrecipient=a@x.test\n\n',
      expect: [{ kind: 'error', code: 'EDELEGATION_NO_EQUALS', message: 'attribute line 2 is not name=value' }],
    },
    {
      name: 'an empty name is malformed',
      input: '=value\n\n',
      expect: [{ kind: 'error', code: 'EDELEGATION_NO_EQUALS', message: 'attribute line 1 is not name=value' }],
    },
    {
      name: 'requests before a malformed one are still delivered',
      input: 'recipient=a@x.test\n\nnonsense\n',
      expect: [
        { kind: 'request', request: { recipient: 'a@x.test' } },
        { kind: 'error', code: 'EDELEGATION_NO_EQUALS', message: 'attribute line 1 is not name=value' },
      ],
    },
    {
      name: 'closed in the middle of a block',
      input: 'protocol_state=RCPT\nrecipient=a@x.test\n',
      expect: [{ kind: 'error', code: 'EDELEGATION_TRUNCATED', message: 'connection closed in the middle of a request' }],
    },
    {
      name: 'closed in the middle of a line',
      input: 'protocol_state=RC',
      expect: [{ kind: 'error', code: 'EDELEGATION_TRUNCATED', message: 'connection closed in the middle of a request' }],
    },
  ];

  for (const row of table) {
    it(`${row.name} (whole, byte by byte, every split)`, () => {
      assert.deepEqual(decode(row.input), row.expect);
      assert.deepEqual(decode(row.input, 1), row.expect);
      assert.deepEqual(decode(row.input, 16), row.expect);
      for (const [at, steps] of decodeSplits(row.input).entries()) assert.deepEqual(steps, row.expect, `split at ${at}`);
    });
  }

  it('accepts a line of exactly the limit, refuses one byte more', () => {
    const value = (n: number): string => 'x'.repeat(n - 'recipient='.length);
    const ok = `recipient=${value(POLICY_MAX_LINE_BYTES)}\n\n`;
    const steps = decode(ok, 1000);
    assert.equal(steps.length, 1);
    assert.equal(steps[0]?.kind, 'request');
    for (const size of [0, 1000, 1]) {
      const bad = decode(`recipient=${value(POLICY_MAX_LINE_BYTES + 1)}\n\n`, size);
      assert.deepEqual(
        bad.map((s) => (s.kind === 'error' ? s.code : s.kind)),
        ['EDELEGATION_LINE_TOO_LONG'],
        `read size ${size}`,
      );
    }
  });

  it('refuses an endless line before it ends (memory bound)', () => {
    const d = newPolicyDecoder();
    const chunk = Buffer.alloc(4096, 0x61);
    let steps: Step[] = [];
    for (let i = 0; i < 10 && steps.length === 0; i += 1) steps = d.push(chunk);
    assert.deepEqual(
      steps.map((s) => (s.kind === 'error' ? s.code : s.kind)),
      ['EDELEGATION_LINE_TOO_LONG'],
    );
    assert.deepEqual(d.push(Buffer.from('\n\n')), [], 'nothing after the first error');
    assert.deepEqual(d.end(), []);
  });

  it(`refuses more than ${POLICY_MAX_ATTRIBUTES} attributes`, () => {
    const lines = (n: number): string => `${Array.from({ length: n }, (_, i) => `a${i}=v`).join('\n')}\n\n`;
    assert.equal(decode(lines(POLICY_MAX_ATTRIBUTES))[0]?.kind, 'request');
    const steps = decode(lines(POLICY_MAX_ATTRIBUTES + 1));
    assert.deepEqual(
      steps.map((s) => (s.kind === 'error' ? s.code : s.kind)),
      ['EDELEGATION_TOO_MANY_ATTRIBUTES'],
    );
  });

  it(`refuses a block larger than ${POLICY_MAX_REQUEST_BYTES} bytes`, () => {
    // Few long lines: under the attribute count, over the block size.
    const line = `a=${'v'.repeat(POLICY_MAX_LINE_BYTES - 2)}\n`;
    const count = Math.ceil(POLICY_MAX_REQUEST_BYTES / line.length) + 1;
    assert.ok(count < POLICY_MAX_ATTRIBUTES);
    const steps = decode(line.repeat(count) + '\n', 4096);
    assert.deepEqual(
      steps.map((s) => (s.kind === 'error' ? s.code : s.kind)),
      ['EDELEGATION_REQUEST_TOO_LARGE'],
    );
  });

  it('the block limit counts one request only', () => {
    const request = `a=${'v'.repeat(1000)}\n\n`;
    const many = request.repeat(Math.ceil((2 * POLICY_MAX_REQUEST_BYTES) / request.length));
    const steps = decode(many, 4096);
    assert.ok(steps.every((s) => s.kind === 'request'));
  });

  it("does not keep the caller's chunk buffer", () => {
    const d = newPolicyDecoder();
    const chunk = Buffer.from('recipient=a@x.te');
    assert.deepEqual(d.push(chunk), []);
    chunk.fill(0x7a);
    assert.deepEqual(d.push(Buffer.from('st\n\n')), [{ kind: 'request', request: { recipient: 'a@x.test' } }]);
  });
});

describe('encodePolicyReply', () => {
  it('is one action line and an empty line', () => {
    assert.equal(Buffer.from(encodePolicyReply('DUNNO')).toString('utf8'), 'action=DUNNO\n\n');
  });
  it('cannot be made to inject lines', () => {
    assert.equal(Buffer.from(encodePolicyReply('DUNNO\n\naction=REJECT')).toString('utf8'), 'action=DUNNO  action=REJECT\n\n');
  });
});
