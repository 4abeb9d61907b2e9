/**
 * End to end: a real Postfix smtpd delegates RCPT checks to the daemon's policy listener
 * (check_policy_service); the daemon answers DUNNO at once and resolves the recipient domain
 * in the background. Proof that the warm-up filled the cache the socketmap listener reads:
 * with the domain's TXT record and policy host gone, `postmap -q` still answers `secure`.
 */
import { integrationGate, postfixToolsProblem } from './harness/gate.js';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Daemon, postmap } from './harness/daemon.js';
import { NetNs } from './harness/netns.js';
import { PostfixInstance, postfixPrerequisiteProblem } from './harness/postfix-instance.js';
import { FakeInternet, policyBody, repoRoot, servesPolicy, type Sites } from './harness/world.js';

const SMTPD_ADDRESS = '127.0.0.3';
const POLICY_PORT = 8462;
const SOCKETMAP = 'socketmap:inet:127.0.0.1:8461:postfix';
const SMTP_CLIENT = resolve(import.meta.dirname, 'harness/smtp-client.js');

/** The zone timeout: a reply that waited for the hanging policy host would take this long. */
const ZONE_TIMEOUT_SEC = 8;
/**
 * Generous bound on an RCPT round trip through smtpd and the policy service on loopback. It
 * only has to separate "at once" from "after the resolution" (ZONE_TIMEOUT_SEC), on a busy CI.
 */
const RCPT_BOUND_MS = 3000;

const ENFORCE_MX = ['mx1.enforce.test', '*.mx.enforce.test'];

function sites(withEnforce: boolean): Sites {
  return {
    'enforce.test': withEnforce ? { txt: ['v=STSv1; id=warm1;'], policyHost: servesPolicy(policyBody('enforce', ENFORCE_MX)) } : {},
    'hang.test': { txt: ['v=STSv1; id=h1;'], policyHost: { cert: { kind: 'valid' }, response: { kind: 'hang' } } },
    'trickle.test': {
      txt: ['v=STSv1; id=t1;'],
      policyHost: {
        cert: { kind: 'valid' },
        response: { kind: 'trickle', bytesPerSecond: 2, body: policyBody('enforce', ['mx.trickle.test']) },
      },
    },
    'local.test': { txt: ['v=STSv1; id=l1;'], policyHost: servesPolicy(policyBody('enforce', ['mx.local.test'])) },
  };
}

// The cache in memory: a persistent one would let a policy from an earlier run pass the test.
const CONFIG = `
cache_grace: 0
cache:
  type: internal
listeners:
  - protocol: socketmap
    address: "127.0.0.1:8461"
  - protocol: policy
    address: "127.0.0.1:${POLICY_PORT}"
default_zone:
  timeout: ${ZONE_TIMEOUT_SEC}
policy_delegation:
  queue_size: 100
  concurrency: 4
  skip_domains:
    - local.test
`;

interface Exchange {
  readonly command: string;
  readonly reply: string;
  readonly ms: number;
}

const gate = integrationGate(postfixToolsProblem);

