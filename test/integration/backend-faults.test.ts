/**
 * Shared backends failing under live daemons, end to end (real DNS, real HTTPS, Postfix's
 * postmap as the client), for Redis and PostgreSQL alike:
 *  - while the server is stopped, both daemons keep answering within the zone's deadline
 *    (from memory, or by fetching), and say once that the backend is failing;
 *  - after it returns, both use it again: a policy daemon A learned during the outage is
 *    written back and then served by daemon B, which never fetched it, with the policy host gone;
 *  - a daemon started afresh on the server applies policies learned before and during the
 *    outage (the server's own persistence: Redis with its append-only file, PostgreSQL's data).
 */
import { integrationGate, postfixToolsProblem } from './harness/gate.js';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Daemon, postmap } from './harness/daemon.js';
import { NetNs, run } from './harness/netns.js';
import { PostgresServer, postgresServerProblem } from './harness/postgres.js';
import { RedisServer, redisServerProblem } from './harness/redis.js';
import { FakeInternet, policyBody, repoRoot, servesPolicy, type Sites } from './harness/world.js';

const BIN = join(repoRoot, 'bin/mta-sts-bridge.js');
/** The zone's total deadline (`default_zone.timeout` below), which every answer must meet. */
const DEADLINE_MS = 3_000;
/** Back-off probes run at 1, 2, 4, 8 s after the failure (src/cache/resilient.ts): recovery is seen well within this. */
const RECOVERY_WAIT_MS = 40_000;

const DOMAINS: Readonly<Record<string, { mx: string[]; answer: string }>> = {
  'before.test': { mx: ['mx.before.test'], answer: 'secure match=mx.before.test servername=hostname' },
  'during.test': { mx: ['mx.during.test'], answer: 'secure match=mx.during.test servername=hostname' },
  'other.test': { mx: ['mx.other.test'], answer: 'secure match=mx.other.test servername=hostname' },
};

function sites(withPolicies: readonly string[]): Sites {
  const out: Record<string, Sites[string]> = {};
  for (const [domain, d] of Object.entries(DOMAINS)) {
    out[domain] = withPolicies.includes(domain)
      ? { txt: [`v=STSv1; id=${domain.replace(/\W/g, '')}1;`], policyHost: servesPolicy(policyBody('enforce', d.mx)) }
      : {};
  }
  return out;
}

/** One shared backend under test: how daemons name it, and how the test stops and restarts it. */
interface Backend {
  readonly cacheYaml: string;
  stop(): Promise<void>;
  resume(): Promise<void>;
  destroy(): Promise<void>;
}

async function startRedis(): Promise<Backend> {
  const server = await RedisServer.start({ persistent: true });
  return {
    cacheYaml: `  type: redis\n  options:\n    url: "${server.url}"\n    socket_timeout: 0.5\n`,
    stop: () => server.stop(),
    resume: () => server.resume(),
    destroy: () => server.destroy(),
  };
}

async function startPostgres(): Promise<Backend> {
  const server = await PostgresServer.start();
  await server.createDatabase('bridge');
  return {
    cacheYaml: `  type: postgres\n  options:\n    dsn: "${server.dsn('bridge')}"\n    timeout: 1\n`,
    stop: () => server.stop(),
    resume: () => server.resume(),
    destroy: () => server.destroy(),
  };
}

const BACKENDS: ReadonlyArray<{ name: string; problem: () => string | undefined; start: () => Promise<Backend>; port: number }> = [
  { name: 'redis', problem: redisServerProblem, start: startRedis, port: 8471 },
  { name: 'postgres', problem: postgresServerProblem, start: startPostgres, port: 8481 },
];

