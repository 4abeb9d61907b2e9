import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import type { Logger } from 'winston';
import { EXIM_MAX_REQUEST_BYTES, eximAdapter, parseEximRequest, type EximRequest } from '../../../adapters/protocol/exim.js';
import { cleanMxPattern, eximAnswer, eximMxRegex, formatEximAnswer } from '../../../adapters/protocol/exim-answer.js';
import { mxMatches } from '../../../src/policy/domain.js';
import type { DecodeStep, HandlerContext } from '../../../src/protocol/types.js';
import type { Resolution } from '../../../src/resolver/types.js';
import { FakeLookup, captureLogger, chunks, policy, policyResolution, result, zone } from './fixtures.js';

const b = (s: string): Buffer => Buffer.from(s, 'utf8');

function decodeAll(parts: readonly Uint8Array[], end = true): Array<DecodeStep<EximRequest>> {
  const d = eximAdapter.newDecoder();
  const out: Array<DecodeStep<EximRequest>> = [];
  for (const p of parts) out.push(...d.push(p));
  if (end) out.push(...d.end());
  return out;
}

describe('exim adapter shape', () => {
  it('is one-shot: the server closes after the reply, as ${readsocket} needs', () => {
    assert.equal(eximAdapter.protocol, 'exim');
    assert.equal(eximAdapter.oneShot, true);
    assert.equal(eximAdapter.maxRequestBytes, EXIM_MAX_REQUEST_BYTES);
  });
});

describe('exim request syntax', () => {
  const cases: Array<[line: string, request: EximRequest]> = [
    ['example.com', { kind: 'lookup', domain: 'example.com' }],
    ['strict example.com', { kind: 'lookup', zone: 'strict', domain: 'example.com' }],
    ['  strict \t example.com  ', { kind: 'lookup', zone: 'strict', domain: 'example.com' }],
    ['bücher.de', { kind: 'lookup', domain: 'bücher.de' }],
    ['', { kind: 'invalid', detail: 'empty request' }],
    [' \t ', { kind: 'invalid', detail: 'empty request' }],
    ['a b c', { kind: 'invalid', detail: 'expected "<domain>" or "<zone> <domain>", got 3 fields' }],
  ];
  for (const [line, request] of cases) {
    it(JSON.stringify(line), () => assert.deepEqual(parseEximRequest(b(line)), request));
  }
});

describe('exim decoder', () => {
  const want = [{ kind: 'request', request: { kind: 'lookup', zone: 'strict', domain: 'bücher.de' } }];
  for (const wire of ['strict bücher.de\n', 'strict bücher.de\r\n']) {
    const bytes = b(wire);
    it(`${JSON.stringify(wire)}: whole, byte by byte, split at every offset`, () => {
      assert.deepEqual(decodeAll([bytes], false), want);
      assert.deepEqual(decodeAll(chunks(bytes, 1), false), want);
      for (let i = 0; i <= bytes.length; i += 1)
        assert.deepEqual(decodeAll([bytes.subarray(0, i), bytes.subarray(i)]), want, `split at ${i}`);
    });
  }
  it('accepts a request without newline when the client half-closes (readsocket with shutdown=yes)', () => {
    const bytes = b('strict bücher.de');
    for (let i = 0; i <= bytes.length; i += 1)
      assert.deepEqual(decodeAll([bytes.subarray(0, i), bytes.subarray(i)]), want, `split at ${i}`);
    assert.deepEqual(decodeAll([bytes], false), [], 'nothing before the end of the stream');
  });
  it('yields one request only; bytes after the first line are ignored', () => {
    const steps = decodeAll([b('a.example\nb.example\nc.example')]);
    assert.deepEqual(steps, [{ kind: 'request', request: { kind: 'lookup', domain: 'a.example' } }]);
  });
  it('a connect-and-close without any byte is no request', () => assert.deepEqual(decodeAll([]), []));
  it('an empty line is a request (answered with error)', () => {
    assert.deepEqual(decodeAll([b('\n')]), [{ kind: 'request', request: { kind: 'invalid', detail: 'empty request' } }]);
  });
  it('an overlong request is an error with an error reply, even before its newline', () => {
    const steps = decodeAll([Buffer.alloc(EXIM_MAX_REQUEST_BYTES, 0x61)], false);
    assert.equal(steps.length, 1);
    const s = steps[0];
    assert.ok(s?.kind === 'error');
    assert.equal(s.code, 'EEXIM_TOO_LONG');
    assert.equal(Buffer.from(s.reply ?? []).toString('latin1'), 'error request too long\n');
    const exact = 'a'.repeat(EXIM_MAX_REQUEST_BYTES - 1);
    assert.deepEqual(decodeAll([b(`${exact}\n`)]), [{ kind: 'request', request: { kind: 'lookup', domain: exact } }]);
  });
  it('never throws on garbage bytes (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }), (parts) => {
        const steps = decodeAll(parts);
        assert.ok(steps.length <= 1);
      }),
    );
  });
});