describe('policy delegation with a real Postfix smtpd', { skip: gate.skip }, () => {
  let ns: NetNs;
  let world: FakeInternet;
  let daemon: Daemon;
  let postfix: PostfixInstance;
  let dir: string;

  before(async () => {
    gate.assertReady();
    const missing = await postfixPrerequisiteProblem();
    if (missing !== undefined) throw new Error(missing);
    assert.ok(existsSync(join(repoRoot, 'bin/mta-sts-bridge.js')));
    dir = mkdtempSync(join(tmpdir(), 'msb-pd-'));
    // The postfix user must reach its queue and log below this directory.
    chmodSync(dir, 0o755);
    ns = await NetNs.create();
    world = await FakeInternet.start(ns, dir, sites(true));
    daemon = await Daemon.start(ns, dir, CONFIG, world.caPath, 2);
    postfix = await PostfixInstance.start(ns, dir, {
      smtpdAddress: SMTPD_ADDRESS,
      recipientRestrictions: `check_policy_service inet:127.0.0.1:${POLICY_PORT}, permit`,
    });
  });

  after(async () => {
    if (postfix !== undefined) await postfix.stop();
    if (daemon !== undefined) await daemon.stop();
    if (world !== undefined) await world.stop();
    if (ns !== undefined) await ns.destroy();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const smtp = async (...rcpts: string[]): Promise<Exchange[]> => {
    const r = await ns.run(process.execPath, [SMTP_CLIENT, SMTPD_ADDRESS, '25', 'sender@client.test', ...rcpts], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, `smtp client failed: ${r.stderr}\n${postfix.maillog()}`);
    return JSON.parse(r.stdout) as Exchange[];
  };

  const waitForDaemonLog = async (test: (line: string) => boolean, what: string, timeoutMs = 20_000): Promise<string> => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const line = daemon.logs.find(test);
      if (line !== undefined) return line;
      if (Date.now() > until) assert.fail(`daemon never logged ${what}:\n${daemon.logs.slice(-40).join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  it('answers every RCPT at once, even while policy hosts hang or trickle', async () => {
    const exchanges = await smtp('bob@enforce.test', 'carol@hang.test', 'dave@trickle.test', 'erin@local.test');
    const rcpts = exchanges.filter((e) => e.command.startsWith('RCPT'));
    assert.equal(rcpts.length, 4);
    for (const e of rcpts) {
      // 250 means smtpd got DUNNO and went on to `permit`; a policy failure would be 451 4.3.5.
      assert.match(e.reply, /^250 /, `${e.command}: ${e.reply}`);
      assert.ok(
        e.ms < RCPT_BOUND_MS,
        `${e.command} took ${e.ms.toFixed(0)} ms (bound ${RCPT_BOUND_MS} ms, resolution timeout ${ZONE_TIMEOUT_SEC} s)`,
      );
    }
    assert.doesNotMatch(postfix.maillog(), /problem talking to server|policy service/i, 'smtpd had no trouble with the policy service');
  });

  it('warmed the recipient domains in the background, skipping the configured local one', async () => {
    await waitForDaemonLog(
      (l) => l.includes('warmed') && l.includes('domain=enforce.test') && l.includes('outcome=policy'),
      'the warm-up of enforce.test',
    );
    const local = daemon.logs.filter((l) => l.includes('policy delegation answer') && l.includes('erin@local.test'));
    assert.equal(local.length, 1, 'one request for erin@local.test');
    assert.match(local[0] ?? '', /warm=skipped/);
    assert.ok(!daemon.logs.some((l) => l.includes('warmed') && l.includes('domain=local.test')), 'local.test is never resolved');
    const hang = daemon.logs.filter((l) => l.includes('policy delegation answer') && l.includes('carol@hang.test'));
    assert.match(hang[0] ?? '', /warm=queued/);
  });

  it('the socketmap listener answers from the warmed cache after the domain vanished from DNS and HTTPS', async () => {
    await world.update(sites(false));
    const r = await postmap(ns, 'enforce.test', SOCKETMAP);
    assert.equal(r.stderr, '', 'postmap stderr');
    assert.equal(r.code, 0, `postmap exit: ${r.stdout}`);
    assert.match(r.stdout, /^secure match=/);
    assert.match(r.stdout, /mx1\.enforce\.test/);
    // The answer came from the cached (now "stale": the TXT record is gone) policy, not a new fetch.
    assert.ok(!daemon.logs.some((l) => l.includes('policy fetch failed') && l.includes('domain=enforce.test')));
  });

  it('control: a domain no RCPT named and DNS does not know gets no policy', async () => {
    const cold = await postmap(ns, 'cold.test', SOCKETMAP);
    assert.equal(cold.code, 1);
    assert.equal(cold.stdout, '');
    assert.equal(cold.stderr, '');
  });
});
