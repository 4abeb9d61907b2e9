/**
 * A fleet on Redis Sentinel through a failover, end to end: real `redis-server` primary and
 * replica, three real `redis-sentinel` processes (quorum 2) on loopback TCP ports, two daemons
 * configured with `cache: {type: redis_sentinel}`, Postfix's postmap as the client, all inside
 * the fake internet's namespace. The policies are learned, then the TXT records and policy
 * hosts vanish, so only the shared cache can answer; `SENTINEL FAILOVER` then promotes the
 * replica while both daemons answer a stream of lookups. Every answer must be the policy, no
 * cached policy may be lost (the new primary holds every key; a daemon started afterwards
 * applies them all), and a policy learned after the switch lands on the new primary.
 */
import { integrationGate, postfixToolsProblem } from './harness/gate.js';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Daemon, postmap } from './harness/daemon.js';
import { NetNs, run } from './harness/netns.js';
import { MASTER_NAME, PRIMARY_PORT, REPLICA_PORT, RedisSentinelSet, redisSentinelProblem } from './harness/redis-sentinel.js';
import { FakeInternet, policyBody, repoRoot, servesPolicy, type Sites } from './harness/world.js';

const BIN = join(repoRoot, 'bin/mta-sts-bridge.js');
const DOMAINS = ['alpha.test', 'beta.test', 'gamma.test', 'delta.test', 'epsilon.test', 'zeta.test'];
/** Learned only after the failover: the write must reach the new primary. */
const LATE = 'late.test';
const answerFor = (domain: string): string => `secure match=mail.${domain} servername=hostname`;

function sites(withPolicies: boolean): Sites {
  const out: Record<string, Sites[string]> = {};
  for (const domain of withPolicies ? DOMAINS : []) {
    out[domain] = {
      txt: [`v=STSv1; id=${domain.replace(/\W/g, '')}1;`],
      policyHost: servesPolicy(policyBody('enforce', [`mail.${domain}`])),
    };
  }
  out[LATE] = { txt: ['v=STSv1; id=late1;'], policyHost: servesPolicy(policyBody('enforce', [`mail.${LATE}`])) };
  return out;
}

// cache_grace 0: every lookup asks DNS, which (after the policies vanish) says there is no
// policy; cache_size 1: the memory layer in front of Redis holds one entry, so lookups cycling
// over six domains read Redis nearly every time, during the failover too.
const config = (port: number, sentinels: string): string => `
host: 127.0.0.1
port: ${port}
cache_grace: 0
cache:
  type: redis_sentinel
  options:
    sentinel_master_name: ${MASTER_NAME}
    sentinels: ${sentinels}
    prefix: "sentinel-test:"
    socket_timeout: 1
    socket_connect_timeout: 1
    cache_size: 1
default_zone:
  timeout: 3
`;

const gate = integrationGate(redisSentinelProblem, postfixToolsProblem);

