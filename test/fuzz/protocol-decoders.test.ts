/**
 * Fuzzing the four protocol decoders (socketmap netstrings, tcp_table lines, policy delegation
 * attribute blocks, Exim lines): seeded, time-bounded fast-check runs (budget.ts). Properties:
 *  - never throws, whatever the bytes and however they are split into chunks;
 *  - the steps do not depend on the split, nor on the caller reusing its chunk memory;
 *  - nothing follows an error step; Exim yields at most one step;
 *  - well-formed requests give exactly one request step each, in order, even when garbage follows.
 */
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { EXIM_MAX_REQUEST_BYTES, newEximDecoder, type EximRequest } from '../../adapters/protocol/exim.js';
import { hexQuote } from '../../adapters/protocol/hex-quote.js';
import { encodeNetstring, SOCKETMAP_MAX_REQUEST_BYTES } from '../../adapters/protocol/netstring.js';
import { POLICY_MAX_ATTRIBUTES, newPolicyDecoder, type PolicyRequest } from '../../adapters/protocol/policy-attributes.js';
import { newSocketmapDecoder, type SocketmapRequest } from '../../adapters/protocol/socketmap.js';
import { TCP_TABLE_MAX_REQUEST_BYTES, newTcpTableDecoder, type TcpTableRequest } from '../../adapters/protocol/tcp-table.js';
import type { DecodeStep, Decoder } from '../../src/protocol/types.js';
import { chunksOf, cutsFor, runFuzz, tokenBytes } from './budget.js';

/** All of `bytes` in one push, then end. */
function decodeWhole<R>(newDecoder: () => Decoder<R>, bytes: Buffer): DecodeStep<R>[] {
  const d = newDecoder();
  return [...d.push(Buffer.from(bytes)), ...d.end()];
}

/** `bytes` in chunks, each a fresh buffer overwritten right after its push (the socket reuses memory). */
function decodeChunked<R>(newDecoder: () => Decoder<R>, bytes: Buffer, cuts: readonly number[]): DecodeStep<R>[] {
  const d = newDecoder();
  const steps: DecodeStep<R>[] = [];
  for (const chunk of chunksOf(bytes, cuts)) {
    const own = Buffer.from(chunk);
    steps.push(...d.push(own));
    own.fill(0xaa);
  }
  steps.push(...d.end());
  return steps;
}

/** Text as it comes back from a UTF-8 round trip (lone surrogates become U+FFFD). */
function utf8(s: string): string {
  return Buffer.from(s, 'utf8').toString('utf8');
}

interface Target<R> {
  readonly name: string;
  readonly newDecoder: () => Decoder<R>;
  readonly tokens: readonly string[];
  /** Largest wire size of one request: no request step may come from more. */
  readonly maxRequestBytes: number;
  readonly oneShot: boolean;
  /** Well-formed requests: their wire bytes and the request step each must give. */
  readonly wellFormed: fc.Arbitrary<{ wire: Buffer; request: R }>;
}

const word = (maxLength: number): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789.-_'), minLength: 1, maxLength });

const socketmap: Target<SocketmapRequest> = {
  name: 'socketmap (netstrings)',
  newDecoder: newSocketmapDecoder,
  tokens: ['0', '1', '9', '10', '10000', '10001', '007', ':', ',', ' ', '5:hello,', '11:mta-sts a.b,', '\n', '\r', '\0'],
  maxRequestBytes: SOCKETMAP_MAX_REQUEST_BYTES,
  oneShot: false,
  wellFormed: fc.tuple(word(20), fc.string({ unit: 'binary', maxLength: 60 })).map(([mapName, key]) => ({
    wire: encodeNetstring(`${mapName} ${key}`),
    request: { mapName, key: utf8(key) },
  })),
};

const tcpTable: Target<TcpTableRequest> = {
  name: 'tcp_table (lines)',
  newDecoder: newTcpTableDecoder,
  tokens: ['get ', 'get', 'GET ', 'put ', '%', '%4', '%41', '%zz', '%0A', 'example.org', ' ', '\t', '\n', '\r\n', '\r', '\0'],
  maxRequestBytes: TCP_TABLE_MAX_REQUEST_BYTES,
  oneShot: false,
  wellFormed: fc.string({ unit: 'binary', maxLength: 80 }).map((key) => ({
    wire: Buffer.from(`get ${hexQuote(key)}\n`, 'latin1'),
    request: { kind: 'get' as const, key: utf8(key) },
  })),
};

const KEPT_NAMES = ['request', 'protocol_state', 'recipient', 'sender', 'client_address', 'instance'] as const;
const KEPT_FIELDS: Readonly<Record<(typeof KEPT_NAMES)[number], keyof PolicyRequest>> = {
  request: 'request',
  protocol_state: 'protocolState',
  recipient: 'recipient',
  sender: 'sender',
  client_address: 'clientAddress',
  instance: 'instance',
};