/** JS has no inline `(?i)`: the same regex with the flag outside. */
function jsRegex(exim: string): RegExp {
  assert.ok(exim.startsWith('(?i)^(?:') && exim.endsWith(')$'), exim);
  return new RegExp(exim.slice(4), 'i');
}

describe('exim mx patterns', () => {
  it('cleans patterns: lower case, A-label names and *.names only', () => {
    assert.equal(cleanMxPattern('MAIL.Example.COM'), 'mail.example.com');
    assert.equal(cleanMxPattern('*.MX.example.net'), '*.mx.example.net');
    for (const bad of [
      '',
      '*.',
      '*',
      'a..b',
      'a b.example',
      '*.*.example',
      'a:b.example',
      'x$.example',
      '^x.example',
      'a|b.example',
      'x.example.123',
    ]) {
      assert.equal(cleanMxPattern(bad), undefined, bad);
    }
  });
  it('builds one anchored caseless regex: names with escaped dots, *.x as exactly one label', () => {
    assert.equal(eximMxRegex(['mail.example.com', '*.mx.example.net']), '(?i)^(?:mail\\.example\\.com|[^.]+\\.mx\\.example\\.net)$');
  });
  it('the regex matches exactly what RFC 8461 §4.1 matches (property against mxMatches)', () => {
    const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/);
    const name = fc.array(label, { minLength: 1, maxLength: 4 }).map((ls) => `${ls.join('.')}.example`);
    const pattern = fc.tuple(name, fc.boolean()).map(([n, w]) => (w ? `*.${n}` : n));
    fc.assert(
      fc.property(fc.array(pattern, { minLength: 1, maxLength: 4 }), name, (patterns, host) => {
        const re = jsRegex(eximMxRegex(patterns));
        const bases = patterns.map((p) => p.replace(/^\*\./, ''));
        const candidates = [host, host.toUpperCase(), ...bases.flatMap((b0) => [b0, `x.${b0}`, `X.y.${b0}`, `${b0}x`, `x${b0}`])];
        for (const h of candidates) {
          assert.equal(
            re.test(h),
            patterns.some((p) => mxMatches(p, h)),
            `${patterns.join(',')} vs ${h}`,
          );
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('exim answers', () => {
  const mx = ['mail.example.com', '*.example.net', 'mail.example.com', 'bad..pattern'];
  const tail = '(?i)^(?:mail\\.example\\.com|[^.]+\\.example\\.net)$ mail.example.com:*.example.net\n';
  const enforceLine = `enforce ${tail}`;
  const cases: Array<[what: string, resolution: Resolution, zoneOverrides: Parameters<typeof zone>[0], line: string]> = [
    ['enforce: de-duplicated, bad patterns dropped', policyResolution('example.com', policy('enforce', mx)), {}, enforceLine],
    ['testing', policyResolution('example.com', policy('testing', mx)), {}, `testing ${tail}`],
    ['testing in a strict_testing zone', policyResolution('example.com', policy('testing', mx)), { strictTesting: true }, enforceLine],
    ['testing without a usable pattern', policyResolution('example.com', policy('testing', ['bad..x'])), {}, 'none\n'],
    ['none', policyResolution('example.com', policy('none', [])), {}, 'none\n'],
    ['no policy', { kind: 'no-policy', domain: 'example.com', reason: 'nxdomain', source: 'lookup' }, {}, 'none\n'],
    ['dns error', { kind: 'dns-error', domain: 'example.com', code: 'ETIMEOUT', detail: 'x' }, {}, 'none\n'],
    [
      'dns error in a dns_error: temp zone',
      { kind: 'dns-error', domain: 'example.com', code: 'ETIMEOUT', detail: 'x' },
      { dnsErrorAnswer: 'temp' },
      'defer MTA-STS DNS lookup failed for example.com (ETIMEOUT)\n',
    ],
    [
      'enforce without a usable pattern defers',
      policyResolution('example.com', policy('enforce', ['bad..x'])),
      {},
      'defer MTA-STS policy for example.com has no usable mx pattern\n',
    ],
  ];
  for (const [what, resolution, overrides, line] of cases) {
    it(what, () => assert.equal(formatEximAnswer(eximAnswer(result(resolution, zone(overrides)))), line));
  }
  it('tlsrpt and require_sni do not change the Exim reply', () => {
    const r = policyResolution('example.com', policy('enforce', mx));
    assert.equal(formatEximAnswer(eximAnswer(result(r, zone({ tlsrpt: true, requireSni: false })))), enforceLine);
  });
  it('a reason never breaks the line', () => {
    assert.equal(formatEximAnswer({ kind: 'defer', reason: 'a\nb\r\u00e9' }), 'defer a?b??\n');
  });
});

function script(domain: string): Resolution {
  switch (domain) {
    case 'example.com':
    case 'xn--bcher-kva.de':
      return policyResolution(domain, policy('enforce', ['mail.example.com', '*.example.net']));
    case 'dnsfail.example':
      return { kind: 'dns-error', domain, code: 'ESERVFAIL', detail: 'servfail' };
    default:
      return { kind: 'no-policy', domain, reason: 'nxdomain', source: 'lookup' };
  }
}

function setup(listenerZone?: string, s: (d: string, z: string | undefined) => Resolution | Promise<Resolution> = script) {
  const lookup = new FakeLookup(s, { strict: zone({ strictTesting: true }), deferring: zone({ dnsErrorAnswer: 'temp' }) });
  const { log, entries } = captureLogger();
  const ctx: HandlerContext = listenerZone === undefined ? { lookup, log } : { lookup, log, listenerZone };
  return { lookup, entries, ctx };
}

async function ask(ctx: HandlerContext, line: string): Promise<string> {
  return Buffer.from(await eximAdapter.handle(parseEximRequest(b(line)), ctx)).toString('latin1');
}

describe('exim handle', () => {
  const ENFORCE = 'enforce (?i)^(?:mail\\.example\\.com|[^.]+\\.example\\.net)$ mail.example.com:*.example.net\n';
  it('normalizes the domain like every other adapter and uses the zone given, else the listener zone', async () => {
    const { ctx, lookup } = setup('deferring');
    assert.equal(await ask(ctx, 'EXAMPLE.com.'), ENFORCE);
    assert.equal(await ask(ctx, 'strict Bücher.DE'), ENFORCE);
    assert.equal(await ask(ctx, 'dnsfail.example'), 'defer MTA-STS DNS lookup failed for dnsfail.example (ESERVFAIL)\n');
    assert.equal(await ask(ctx, 'default dnsfail.example'), 'none\n', 'an unknown zone is the default zone (as for socketmap)');
    assert.deepEqual(lookup.calls, [
      { domain: 'example.com', zoneName: 'deferring' },
      { domain: 'xn--bcher-kva.de', zoneName: 'strict' },
      { domain: 'dnsfail.example', zoneName: 'deferring' },
      { domain: 'dnsfail.example', zoneName: 'default' },
    ]);
  });
  for (const key of ['[192.0.2.1]', '192.0.2.1', 'user@example.com', 'exa\uFFFDmple.com', 'a..b', '.example.com', 'x'.repeat(300)]) {
    it(`${JSON.stringify(key.slice(0, 20))}: none at once, without a lookup`, async () => {
      const { ctx, lookup, entries } = setup();
      assert.equal(await ask(ctx, key), 'none\n');
      assert.deepEqual(lookup.calls, []);
      assert.equal(entries[0]?.['outcome'], 'none');
    });
  }
  it('invalid UTF-8 on the wire is none without a lookup', async () => {
    const { ctx, lookup } = setup();
    const [step] = decodeAll([Buffer.concat([b('exa'), Buffer.from([0xff]), b('mple.com\n')])]);
    assert.ok(step?.kind === 'request');
    assert.equal(Buffer.from(await eximAdapter.handle(step.request, ctx)).toString('latin1'), 'none\n');
    assert.deepEqual(lookup.calls, []);
  });
  it('a malformed request is answered "error ..." with its code logged', async () => {
    const { ctx, entries } = setup();
    assert.equal(await ask(ctx, 'a b c'), 'error expected "<domain>" or "<zone> <domain>", got 3 fields\n');
    assert.equal(await ask(ctx, ''), 'error empty request\n');
    assert.equal(entries[0]?.['code'], 'EEXIM_BAD_REQUEST');
  });
  it('never rejects: a throwing lookup is "defer internal error", even with a throwing logger', async () => {
    const { ctx, entries } = setup(undefined, () => {
      throw new Error('boom');
    });
    assert.equal(await ask(ctx, 'example.com'), 'defer internal error\n');
    assert.equal(entries.find((e) => e.level === 'error')?.['code'], 'EEXIM_INTERNAL');
    const throwing = new Proxy(
      {},
      {
        get: () => () => {
          throw new Error('log down');
        },
      },
    ) as unknown as Logger;
    const bytes = await eximAdapter.handle({ kind: 'lookup', domain: 'example.com' }, { lookup: ctx.lookup, log: throwing });
    assert.equal(Buffer.from(bytes).toString('latin1'), 'defer internal error\n');
  });
});
