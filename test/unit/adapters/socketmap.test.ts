import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import type { Logger } from 'winston';
import { createNetstringDecoder, encodeNetstring } from '../../../adapters/protocol/netstring.js';
import {
  SOCKETMAP_MAX_REPLY_BYTES,
  SOCKETMAP_MAX_REQUEST_BYTES,
  parseSocketmapPayload,
  socketmapAdapter,
} from '../../../adapters/protocol/socketmap.js';
import type { SocketmapRequest } from '../../../adapters/protocol/socketmap.js';
import type { DecodeStep, HandlerContext } from '../../../src/protocol/types.js';
import type { Resolution } from '../../../src/resolver/types.js';
import { FakeLookup, captureLogger, chunks, policy, policyResolution, zone } from './fixtures.js';

const b = (s: string): Buffer => Buffer.from(s, 'utf8');

function decodeAll(parts: readonly Uint8Array[]): Array<DecodeStep<SocketmapRequest>> {
  const d = socketmapAdapter.newDecoder();
  const out: Array<DecodeStep<SocketmapRequest>> = [];
  for (const p of parts) out.push(...d.push(p));
  out.push(...d.end());
  return out;
}

describe('socketmap adapter shape', () => {
  it('is a many-requests-per-connection socketmap adapter', () => {
    assert.equal(socketmapAdapter.protocol, 'socketmap');
    assert.equal(socketmapAdapter.oneShot, false);
    assert.equal(SOCKETMAP_MAX_REQUEST_BYTES, 10_000);
    assert.equal(SOCKETMAP_MAX_REPLY_BYTES, 100_000);
    // The largest request on the wire: "10000:" + payload + ",".
    assert.equal(socketmapAdapter.maxRequestBytes, 10_007);
  });
});

describe('socketmap decoder', () => {
  const requests: SocketmapRequest[] = [
    { mapName: 'postfix', key: 'example.com' },
    { mapName: 'postfix', key: 'Bücher.DE' },
    { mapName: 'strict', key: '[mail.example.org]:587' },
    { mapName: 'postfix', key: 'two words here' },
    { mapName: 'postfix', key: '' }, // "postfix " (nothing after the space)
    { mapName: '', key: 'example.com' }, // " example.com"
    { mapName: 'nospace', key: '' },
    { mapName: '', key: '' }, // 0:,
  ];
  const wire = Buffer.concat(
    [
      'postfix example.com',
      'postfix Bücher.DE',
      'strict [mail.example.org]:587',
      'postfix two words here',
      'postfix ',
      ' example.com',
      'nospace',
      '',
    ].map((p) => encodeNetstring(p)),
  );
  const want = requests.map((request) => ({ kind: 'request', request }));

  it('whole', () => assert.deepEqual(decodeAll([wire]), want));
  it('byte by byte', () => assert.deepEqual(decodeAll(chunks(wire, 1)), want));
  for (const size of [4096, 128, 16]) {
    it(`in chunks of ${size}`, () => assert.deepEqual(decodeAll(chunks(wire, size)), want));
  }
  it('split at every offset (including inside the UTF-8 key)', () => {
    for (let i = 0; i <= wire.length; i += 1) {
      assert.deepEqual(decodeAll([wire.subarray(0, i), wire.subarray(i)]), want, `split at ${i}`);
    }
  });
  it('splits at the first space only', () => {
    assert.deepEqual(parseSocketmapPayload(b('a b c')), { mapName: 'a', key: 'b c' });
    assert.deepEqual(parseSocketmapPayload(b('a  b')), { mapName: 'a', key: ' b' });
  });
  it('invalid UTF-8 decodes to U+FFFD, not an error', () => {
    const payload = Buffer.concat([b('postfix exa'), Buffer.from([0xff, 0xfe]), b('.com')]);
    const steps = decodeAll([encodeNetstring(payload)]);
    assert.equal(steps.length, 1);
    const s = steps[0];
    assert.ok(s?.kind === 'request' && s.request.mapName === 'postfix' && s.request.key.includes('\uFFFD'));
  });
  it('malformed framing is an error step carrying the netstring code, without a reply', () => {
    const cases: Array<[string, string]> = [
      ['x', 'ENETSTRING_BAD_LENGTH'],
      ['05:hello,', 'ENETSTRING_LEADING_ZERO'],
      ['5:hello!', 'ENETSTRING_MISSING_COMMA'],
      ['10001:', 'ENETSTRING_TOO_LARGE'],
      ['7:postfix', 'ENETSTRING_TRUNCATED'],
    ];
    for (const [input, code] of cases) {
      const steps = decodeAll([b(input)]);
      assert.equal(steps.length, 1, input);
      const s = steps[0];
      assert.ok(s?.kind === 'error', input);
      if (s?.kind === 'error') {
        assert.equal(s.code, code);
        assert.ok(s.message.length > 0);
        assert.equal(s.reply, undefined);
      }
    }
  });
  it('requests before a framing error are still delivered, in order', () => {
    const steps = decodeAll([Buffer.concat([encodeNetstring('postfix a.example'), encodeNetstring('postfix b.example'), b('junk')])]);
    assert.deepEqual(
      steps.map((s) => (s.kind === 'request' ? s.request.key : s.code)),
      ['a.example', 'b.example', 'ENETSTRING_BAD_LENGTH'],
    );
  });
});