const policy: Target<PolicyRequest> = {
  name: 'policy delegation (attribute blocks)',
  newDecoder: newPolicyDecoder,
  tokens: [
    'request=smtpd_access_policy',
    'protocol_state=RCPT',
    'recipient=a@b.example',
    '=',
    'x=',
    '=x',
    '\n',
    '\n\n',
    '\r\n',
    '\r',
    'instance=1',
    '\0',
  ],
  maxRequestBytes: 64 * 1024,
  oneShot: false,
  wellFormed: fc
    .array(
      fc.tuple(
        fc.oneof(
          fc.constantFrom(...KEPT_NAMES),
          word(20).filter((n) => !(KEPT_NAMES as readonly string[]).includes(n)),
        ),
        // No LF inside a value; no CR at its end (a CR before LF is taken as a CRLF terminator).
        fc.string({ unit: 'binary', maxLength: 40 }).map((v) => utf8(v).replace(/[\n]/g, ' ').replace(/\r+$/, '')),
      ),
      { maxLength: POLICY_MAX_ATTRIBUTES },
    )
    .map((attrs) => {
      const request: Record<string, string> = {};
      for (const [name, value] of attrs) {
        // Own properties only: a name like "constructor" is not a kept attribute.
        if (Object.hasOwn(KEPT_FIELDS, name)) request[KEPT_FIELDS[name as (typeof KEPT_NAMES)[number]]] = value;
      }
      return { wire: Buffer.from(`${attrs.map(([n, v]) => `${n}=${v}\n`).join('')}\n`, 'utf8'), request: request };
    }),
};

const exim: Target<EximRequest> = {
  name: 'exim (one line)',
  newDecoder: newEximDecoder,
  tokens: ['example.org', 'zone ', ' ', '\t', '\n', '\r\n', '\r', 'a b c', '\0', 'x'],
  maxRequestBytes: EXIM_MAX_REQUEST_BYTES,
  oneShot: true,
  wellFormed: fc.tuple(fc.option(word(20), { nil: undefined }), word(60)).map(([zone, domain]) => ({
    wire: Buffer.from(zone === undefined ? `${domain}\n` : `${zone} ${domain}\n`, 'latin1'),
    request: zone === undefined ? { kind: 'lookup' as const, domain } : { kind: 'lookup' as const, zone, domain },
  })),
};

/**
 * Length of the longest string field of a request, in UTF-16 code units: decoding never makes
 * more of them than there were bytes (a byte that is not UTF-8 becomes one U+FFFD, which would
 * take three bytes again if re-encoded), so it is bounded by the request limit.
 */
function longestField(request: unknown): number {
  if (typeof request !== 'object' || request === null) return 0;
  return Math.max(0, ...Object.values(request).map((v) => (typeof v === 'string' ? v.length : 0)));
}

function fuzzTarget<R>(target: Target<R>): void {
  describe(`fuzz: ${target.name} decoder`, () => {
    it('never throws; the steps do not depend on chunking or on chunk memory reuse; nothing follows an error', (t) => {
      runFuzz(
        t,
        fc.property(cutsFor(tokenBytes(target.tokens)), ({ bytes, cuts }) => {
          const whole = decodeWhole(target.newDecoder, bytes);
          const chunked = decodeChunked(target.newDecoder, bytes, cuts);
          assert.deepStrictEqual(chunked, whole);
          const error = whole.findIndex((s) => s.kind === 'error');
          if (error >= 0) assert.equal(error, whole.length - 1, 'a step after an error');
          if (target.oneShot) assert.ok(whole.length <= 1, 'a one-shot protocol yields at most one step');
          for (const step of whole) {
            if (step.kind === 'request') assert.ok(longestField(step.request) <= target.maxRequestBytes, 'a request beyond the limit');
          }
        }),
        0.5,
      );
    });

    it('well-formed requests give one request step each, in order, whatever follows them', (t) => {
      const many = target.oneShot
        ? fc.array(target.wellFormed, { minLength: 1, maxLength: 1 })
        : fc.array(target.wellFormed, { maxLength: 8 });
      const input = fc.tuple(many, tokenBytes(target.tokens, 6)).chain(([requests, garbage]) => {
        const wire = Buffer.concat(requests.map((r) => r.wire));
        return fc
          .array(fc.integer({ min: 0, max: wire.length }), { maxLength: 8 })
          .map((cuts) => ({ requests, wire, garbage, cuts: [...cuts].sort((a, b) => a - b) }));
      });
      runFuzz(
        t,
        fc.property(input, ({ requests, wire, garbage, cuts }) => {
          const expected = requests.map((r): DecodeStep<R> => ({ kind: 'request', request: r.request }));
          // Exactly the requests, however split, and nothing at the end.
          assert.deepStrictEqual(decodeChunked(target.newDecoder, wire, cuts), expected);
          // Garbage after them may add steps, never change the requests before it.
          const d = target.newDecoder();
          const steps = [...d.push(Buffer.concat([wire, garbage])), ...d.end()];
          assert.deepStrictEqual(steps.slice(0, expected.length), expected);
        }),
        0.5,
      );
    });
  });
}

fuzzTarget(socketmap);
fuzzTarget(tcpTable);
fuzzTarget(policy);
fuzzTarget(exim);
