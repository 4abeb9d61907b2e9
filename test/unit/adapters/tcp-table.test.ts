import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import type { Logger } from 'winston';
import {
  TCP_TABLE_MAX_REPLY_BYTES,
  TCP_TABLE_MAX_REQUEST_BYTES,
  parseTcpTableLine,
  tcpTableAdapter,
  type TcpTableRequest,
} from '../../../adapters/protocol/tcp-table.js';
import { hexQuote, hexUnquote } from '../../../adapters/protocol/hex-quote.js';
import type { DecodeStep, HandlerContext } from '../../../src/protocol/types.js';
import type { Resolution } from '../../../src/resolver/types.js';
import { FakeLookup, captureLogger, chunks, policy, policyResolution, zone } from './fixtures.js';

const b = (s: string): Buffer => Buffer.from(s, 'utf8');

function decodeAll(parts: readonly Uint8Array[]): Array<DecodeStep<TcpTableRequest>> {
  const d = tcpTableAdapter.newDecoder();
  const out: Array<DecodeStep<TcpTableRequest>> = [];
  for (const p of parts) out.push(...d.push(p));
  out.push(...d.end());
  return out;
}

describe('tcp_table adapter shape', () => {
  it('is a many-requests-per-connection adapter with tcp_table(5) limits', () => {
    assert.equal(tcpTableAdapter.protocol, 'tcp_table');
    assert.equal(tcpTableAdapter.oneShot, false);
    assert.equal(TCP_TABLE_MAX_REPLY_BYTES, 4096);
    assert.equal(tcpTableAdapter.maxRequestBytes, TCP_TABLE_MAX_REQUEST_BYTES);
  });
});

describe('tcp_table decoder', () => {
  const wire = b(
    'get example.com\n' +
      'get b%C3%BCcher.de\r\n' +
      'get b%c3%bccher.de\n' +
      'get %5Bmail.example.org%5D:587\n' +
      'get two%20words\n' +
      'get \n' +
      'put x y\n' +
      'GET example.com\n' +
      '\n' +
      'get bad%zzescape\n' +
      'get raw space\n',
  );
  const want: TcpTableRequest[] = [
    { kind: 'get', key: 'example.com' },
    { kind: 'get', key: 'bücher.de' },
    { kind: 'get', key: 'bücher.de' },
    { kind: 'get', key: '[mail.example.org]:587' },
    { kind: 'get', key: 'two words' },
    { kind: 'get', key: '' },
    { kind: 'invalid', code: 'ETCPTABLE_BAD_COMMAND', detail: 'not a "get" request: "put x y"' },
    { kind: 'invalid', code: 'ETCPTABLE_BAD_COMMAND', detail: 'not a "get" request: "GET example.com"' },
    { kind: 'invalid', code: 'ETCPTABLE_BAD_COMMAND', detail: 'not a "get" request: ""' },
    { kind: 'invalid', code: 'ETCPTABLE_BAD_ESCAPE', detail: 'bad %XX escape in "get bad%zzescape"' },
    { kind: 'get', key: 'raw space' },
  ];
  const steps = want.map((request) => ({ kind: 'request', request }));

  it('whole', () => assert.deepEqual(decodeAll([wire]), steps));
  it('byte by byte', () => assert.deepEqual(decodeAll(chunks(wire, 1)), steps));
  for (const size of [4096, 128, 16, 3]) {
    it(`in chunks of ${size}`, () => assert.deepEqual(decodeAll(chunks(wire, size)), steps));
  }
  it('split at every offset (including inside %XX and CRLF)', () => {
    for (let i = 0; i <= wire.length; i += 1) {
      assert.deepEqual(decodeAll([wire.subarray(0, i), wire.subarray(i)]), steps, `split at ${i}`);
    }
  });
  it('invalid UTF-8 after %XX decoding becomes U+FFFD, not an error', () => {
    const r = parseTcpTableLine(b('get exa%FF%FEmple.com'));
    assert.ok(r.kind === 'get' && r.key.includes('\uFFFD'));
  });
  it('a request line of exactly the limit is accepted; one byte more is an error with a 400 reply', () => {
    const key = 'a'.repeat(TCP_TABLE_MAX_REQUEST_BYTES - 'get \n'.length);
    assert.deepEqual(decodeAll([b(`get ${key}\n`)]), [{ kind: 'request', request: { kind: 'get', key } }]);
    const over = decodeAll([b(`get ${key}a\n`)]);
    assert.equal(over.length, 1);
    const s = over[0];
    assert.ok(s?.kind === 'error');
    assert.equal(s.code, 'ETCPTABLE_TOO_LONG');
    assert.equal(Buffer.from(s.reply ?? []).toString('latin1'), '400 request%20too%20long\n');
  });
  it('an endless line is refused as soon as it passes the limit, without waiting for a newline', () => {
    const d = tcpTableAdapter.newDecoder();
    const steps = d.push(Buffer.alloc(TCP_TABLE_MAX_REQUEST_BYTES + 10, 0x61));
    assert.equal(steps.length, 1);
    assert.equal(steps[0]?.kind === 'error' && steps[0].code, 'ETCPTABLE_TOO_LONG');
    assert.deepEqual(d.push(b('get example.com\n')), [], 'nothing after the error');
  });
  it('a stream ending inside a line is a truncation error without reply', () => {
    const steps = decodeAll([b('get a.example\nget b.exa')]);
    assert.equal(steps.length, 2);
    assert.deepEqual(steps[0], { kind: 'request', request: { kind: 'get', key: 'a.example' } });
    const e = steps[1];
    assert.ok(e?.kind === 'error' && e.code === 'ETCPTABLE_TRUNCATED' && e.reply === undefined);
  });
  it('a clean end yields nothing', () => assert.deepEqual(decodeAll([b('get a\n')]).length, 1));
  it('garbage bytes never throw (property-like sweep)', () => {
    for (let seed = 0; seed < 200; seed += 1) {
      const bytes = Buffer.from(Array.from({ length: 64 }, (_, i) => (seed * 31 + i * 17) % 256));
      const steps = decodeAll([bytes]);
      for (const s of steps) assert.ok(s.kind === 'request' || s.kind === 'error');
    }
  });
});