interface Answer {
  readonly port: number;
  readonly domain: string;
  readonly at: number;
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

describe('a fleet on Redis Sentinel through a failover', { skip: gate.skip }, () => {
  let ns: NetNs;
  let world: FakeInternet;
  let redis: RedisSentinelSet;
  let dir: string;
  const daemons: Daemon[] = [];

  before(async () => {
    gate.assertReady();
    assert.ok(existsSync(BIN));
    const postconf = await run('postconf', ['-h', 'mail_version']).catch((err: Error) => ({ code: -1, stdout: '', stderr: err.message }));
    assert.equal(postconf.code, 0, `Postfix (postmap, postconf) is required: apt-get install postfix (${postconf.stderr.trim()})`);
    dir = mkdtempSync(join(tmpdir(), 'msb-sentinel-test-'));
    ns = await NetNs.create();
    redis = await RedisSentinelSet.start(ns);
    world = await FakeInternet.start(ns, dir, sites(true));
  });

  after(async () => {
    for (const d of daemons) await d.stop();
    if (world !== undefined) await world.stop();
    if (redis !== undefined) await redis.destroy();
    if (ns !== undefined) await ns.destroy();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const start = async (port: number): Promise<Daemon> => {
    const d = await Daemon.start(ns, dir, config(port, redis.sentinelsYaml), world.caPath, 1);
    daemons.push(d);
    return d;
  };
  const ask = async (domain: string, port: number): Promise<Answer> => {
    const r = await postmap(ns, domain, `socketmap:inet:127.0.0.1:${port}:postfix`);
    return { port, domain, at: Date.now(), code: r.code ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  const expectSecure = async (domain: string, port: number): Promise<void> => {
    const r = await ask(domain, port);
    assert.equal(r.stderr, '', `postmap stderr for ${domain} on ${port}`);
    assert.equal(r.stdout, `${answerFor(domain)}\n`, `answer for ${domain} on ${port}`);
  };
  const storedDomains = async (port: number): Promise<string[]> => {
    const out = await redis.cli(port, '--scan', '--pattern', 'sentinel-test:policy:*');
    return out
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.replace('sentinel-test:policy:', ''))
      .sort();
  };

  it('daemon A learns the policies through the primary the sentinels name', async () => {
    assert.equal(await redis.masterPort(), PRIMARY_PORT);
    const a = await start(8461);
    await start(8462);
    for (const domain of DOMAINS) await expectSecure(domain, 8461);
    assert.ok(
      a.grep('cache opened').some((l) => l.includes('backend=redis')),
      a.grep('cache opened').join('\n'),
    );
    assert.deepEqual(await storedDomains(PRIMARY_PORT), [...DOMAINS].sort());
    // Replicated before the switch, so a failover has something to keep.
    await redis.waitFor(
      async () => (await storedDomains(REPLICA_PORT)).join(' '),
      new RegExp(`^${[...DOMAINS].sort().join(' ')}$`),
      'the replica to hold every key',
    );
  });

  it('during SENTINEL FAILOVER both daemons answer every lookup with the policy from the cache', async () => {
    await world.update(sites(false));
    const answers: Answer[] = [];
    let stop = false;
    const loop = async (port: number, offset: number): Promise<void> => {
      for (let i = offset; !stop; i++) {
        const domain = DOMAINS[i % DOMAINS.length] as string;
        answers.push(await ask(domain, port));
      }
    };
    const loops = [loop(8461, 0), loop(8462, 3)];
    await new Promise((r) => setTimeout(r, 1500));
    const switchStarted = Date.now();
    assert.match(await redis.cli(26379, 'SENTINEL', 'FAILOVER', MASTER_NAME), /OK/);
    // Until every sentinel names the replica and the replica says it is a master.
    for (const port of [26379, 26380, 26381]) {
      await redis.waitFor(
        () => redis.cli(port, 'SENTINEL', 'get-master-addr-by-name', MASTER_NAME),
        new RegExp(`\\b${REPLICA_PORT}\\b`),
        `sentinel ${port} to name the new master`,
      );
    }
    await redis.waitFor(() => redis.cli(REPLICA_PORT, 'ROLE'), /^master/, 'the replica to become master');
    const switchDone = Date.now();
    // The old primary, demoted, follows the new one.
    await redis.waitFor(() => redis.cli(PRIMARY_PORT, 'ROLE'), /^slave/, 'the old primary to become a replica');
    await new Promise((r) => setTimeout(r, 3000));
    stop = true;
    await Promise.all(loops);

    const during = answers.filter((a) => a.at >= switchStarted && a.at <= switchDone + 1000);
    const wrong = answers.filter((a) => a.code !== 0 || a.stderr !== '' || a.stdout !== `${answerFor(a.domain)}\n`);
    // A postmap process per lookup on a shared, slow machine: the count proves the loops ran, not a rate.
    assert.ok(answers.length >= 8, `only ${answers.length} lookups`);
    assert.ok(during.length >= 2, `only ${during.length} lookups while the master switched (${switchDone - switchStarted} ms)`);
    assert.deepEqual(
      wrong.map(
        (a) =>
          `${a.at - switchStarted} ms ${a.domain} on ${a.port}: exit ${a.code} ${JSON.stringify(a.stdout)} ${JSON.stringify(a.stderr)}`,
      ),
      [],
      `${answers.length} lookups, ${during.length} during the switch; daemon logs:\n${daemons.flatMap((d) => d.grep('redis').slice(-10)).join('\n')}`,
    );
    assert.equal(await redis.masterPort(), REPLICA_PORT);
  });

  it('no cached policy is lost: the new primary holds every key, and a fresh daemon applies them all', async () => {
    assert.deepEqual(await storedDomains(REPLICA_PORT), [...DOMAINS].sort());
    await start(8463);
    for (const domain of DOMAINS) await expectSecure(domain, 8463);
  });

  it('a policy learned after the failover is written to the new primary', async () => {
    await expectSecure(LATE, 8462);
    await redis.waitFor(
      async () => (await storedDomains(REPLICA_PORT)).join(' '),
      new RegExp(`\\b${LATE}\\b`),
      `${LATE} on the new primary`,
    );
  });
});
