/**
 * A fleet on one Redis, end to end (real DNS, real HTTPS, Postfix's postmap as the client):
 * a policy learned through daemon A is served by daemon B after the policy hosts and TXT
 * records vanished, although B never fetched it; and a daemon started afresh on the same Redis
 * still applies every policy the fleet learned (restart safety, as with the SQLite file).
 */
import { integrationGate, postfixToolsProblem } from './harness/gate.js';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Daemon, postmap } from './harness/daemon.js';
import { NetNs, run } from './harness/netns.js';
import { RedisServer, redisServerProblem } from './harness/redis.js';
import { FakeInternet, policyBody, repoRoot, servesPolicy, type Sites } from './harness/world.js';

const BIN = join(repoRoot, 'bin/mta-sts-bridge.js');

const DOMAINS: Readonly<Record<string, { mx: string[]; answer: string }>> = {
  'alpha.test': { mx: ['mx1.alpha.test', '*.mx.alpha.test'], answer: 'secure match=mx1.alpha.test:.mx.alpha.test servername=hostname' },
  'beta.test': { mx: ['mail.beta.test'], answer: 'secure match=mail.beta.test servername=hostname' },
};

function sites(withPolicies: boolean): Sites {
  const out: Record<string, Sites[string]> = {};
  for (const [domain, d] of Object.entries(DOMAINS)) {
    out[domain] = withPolicies
      ? { txt: [`v=STSv1; id=${domain.replace(/\W/g, '')}1;`], policyHost: servesPolicy(policyBody('enforce', d.mx)) }
      : {};
  }
  return out;
}

// cache_grace 0: every lookup asks DNS, which (after the attack) says there is no policy; only
// the shared cache can still give the answer.
const config = (port: number, url: string): string => `
host: 127.0.0.1
port: ${port}
cache_grace: 0
cache:
  type: redis
  options:
    url: "${url}"
    prefix: "fleet-test:"
    socket_timeout: 1
default_zone:
  timeout: 3
`;

const gate = integrationGate(redisServerProblem, postfixToolsProblem);

describe('a fleet on one Redis', { skip: gate.skip }, () => {
  let ns: NetNs;
  let world: FakeInternet;
  let redis: RedisServer;
  let dir: string;
  const daemons: Daemon[] = [];

  before(async () => {
    gate.assertReady();
    assert.ok(existsSync(BIN));
    const postconf = await run('postconf', ['-h', 'mail_version']).catch((err: Error) => ({ code: -1, stdout: '', stderr: err.message }));
    assert.equal(postconf.code, 0, `Postfix (postmap, postconf) is required: apt-get install postfix (${postconf.stderr.trim()})`);
    dir = mkdtempSync(join(tmpdir(), 'msb-fleet-'));
    redis = await RedisServer.start();
    ns = await NetNs.create();
    world = await FakeInternet.start(ns, dir, sites(true));
  });

  after(async () => {
    for (const d of daemons) await d.stop();
    if (world !== undefined) await world.stop();
    if (ns !== undefined) await ns.destroy();
    if (redis !== undefined) await redis.destroy();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const start = async (port: number): Promise<Daemon> => {
    const d = await Daemon.start(ns, dir, config(port, redis.url), world.caPath, 1);
    daemons.push(d);
    return d;
  };
  const expectSecure = async (domain: string, port: number): Promise<void> => {
    const r = await postmap(ns, domain, `socketmap:inet:127.0.0.1:${port}:postfix`);
    assert.equal(r.stderr, '', `postmap stderr for ${domain} on ${port}`);
    assert.equal(r.stdout, `${DOMAINS[domain]?.answer}\n`, `answer for ${domain} on ${port}`);
  };

  it('daemon A learns the policies; they land in Redis under the prefix', async () => {
    const a = await start(8461);
    await start(8462);
    for (const domain of Object.keys(DOMAINS)) await expectSecure(domain, 8461);
    assert.ok(
      a.grep('cache opened').some((l) => l.includes('backend=redis') && l.includes(redis.socketPath)),
      a.grep('cache opened').join('\n'),
    );
    const cli = await run('redis-cli', ['-s', redis.socketPath, '--scan', '--pattern', 'fleet-test:policy:*']);
    assert.deepEqual(cli.stdout.trim().split('\n').sort(), ['fleet-test:policy:alpha.test', 'fleet-test:policy:beta.test']);
  });

  it('with the policy hosts and TXT records gone, daemon B (which never fetched them) still answers secure', async () => {
    await world.update(sites(false));
    for (const domain of Object.keys(DOMAINS)) await expectSecure(domain, 8462);
  });

  it('a daemon started afresh on the same Redis applies every policy the fleet learned', async () => {
    for (const d of daemons.splice(0)) assert.equal((await d.stop()).code, 0, d.logs.join('\n'));
    await start(8463);
    for (const domain of Object.keys(DOMAINS)) await expectSecure(domain, 8463);
  });
});
