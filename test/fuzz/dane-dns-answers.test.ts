/**
 * Fuzzing the DANE side's DNS answer reader (readMessage + interpretAnswer): answers built with
 * dns-packet, then mutated (bytes overwritten, cut, inserted). Properties:
 *  - never throws, whatever the bytes;
 *  - a message is an answer only when its ID matches and QR is set;
 *  - an answer's records are of the asked type: MX exchanges are lower-case without a trailing
 *    dot, TLSA data is a Buffer, addresses are strings; TTLs are numbers >= 0; the AD bit is
 *    the header's.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import dnsPacket from 'dns-packet';
import fc from 'fast-check';
import { interpretAnswer, readMessage } from '../../src/dane/dns-message.js';
import type { DaneQueryType } from '../../src/dane/types.js';
import { runFuzz } from './budget.js';

const NAME = 'mx.example.test';
const TYPES: readonly DaneQueryType[] = ['MX', 'A', 'AAAA', 'TLSA', 'NS'];

function answerPacket(id: number, type: DaneQueryType, flags: number, rcode: number, n: number): Buffer {
  const answers: dnsPacket.Answer[] = [];
  for (let i = 0; i < n; i++) {
    answers.push({ type: 'CNAME', name: i === 0 ? NAME : `c${i}.example.test`, ttl: i, data: `c${i + 1}.example.test` });
    answers.push({ type: 'MX', name: `c${i + 1}.example.test`, ttl: 300, data: { preference: i, exchange: `MX${i}.Example.Test.` } });
    answers.push({ type: 'TLSA', name: NAME, ttl: 60, data: { usage: 3, selector: 1, matchingType: 1, certificate: Buffer.alloc(32, i) } });
    answers.push({ type: 'A', name: NAME, ttl: 5, data: `192.0.2.${i}` });
    answers.push({ type: 'AAAA', name: NAME, ttl: 5, data: `2001:db8::${i}` });
  }
  return dnsPacket.encode({
    id,
    type: 'response',
    flags: flags | rcode,
    questions: [{ type, class: 'IN', name: NAME }],
    answers,
    authorities: [
      {
        type: 'SOA',
        name: 'example.test',
        ttl: 30,
        data: { mname: 'ns.example.test', rname: 'h.example.test', serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 10 },
      },
    ],
    additionals: [
      { type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: 0x8000, flag_do: true, options: [] },
    ],
  });
}

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 8 }) }),
);

interface Mutation {
  readonly kind: 'set' | 'cut' | 'insert';
  readonly at: number;
  readonly byte?: number;
  readonly bytes?: Uint8Array;
}

function mutate(buf: Buffer, steps: readonly Mutation[]): Buffer {
  let out = Buffer.from(buf);
  for (const m of steps) {
    const at = out.length === 0 ? 0 : m.at % (out.length + 1);
    if (m.kind === 'set' && at < out.length) out[at] = m.byte ?? 0;
    else if (m.kind === 'cut') out = out.subarray(0, at);
    else if (m.kind === 'insert') out = Buffer.concat([out.subarray(0, at), Buffer.from(m.bytes ?? []), out.subarray(at)]);
  }
  return out;
}

describe('fuzz: DANE DNS answer reader', () => {
  it('never throws; answers carry records of the asked type only', (t) => {
    runFuzz(
      t,
      fc.property(
        fc.integer({ min: 0, max: 0xffff }),
        fc.constantFrom(...TYPES),
        fc.constantFrom(0, dnsPacket.AUTHENTIC_DATA, dnsPacket.TRUNCATED_RESPONSE | dnsPacket.AUTHENTIC_DATA),
        fc.constantFrom(0, 2, 3, 5, 4),
        fc.integer({ min: 0, max: 3 }),
        fc.array(mutation, { maxLength: 6 }),
        (id, type, flags, rcode, n, steps) => {
          const bytes = mutate(answerPacket(id, type, flags, rcode, n), steps);
          const read = readMessage(bytes, id, NAME, type);
          if (read.kind !== 'answer') return;
          assert.equal(bytes.readUInt16BE(0), id);
          assert.ok((bytes[2]! & 0x80) !== 0);
          const a = interpretAnswer(read.packet, NAME, type);
          switch (a.kind) {
            case 'records':
              assert.equal(a.secure, read.packet.flag_ad);
              assert.ok(a.ttl >= 0);
              for (const r of a.records) {
                switch (type) {
                  case 'MX': {
                    const mx = r as { exchange: string; preference: number };
                    assert.equal(typeof mx.preference, 'number');
                    assert.equal(mx.exchange, mx.exchange.toLowerCase());
                    assert.ok(!mx.exchange.endsWith('.'));
                    break;
                  }
                  case 'TLSA':
                    assert.ok(Buffer.isBuffer((r as { data: Buffer }).data));
                    break;
                  case 'A':
                  case 'AAAA':
                  case 'NS':
                    assert.equal(typeof r, 'string');
                    break;
                }
              }
              break;
            case 'nxdomain':
            case 'nodata':
              assert.equal(a.secure, read.packet.flag_ad);
              assert.ok(a.ttl >= 0);
              break;
            case 'error':
              assert.match(a.code, /^EDANE_DNS_/);
              break;
          }
        },
      ),
      1,
    );
  });
});