const enforceMx = ['mail.example.com', '*.example.net'];

function defaultScript(domain: string): Resolution {
  switch (domain) {
    case 'example.com':
    case 'mail.example.org':
    case 'xn--bcher-kva.de':
      return policyResolution(domain, policy('enforce', enforceMx));
    case 'testing.example':
      return policyResolution(domain, policy('testing', enforceMx));
    case 'dnsfail.example':
      return { kind: 'dns-error', domain, code: 'ETIMEOUT', detail: 'timed out' };
    default:
      return { kind: 'no-policy', domain, reason: 'nxdomain', source: 'lookup' };
  }
}

function setup(script: (d: string, z: string | undefined) => Resolution | Promise<Resolution> = defaultScript) {
  const lookup = new FakeLookup(script, {
    postfix: zone({ requireSni: true }),
    tlsrpt: zone({ requireSni: true, tlsrpt: true }),
    strict: zone({ strictTesting: true, requireSni: false }),
    deferring: zone({ dnsErrorAnswer: 'temp' }),
  });
  const { log, entries } = captureLogger();
  const ctx: HandlerContext = { lookup, log };
  return { lookup, entries, ctx };
}

async function ask(ctx: HandlerContext, mapName: string, key: string): Promise<string> {
  const bytes = await socketmapAdapter.handle({ mapName, key }, ctx);
  const d = createNetstringDecoder(SOCKETMAP_MAX_REPLY_BYTES);
  const steps = d.push(bytes);
  assert.deepEqual(d.end(), []);
  assert.equal(steps.length, 1, 'exactly one netstring per reply');
  const s = steps[0];
  assert.ok(s?.kind === 'payload');
  return s.payload.toString('utf8');
}