const enforceMx = ['mail.example.com', '*.example.net'];

function script(domain: string): Resolution {
  switch (domain) {
    case 'example.com':
    case 'mail.example.org':
    case 'xn--bcher-kva.de':
      return policyResolution(domain, policy('enforce', enforceMx));
    case 'testing.example':
      return policyResolution(domain, policy('testing', enforceMx));
    case 'none.example':
      return policyResolution(domain, policy('none', []));
    case 'dnsfail.example':
      return { kind: 'dns-error', domain, code: 'ETIMEOUT', detail: 'timed out' };
    default:
      return { kind: 'no-policy', domain, reason: 'nxdomain', source: 'lookup' };
  }
}

function setup(listenerZone?: string, s: (d: string, z: string | undefined) => Resolution | Promise<Resolution> = script) {
  const lookup = new FakeLookup(s, {
    postfix: zone({ requireSni: true }),
    tlsrpt: zone({ requireSni: true, tlsrpt: true }),
    strict: zone({ strictTesting: true, requireSni: false }),
    deferring: zone({ dnsErrorAnswer: 'temp' }),
  });
  const { log, entries } = captureLogger();
  const ctx: HandlerContext = listenerZone === undefined ? { lookup, log } : { lookup, log, listenerZone };
  return { lookup, entries, ctx };
}

/** The reply line, checked for framing, with its text decoded. */
async function ask(ctx: HandlerContext, key: string): Promise<string> {
  const bytes = Buffer.from(await tcpTableAdapter.handle({ kind: 'get', key }, ctx));
  return decodeReply(bytes);
}
function decodeReply(bytes: Buffer): string {
  const text = bytes.toString('latin1');
  assert.match(text, /^[245]00 [\x21-\x7e]*\n$/, `one well-formed, fully encoded reply line: ${JSON.stringify(text)}`);
  assert.ok(bytes.length <= TCP_TABLE_MAX_REPLY_BYTES);
  const decoded = hexUnquote(bytes.subarray(4, bytes.length - 1));
  assert.ok(decoded !== undefined);
  return `${text.slice(0, 3)} ${decoded.toString('utf8')}`;
}