for (const spec of BACKENDS) {
  const gate = integrationGate(spec.problem, postfixToolsProblem);
  describe(`${spec.name} failing under two live daemons`, { skip: gate.skip }, () => {
    let ns: NetNs;
    let world: FakeInternet;
    let backend: Backend;
    let dir: string;
    let a: Daemon;
    let b: Daemon;
    const daemons: Daemon[] = [];
    const [portA, portB, portC] = [spec.port, spec.port + 1, spec.port + 2];

    before(async () => {
      gate.assertReady();
      assert.ok(existsSync(BIN));
      const postconf = await run('postconf', ['-h', 'mail_version']).catch((err: Error) => ({ code: -1, stdout: '', stderr: err.message }));
      assert.equal(postconf.code, 0, `Postfix (postmap, postconf) is required: apt-get install postfix (${postconf.stderr.trim()})`);
      dir = mkdtempSync(join(tmpdir(), `msb-faults-${spec.name}-`));
      backend = await spec.start();
      ns = await NetNs.create();
      world = await FakeInternet.start(ns, dir, sites(Object.keys(DOMAINS)));
      a = await start(portA);
      b = await start(portB);
    });

    after(async () => {
      for (const d of daemons) await d.stop();
      if (world !== undefined) await world.stop();
      if (ns !== undefined) await ns.destroy();
      if (backend !== undefined) await backend.destroy();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    });

    async function start(port: number): Promise<Daemon> {
      const yaml = `host: 127.0.0.1\nport: ${port}\ncache_grace: 0\ncache:\n${backend.cacheYaml}default_zone:\n  timeout: ${DEADLINE_MS / 1000}\n`;
      const d = await Daemon.start(ns, dir, yaml, world.caPath, 1);
      daemons.push(d);
      return d;
    }

    /** postmap through `port` answers `domain`'s secure policy within the deadline. */
    const expectSecure = async (domain: string, port: number): Promise<void> => {
      const t0 = Date.now();
      const r = await postmap(ns, domain, `socketmap:inet:127.0.0.1:${port}:postfix`);
      const ms = Date.now() - t0;
      assert.equal(r.stderr, '', `postmap stderr for ${domain} on ${port}`);
      assert.equal(r.stdout, `${DOMAINS[domain]?.answer}\n`, `answer for ${domain} on ${port}`);
      assert.ok(ms < DEADLINE_MS, `${domain} on ${port} answered in ${ms} ms, within the ${DEADLINE_MS} ms deadline`);
    };

    it('daemon A learns a policy while the backend works', async () => {
      await expectSecure('before.test', portA);
      assert.deepEqual(a.grep('cache backend failing'), []);
    });

    it('with the backend stopped, both daemons keep answering within the deadline, and say so once', async () => {
      await backend.stop();
      for (let i = 0; i < 3; i += 1) await expectSecure('before.test', portA); // from A's memory
      await expectSecure('before.test', portB); // B fetches it: the policy host is still up
      await expectSecure('during.test', portA); // learned during the outage: pending in A
      for (let i = 0; i < 2; i += 1) await expectSecure('during.test', portA);
      for (const d of [a, b]) {
        const failing = d.grep('cache backend failing');
        assert.equal(failing.length, 1, `one warning per state change:\n${d.logs.join('\n')}`);
        assert.match(failing[0] ?? '', /ECACHE_BACKEND/);
      }
    });

    it('after the backend returns, both use it again: B serves what A learned during the outage', async () => {
      await backend.resume();
      await Promise.all([
        a.waitForLogs(/cache backend recovered/, 1, RECOVERY_WAIT_MS),
        b.waitForLogs(/cache backend recovered/, 1, RECOVERY_WAIT_MS),
      ]);
      assert.ok(
        a.grep('cache backend recovered').some((l) => /writtenBack=[1-9]/.test(l)),
        a.grep('recovered').join('\n'),
      );
      // The attack: no TXT record and no policy host any more. B never fetched during.test.
      await world.update(sites(['other.test']));
      await expectSecure('during.test', portB);
      await expectSecure('before.test', portB);
      // And new policies go to the backend again: A learns other.test, B serves it from there.
      await expectSecure('other.test', portA);
      await world.update(sites([]));
      await expectSecure('other.test', portB);
    });

    it('a daemon started afresh applies the policies learned before and during the outage', async () => {
      for (const d of daemons.splice(0)) assert.equal((await d.stop()).code, 0, d.logs.join('\n'));
      await start(portC);
      for (const domain of Object.keys(DOMAINS)) await expectSecure(domain, portC);
    });
  });
}
