import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { policyDelegationAdapter, warmForRequest } from '../../../adapters/protocol/policy-delegation.js';
import { domainSeparator, recipientDomain, type RecipientDomain } from '../../../adapters/protocol/policy-recipient.js';
import type { PolicyRequest } from '../../../adapters/protocol/policy-attributes.js';
import type { HandlerContext } from '../../../src/protocol/types.js';
import type { LookupService } from '../../../src/lookup.js';
import type { WarmOutcome, WarmService } from '../../../src/warm/types.js';
import { memoryLogger } from '../../helpers/fakes.js';

describe('recipientDomain', () => {
  const table: ReadonlyArray<[string, RecipientDomain]> = [
    ['bob@enforce.test', { kind: 'domain', domain: 'enforce.test' }],
    ['Bob@ENFORCE.Test', { kind: 'domain', domain: 'enforce.test' }],
    ['bob@enforce.test.', { kind: 'domain', domain: 'enforce.test' }],
    ['<bob@enforce.test>', { kind: 'domain', domain: 'enforce.test' }],
    ['jürgen@bücher.test', { kind: 'domain', domain: 'xn--bcher-kva.test' }],
    ['a@xn--bcher-kva.test', { kind: 'domain', domain: 'xn--bcher-kva.test' }],
    ['"odd@local"@quoted.test', { kind: 'domain', domain: 'quoted.test' }],
    ['"a\\"@b"@esc.test', { kind: 'domain', domain: 'esc.test' }],
    ['a@b@last.test', { kind: 'domain', domain: 'last.test' }],
    ['', { kind: 'skip', reason: 'empty', detail: 'no recipient address' }],
    ['<>', { kind: 'skip', reason: 'empty', detail: 'no recipient address' }],
    ['postmaster', { kind: 'skip', reason: 'no-domain', detail: '"postmaster" has no domain part' }],
    ['"only@quoted"', { kind: 'skip', reason: 'no-domain', detail: '"\\"only@quoted\\"" has no domain part' }],
    ['bob@', { kind: 'skip', reason: 'invalid', detail: '"bob@" has an empty domain part' }],
    ['bob@[192.0.2.1]', { kind: 'skip', reason: 'address-literal', detail: '"bob@[192.0.2.1]" is addressed to an IP literal' }],
    [
      'bob@[IPv6:2001:db8::1]',
      { kind: 'skip', reason: 'address-literal', detail: '"bob@[IPv6:2001:db8::1]" is addressed to an IP literal' },
    ],
    ['bob@192.0.2.1', { kind: 'skip', reason: 'address-literal', detail: '192.0.2.1 is an IP address' }],
  ];
  for (const [input, expected] of table) {
    it(`${JSON.stringify(input)} -> ${expected.kind === 'domain' ? expected.domain : expected.reason}`, () => {
      assert.deepEqual(recipientDomain(input), expected);
    });
  }
  for (const bad of ['bob@exa mple.test', 'bob@-bad.test', 'bob@a..test', 'bob@x_y.test']) {
    it(`${JSON.stringify(bad)} is not a domain`, () => {
      assert.equal((recipientDomain(bad) as { reason?: string }).reason, 'invalid');
    });
  }
  it('finds the separator outside quotes only', () => {
    assert.equal(domainSeparator('"a@b"'), -1);
    assert.equal(domainSeparator('"a@b"@c'), 5);
    assert.equal(domainSeparator('a\\@b'), 2, 'a backslash outside quotes escapes nothing');
  });
});

class FakeWarm implements WarmService {
  readonly calls: Array<[string, string | undefined]> = [];
  constructor(private readonly answer: WarmOutcome | 'throw' = 'queued') {}
  enqueue(domain: string, zoneName?: string): WarmOutcome {
    this.calls.push([domain, zoneName]);
    if (this.answer === 'throw') throw new Error('warm exploded');
    return this.answer;
  }
}

const noLookup: LookupService = {
  lookup: () => Promise.reject(new Error('the policy adapter must never look up in line')),
  zone: () => assert.fail('no zone lookup expected'),
};

function context(warm: WarmService | undefined, zone?: string): { ctx: HandlerContext; lines: Array<Record<string, unknown>> } {
  const { log, lines } = memoryLogger();
  const ctx: HandlerContext = {
    lookup: noLookup,
    log,
    ...(warm !== undefined ? { warm } : {}),
    ...(zone !== undefined ? { listenerZone: zone } : {}),
  };
  return { ctx, lines };
}