const SECURE = 'secure match=mail.example.com:.example.net servername=hostname';

describe('tcp_table handle', () => {
  it('answers an enforce policy with exact bytes: 200 and the %XX-encoded data', async () => {
    const { ctx, lookup } = setup('postfix');
    const bytes = await tcpTableAdapter.handle({ kind: 'get', key: 'example.com' }, ctx);
    assert.equal(Buffer.from(bytes).toString('latin1'), '200 secure%20match=mail.example.com:.example.net%20servername=hostname\n');
    assert.deepEqual(lookup.calls, [{ domain: 'example.com', zoneName: 'postfix' }]);
  });
  it('answers no policy with exact bytes: 500', async () => {
    const { ctx } = setup();
    const bytes = await tcpTableAdapter.handle({ kind: 'get', key: 'nothing.example' }, ctx);
    assert.equal(Buffer.from(bytes).toString('latin1'), '500 no%20MTA-STS%20policy\n');
  });
  it('uses the listener zone (none = the default zone) and the socketmap key rules', async () => {
    const { ctx, lookup } = setup('strict');
    assert.equal(await ask(ctx, 'EXAMPLE.COM.'), '200 secure match=mail.example.com:.example.net');
    assert.equal(await ask(ctx, '[Mail.Example.Org]:587'), '200 secure match=mail.example.com:.example.net');
    assert.equal(await ask(ctx, 'BÜCHER.de'), '200 secure match=mail.example.com:.example.net');
    assert.deepEqual(
      lookup.calls.map((c) => c.zoneName),
      ['strict', 'strict', 'strict'],
    );
    const d = setup();
    assert.equal(await ask(d.ctx, 'example.com'), `200 ${SECURE}`);
    assert.deepEqual(d.lookup.calls, [{ domain: 'example.com', zoneName: undefined }]);
  });
  const variants: Array<[zone: string | undefined, key: string, reply: string]> = [
    [undefined, 'testing.example', '500 no MTA-STS policy'],
    ['strict', 'testing.example', '200 secure match=mail.example.com:.example.net'],
    [undefined, 'none.example', '500 no MTA-STS policy'],
    [undefined, 'nothing.example', '500 no MTA-STS policy'],
    [undefined, 'dnsfail.example', '500 no MTA-STS policy'],
    ['deferring', 'dnsfail.example', '400 MTA-STS DNS lookup failed for dnsfail.example (ETIMEOUT)'],
    [
      'tlsrpt',
      'example.com',
      `200 ${SECURE} policy_type=sts policy_domain=example.com mx_host_pattern=mail.example.com mx_host_pattern=*.example.net` +
        ' { policy_string = version: STSv1 } { policy_string = mode: enforce } { policy_string = mx: mail.example.com }' +
        ' { policy_string = mx: *.example.net } { policy_string = max_age: 604800 }',
    ],
  ];
  for (const [z, key, reply] of variants) {
    it(`${key} in zone ${z ?? '(default)'}: ${reply.slice(0, 40)}...`, async () => {
      const { ctx } = setup(z);
      assert.equal(await ask(ctx, key), reply);
    });
  }
  for (const key of ['.example.com', '[192.0.2.1]', '[ipv6:2001:db8::1]:25', 'not a domain', 'exa\uFFFDmple.com', '']) {
    it(`${JSON.stringify(key)}: 500 at once, without a lookup`, async () => {
      const { ctx, lookup, entries } = setup();
      assert.equal(await ask(ctx, key), '500 no MTA-STS policy');
      assert.deepEqual(lookup.calls, []);
      assert.equal(entries[0]?.['outcome'], 'notfound');
    });
  }
  it('answers a malformed but complete line with 400 and logs its code', async () => {
    for (const [line, code] of [
      ['put x', 'ETCPTABLE_BAD_COMMAND'],
      ['get a%2', 'ETCPTABLE_BAD_ESCAPE'],
    ] as const) {
      const { ctx, lookup, entries } = setup();
      const req = parseTcpTableLine(b(line));
      const reply = decodeReply(Buffer.from(await tcpTableAdapter.handle(req, ctx)));
      assert.match(reply, /^400 /);
      assert.deepEqual(lookup.calls, []);
      assert.equal(entries[0]?.['code'], code);
    }
  });
  it('never rejects: a throwing lookup becomes 400 internal error', async () => {
    const { ctx, entries } = setup(undefined, () => {
      throw new Error('boom');
    });
    assert.equal(await ask(ctx, 'example.com'), '400 internal error');
    assert.equal(entries.find((e) => e.level === 'error')?.['code'], 'ETCPTABLE_INTERNAL');
  });
  it('never rejects even when the logger throws', async () => {
    const throwing = new Proxy(
      {},
      {
        get: () => () => {
          throw new Error('log down');
        },
      },
    ) as unknown as Logger;
    const lookup = new FakeLookup(() => {
      throw new Error('boom');
    });
    const bytes = await tcpTableAdapter.handle({ kind: 'get', key: 'example.com' }, { lookup, log: throwing });
    assert.equal(Buffer.from(bytes).toString('latin1'), '400 internal%20error\n');
  });
  it('falls back to the plain answer (with a warning) when the TLSRPT form exceeds 4096 bytes', async () => {
    const extra = Array.from({ length: 60 }, (_, i) => [`ext${i}`, 'v'.repeat(60)] as const);
    const { ctx, entries } = setup('tlsrpt', (d) => policyResolution(d, policy('enforce', enforceMx, extra)));
    assert.equal(await ask(ctx, 'example.com'), `200 ${SECURE}`);
    assert.ok(entries.some((e) => e.level === 'warn' && e['domain'] === 'example.com' && e['limit'] === 4096));
  });
  it('a reply line of exactly 4096 bytes is sent; one byte more is a 400', async () => {
    // "200 secure%20match=" is 19 bytes, "\n" 1: the patterns may use 4076 bytes.
    // 253 patterns "hNNNNNN.example" of 15 bytes + ':' = 4048 - 1 = 4047; one more of L bytes adds 1 + L.
    const base = Array.from({ length: 253 }, (_, i) => `h${String(i).padStart(6, '0')}.example`);
    const reply = async (last: string): Promise<Buffer> => {
      const { ctx } = setup('strict', (d) => policyResolution(d, policy('enforce', [...base, last])));
      return Buffer.from(await tcpTableAdapter.handle({ kind: 'get', key: 'example.com' }, ctx));
    };
    const exact = await reply(`${'x'.repeat(20)}.example`); // L = 28: 19 + 4047 + 1 + 28 + 1 = 4096
    assert.equal(exact.length, TCP_TABLE_MAX_REPLY_BYTES);
    assert.match(exact.toString('latin1'), /^200 /);
    const { ctx, entries } = setup('strict', (d) => policyResolution(d, policy('enforce', [...base, `${'x'.repeat(21)}.example`])));
    assert.equal(await ask(ctx, 'example.com'), '400 reply too large');
    assert.equal(entries.find((e) => e.level === 'error')?.['code'], 'ETCPTABLE_REPLY_TOO_LARGE');
  });
  it('replies to a pipelined stream in order, at any chunk size', async () => {
    const { ctx } = setup('postfix');
    const wire = b(
      `get example.com\nget .example.com\nbogus\nget b%C3%BCcher.de\r\nget ${hexQuote('[mail.example.org]:25')}\nget nothing.example\n`,
    );
    const want = [
      `200 ${SECURE}`,
      '500 no MTA-STS policy',
      '400 only "get" is supported',
      `200 ${SECURE}`,
      `200 ${SECURE}`,
      '500 no MTA-STS policy',
    ];
    for (const size of [wire.length, 5, 1]) {
      const decoder = tcpTableAdapter.newDecoder();
      const replies: string[] = [];
      for (const part of chunks(wire, size)) {
        for (const step of decoder.push(part)) {
          assert.ok(step.kind === 'request');
          replies.push(decodeReply(Buffer.from(await tcpTableAdapter.handle(step.request, ctx))));
        }
      }
      assert.deepEqual(decoder.end(), []);
      assert.deepEqual(replies, want, `chunk size ${size}`);
    }
  });
});