describe('socketmap handle', () => {
  it('answers an enforce policy with secure match=... and exact netstring bytes', async () => {
    const { ctx, lookup } = setup();
    const bytes = await socketmapAdapter.handle({ mapName: 'postfix', key: 'example.com' }, ctx);
    const payload = 'OK secure match=mail.example.com:.example.net servername=hostname';
    assert.deepEqual(Buffer.from(bytes), b(`${payload.length}:${payload},`));
    assert.deepEqual(lookup.calls, [{ domain: 'example.com', zoneName: 'postfix' }]);
  });
  it("answers no policy with exactly 'NOTFOUND ' (with the space)", async () => {
    const { ctx } = setup();
    const bytes = await socketmapAdapter.handle({ mapName: 'postfix', key: 'nothing.example' }, ctx);
    assert.deepEqual(Buffer.from(bytes), b('9:NOTFOUND ,'));
  });
  it('passes the map name as the zone and normalizes the key to the policy domain', async () => {
    const { ctx, lookup } = setup();
    assert.equal(await ask(ctx, 'strict', 'EXAMPLE.COM.'), 'OK secure match=mail.example.com:.example.net');
    assert.equal(await ask(ctx, 'postfix', '[Mail.Example.Org]:587'), 'OK secure match=mail.example.com:.example.net servername=hostname');
    assert.equal(await ask(ctx, 'postfix', 'BÜCHER.de'), 'OK secure match=mail.example.com:.example.net servername=hostname');
    assert.deepEqual(lookup.calls, [
      { domain: 'example.com', zoneName: 'strict' },
      { domain: 'mail.example.org', zoneName: 'postfix' },
      { domain: 'xn--bcher-kva.de', zoneName: 'postfix' },
    ]);
  });
  it('applies zone flags: testing, tlsrpt, dns errors', async () => {
    const { ctx } = setup();
    assert.equal(await ask(ctx, 'postfix', 'testing.example'), 'NOTFOUND ');
    assert.equal(await ask(ctx, 'strict', 'testing.example'), 'OK secure match=mail.example.com:.example.net');
    assert.equal(
      await ask(ctx, 'tlsrpt', 'example.com'),
      'OK secure match=mail.example.com:.example.net servername=hostname policy_type=sts policy_domain=example.com' +
        ' mx_host_pattern=mail.example.com mx_host_pattern=*.example.net' +
        ' { policy_string = version: STSv1 } { policy_string = mode: enforce }' +
        ' { policy_string = mx: mail.example.com } { policy_string = mx: *.example.net }' +
        ' { policy_string = max_age: 604800 }',
    );
    assert.equal(await ask(ctx, 'postfix', 'dnsfail.example'), 'NOTFOUND ');
    assert.equal(await ask(ctx, 'deferring', 'dnsfail.example'), 'TEMP MTA-STS DNS lookup failed for dnsfail.example (ETIMEOUT)');
  });

  const skips: Array<[key: string, reason: string, level: string]> = [
    ['.example.com', 'parent-domain', 'debug'],
    ['.com', 'parent-domain', 'debug'],
    ['[192.0.2.1]:25', 'ip-literal', 'debug'],
    ['[ipv6:2001:db8::1]', 'ip-literal', 'debug'],
    ['2001:db8::1', 'ip-literal', 'debug'],
    ['not a domain', 'invalid', 'info'],
    ['exa\uFFFDmple.com', 'invalid', 'info'],
    ['user@example.com', 'invalid', 'info'],
  ];
  for (const [key, reason, level] of skips) {
    it(`${JSON.stringify(key)}: NOTFOUND at once, no lookup, a ${level} line (${reason})`, async () => {
      const { ctx, lookup, entries } = setup();
      assert.equal(await ask(ctx, 'postfix', key), 'NOTFOUND ');
      assert.deepEqual(lookup.calls, []);
      assert.equal(entries.length, 1);
      const e = entries[0];
      assert.equal(e?.level, level);
      assert.equal(e?.['key'], key);
      assert.equal(e?.['outcome'], 'notfound');
      assert.equal(e?.['reason'], reason);
    });
  }
  it('invalid UTF-8 on the wire ends as NOTFOUND without a lookup', async () => {
    const { ctx, lookup } = setup();
    const [step] = socketmapAdapter
      .newDecoder()
      .push(encodeNetstring(Buffer.concat([b('postfix '), Buffer.from([0xc3, 0x28]), b('.com')])));
    assert.ok(step?.kind === 'request');
    assert.equal(await ask(ctx, step.request.mapName, step.request.key), 'NOTFOUND ');
    assert.deepEqual(lookup.calls, []);
  });

  const perms: Array<[mapName: string, key: string, reason: string]> = [
    ['postfix', '', 'missing key'],
    ['', 'example.com', 'missing map name'],
    ['', '', 'missing map name'],
  ];
  for (const [mapName, key, reason] of perms) {
    it(`PERM for map ${JSON.stringify(mapName)} key ${JSON.stringify(key)}`, async () => {
      const { ctx, lookup, entries } = setup();
      assert.equal(await ask(ctx, mapName, key), `PERM ${reason}`);
      assert.deepEqual(lookup.calls, []);
      assert.equal(entries[0]?.['code'], 'ESOCKETMAP_BAD_REQUEST');
    });
  }

  it('never rejects: a throwing lookup becomes TEMP internal error and an error line', async () => {
    const { ctx, entries } = setup(() => {
      throw new Error('boom');
    });
    assert.equal(await ask(ctx, 'postfix', 'example.com'), 'TEMP internal error');
    const e = entries.find((x) => x.level === 'error');
    assert.equal(e?.['code'], 'ESOCKETMAP_INTERNAL');
    assert.equal(e?.['error'], 'boom');
  });
  it('never rejects: a rejecting lookup with a non-Error value', async () => {
    const notAnError: unknown = 'nope';
    const { ctx } = setup(() => Promise.reject(notAnError));
    assert.equal(await ask(ctx, 'postfix', 'example.com'), 'TEMP internal error');
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
    const bytes = await socketmapAdapter.handle({ mapName: 'postfix', key: 'example.com' }, { lookup, log: throwing });
    assert.deepEqual(Buffer.from(bytes), b('19:TEMP internal error,'));
  });

  it('falls back to the plain answer when the TLSRPT form exceeds 100,000 bytes', async () => {
    const longValue = 'v'.repeat(1000);
    const extra = Array.from({ length: 120 }, (_, i) => [`ext${i}`, longValue] as const);
    const { ctx, entries } = setup((d) => policyResolution(d, policy('enforce', enforceMx, extra)));
    const reply = await ask(ctx, 'tlsrpt', 'example.com');
    assert.equal(reply, 'OK secure match=mail.example.com:.example.net servername=hostname');
    assert.ok(entries.some((e) => e.level === 'warn' && e['domain'] === 'example.com'));
  });
  it('answers PERM reply too large when even the plain answer is too big', async () => {
    // 5,000 distinct patterns of ~25 bytes: far over 100,000 bytes of match=.
    const mx = Array.from({ length: 5000 }, (_, i) => `mx${i}.very-long-host-name.example`);
    const { ctx, entries } = setup((d) => policyResolution(d, policy('enforce', mx)));
    assert.equal(await ask(ctx, 'postfix', 'example.com'), 'PERM reply too large');
    const e = entries.find((x) => x.level === 'error');
    assert.equal(e?.['code'], 'ESOCKETMAP_REPLY_TOO_LARGE');
  });
  it('an answer of exactly 100,000 bytes is sent; one byte more is not', async () => {
    // "OK secure match=" is 16 bytes; 6,248 patterns of 15 bytes with their ':' add 16 each
    // minus one; one more pattern of L bytes adds 1 + L: 15 + 99,968 + 1 + L = 99,984 + L.
    const base = Array.from({ length: 6248 }, (_, i) => `h${String(i).padStart(6, '0')}.example`);
    const withLast = (last: string) => async () => {
      const { ctx } = setup((d) => policyResolution(d, policy('enforce', [...base, last])));
      return ask(ctx, 'strict', 'example.com'); // zone 'strict': no servername=
    };
    const exact = await withLast('x'.repeat(8) + '.example')(); // L = 16
    assert.equal(Buffer.byteLength(exact), SOCKETMAP_MAX_REPLY_BYTES);
    assert.ok(exact.startsWith('OK secure match=h000000.example:'));
    assert.equal(await withLast('x'.repeat(9) + '.example')(), 'PERM reply too large'); // L = 17
  });

  it('replies to a multi-request stream in order', async () => {
    const { ctx } = setup();
    const wire = Buffer.concat(
      [
        'postfix example.com',
        'postfix .example.com',
        'postfix nothing.example',
        'strict BÜCHER.de',
        'postfix ',
        'deferring dnsfail.example',
      ].map((p) => encodeNetstring(p)),
    );
    const want = [
      'OK secure match=mail.example.com:.example.net servername=hostname',
      'NOTFOUND ',
      'NOTFOUND ',
      'OK secure match=mail.example.com:.example.net',
      'PERM missing key',
      'TEMP MTA-STS DNS lookup failed for dnsfail.example (ETIMEOUT)',
    ];
    for (const size of [wire.length, 7, 1]) {
      const decoder = socketmapAdapter.newDecoder();
      const replies: Uint8Array[] = [];
      for (const part of chunks(wire, size)) {
        for (const step of decoder.push(part)) {
          assert.equal(step.kind, 'request');
          if (step.kind === 'request') replies.push(await socketmapAdapter.handle(step.request, ctx));
        }
      }
      assert.deepEqual(decoder.end(), []);
      const back = createNetstringDecoder(SOCKETMAP_MAX_REPLY_BYTES);
      const got = back.push(Buffer.concat(replies)).map((s) => (s.kind === 'payload' ? s.payload.toString('utf8') : s.code));
      assert.deepEqual(got, want, `chunk size ${size}`);
      assert.deepEqual(Buffer.concat(replies), Buffer.concat(want.map((w) => encodeNetstring(w))));
    }
  });
});