const rcpt = (recipient: string, extra: Partial<PolicyRequest> = {}): PolicyRequest => ({
  request: 'smtpd_access_policy',
  protocolState: 'RCPT',
  recipient,
  ...extra,
});

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

describe('policy delegation handler', () => {
  it('warms the recipient domain at RCPT, in the listener zone, and answers DUNNO', async () => {
    const warm = new FakeWarm();
    const { ctx } = context(warm, 'strict');
    assert.equal(text(await policyDelegationAdapter.handle(rcpt('bob@Enforce.test'), ctx)), 'action=DUNNO\n\n');
    assert.deepEqual(warm.calls, [['enforce.test', 'strict']]);
  });

  for (const state of ['CONNECT', 'EHLO', 'HELO', 'MAIL', 'DATA', 'END-OF-MESSAGE', 'VRFY', 'ETRN', undefined]) {
    it(`answers DUNNO without warming in state ${String(state)}`, async () => {
      const warm = new FakeWarm();
      const { ctx } = context(warm);
      const req: PolicyRequest = {
        request: 'smtpd_access_policy',
        recipient: 'bob@enforce.test',
        ...(state !== undefined ? { protocolState: state } : {}),
      };
      assert.equal(text(await policyDelegationAdapter.handle(req, ctx)), 'action=DUNNO\n\n');
      assert.deepEqual(warm.calls, []);
    });
  }

  it('accepts a lower-case state and a request without `request=`', () => {
    const warm = new FakeWarm();
    const { ctx } = context(warm);
    assert.deepEqual(warmForRequest({ protocolState: 'rcpt', recipient: 'a@x.test' }, ctx), {
      kind: 'warm',
      domain: 'x.test',
      outcome: 'queued',
    });
  });

  it('ignores (and logs) a request type other than smtpd_access_policy', async () => {
    const warm = new FakeWarm();
    const { ctx, lines } = context(warm);
    assert.equal(text(await policyDelegationAdapter.handle(rcpt('a@x.test', { request: 'junk' }), ctx)), 'action=DUNNO\n\n');
    assert.deepEqual(warm.calls, []);
    assert.ok(lines.some((l) => l['code'] === 'EDELEGATION_UNKNOWN_REQUEST'));
  });

  for (const recipient of ['', '<>', 'postmaster', 'bob@[192.0.2.1]', 'bob@bad..test']) {
    it(`answers DUNNO without warming for recipient ${JSON.stringify(recipient)}`, async () => {
      const warm = new FakeWarm();
      const { ctx } = context(warm);
      assert.equal(text(await policyDelegationAdapter.handle(rcpt(recipient), ctx)), 'action=DUNNO\n\n');
      assert.deepEqual(warm.calls, []);
    });
  }

  for (const outcome of ['queued', 'duplicate', 'recent', 'skipped', 'dropped', 'stopped'] as const) {
    it(`answers DUNNO whatever the warmer says (${outcome})`, async () => {
      const { ctx } = context(new FakeWarm(outcome));
      assert.equal(text(await policyDelegationAdapter.handle(rcpt('a@x.test'), ctx)), 'action=DUNNO\n\n');
    });
  }

  it('answers DUNNO and logs EDELEGATION_INTERNAL when the warmer throws', async () => {
    const { ctx, lines } = context(new FakeWarm('throw'));
    assert.equal(text(await policyDelegationAdapter.handle(rcpt('a@x.test'), ctx)), 'action=DUNNO\n\n');
    assert.ok(lines.some((l) => l['code'] === 'EDELEGATION_INTERNAL'));
  });

  it('answers DUNNO with no warmer configured', async () => {
    const { ctx } = context(undefined);
    assert.equal(text(await policyDelegationAdapter.handle(rcpt('a@x.test'), ctx)), 'action=DUNNO\n\n');
  });

  it('answers in the same turn: the reply never waits for a lookup', async () => {
    // A warmer whose work never finishes; the reply must still be ready immediately.
    const never: WarmService = { enqueue: () => (void new Promise(() => undefined), 'queued') };
    const { ctx } = context(never);
    let settled = false;
    const reply = policyDelegationAdapter.handle(rcpt('a@x.test'), ctx).then((r) => ((settled = true), r));
    await Promise.resolve();
    await Promise.resolve();
    assert.equal(settled, true);
    assert.equal(text(await reply), 'action=DUNNO\n\n');
  });

  it('is a long-lived protocol with a bounded request size', () => {
    assert.equal(policyDelegationAdapter.oneShot, false);
    assert.equal(policyDelegationAdapter.protocol, 'policy');
    assert.ok(policyDelegationAdapter.maxRequestBytes >= 8192);
  });
});
