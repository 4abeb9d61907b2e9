/**
 * Restart safety, end to end: the daemon learns enforce policies (real DNS, real HTTPS, asked
 * by Postfix's postmap), is stopped, the domains' policy hosts AND TXT records vanish (what an
 * attacker who blocks them achieves), and the daemon started again over the same SQLite file
 * still answers `secure` for each. A control daemon with an empty cache shows that without the
 * file the same world gives no policy at all.
 */
import { integrationGate, postfixToolsProblem } from './harness/gate.js';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { Daemon, postmap } from './harness/daemon.js';
import { NetNs, run } from './harness/netns.js';
import { FakeInternet, policyBody, repoRoot, servesPolicy, type Sites } from './harness/world.js';

const BIN = join(repoRoot, 'bin/mta-sts-bridge.js');
const MAP = 'socketmap:inet:127.0.0.1:8461:postfix';
const CONTROL_MAP = 'socketmap:inet:127.0.0.1:8462:postfix';

const DOMAINS: Readonly<Record<string, { mx: string[]; answer: string }>> = {
  'alpha.test': { mx: ['mx1.alpha.test', '*.mx.alpha.test'], answer: 'secure match=mx1.alpha.test:.mx.alpha.test servername=hostname' },
  'beta.test': { mx: ['mail.beta.test'], answer: 'secure match=mail.beta.test servername=hostname' },
  'xn--bcher-kva.test': { mx: ['mx.xn--bcher-kva.test'], answer: 'secure match=mx.xn--bcher-kva.test servername=hostname' },
};

function sitesWithPolicies(): Sites {
  const sites: Record<string, Sites[string]> = { 'other.test': {} };
  for (const [domain, d] of Object.entries(DOMAINS)) {
    sites[domain] = {
      txt: [`v=STSv1; id=${domain.replace(/[^a-z0-9]/g, '').slice(0, 20)}1;`],
      policyHost: servesPolicy(policyBody('enforce', d.mx)),
    };
  }
  return sites;
}

/** The attack: no TXT record and no policy host for any of them (NXDOMAIN for both names). */
function sitesWithoutPolicies(): Sites {
  const sites: Record<string, Sites[string]> = { 'other.test': {} };
  for (const domain of Object.keys(DOMAINS)) sites[domain] = {};
  return sites;
}

// cache_grace 0: every lookup after the restart really asks DNS, finds nothing, and must still
// apply the cached policy (RFC 8461 §5.1 last-known-good), not merely answer within a grace period.
const CONFIG = (port: number): string => `
host: 127.0.0.1
port: ${port}
cache_grace: 0
cache:
  type: sqlite
  options:
    filename: restart.sqlite
default_zone:
  timeout: 3
`;

const gate = integrationGate(postfixToolsProblem);

describe('restart safety: the SQLite cache outlives the daemon', { skip: gate.skip }, () => {
  let ns: NetNs;
  let world: FakeInternet;
  let dir: string;
  let state: string;
  const daemons: Daemon[] = [];

  before(async () => {
    gate.assertReady();
    assert.ok(existsSync(BIN));
    const postconf = await run('postconf', ['-h', 'mail_version']).catch((err: Error) => ({ code: -1, stdout: '', stderr: err.message }));
    assert.equal(postconf.code, 0, `Postfix (postmap, postconf) is required: apt-get install postfix (${postconf.stderr.trim()})`);
    dir = mkdtempSync(join(tmpdir(), 'msb-restart-'));
    state = join(dir, 'state', 'nested');
    ns = await NetNs.create();
    world = await FakeInternet.start(ns, dir, sitesWithPolicies());
  });

  after(async () => {
    for (const d of daemons) await d.stop();
    if (world !== undefined) await world.stop();
    if (ns !== undefined) await ns.destroy();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const start = async (port: number, stateDirectory: string): Promise<Daemon> => {
    const d = await Daemon.start(ns, dir, CONFIG(port), world.caPath, 1, { stateDirectory });
    daemons.push(d);
    return d;
  };
  const stop = async (d: Daemon): Promise<void> => {
    daemons.splice(daemons.indexOf(d), 1);
    const { code } = await d.stop();
    assert.equal(code, 0, `the daemon stops cleanly:\n${d.logs.join('\n')}`);
  };
  const expectSecure = async (domain: string, map = MAP): Promise<void> => {
    const r = await postmap(ns, domain, map);
    assert.equal(r.stderr, '', `postmap stderr for ${domain}`);
    assert.equal(r.code, 0, `postmap exit for ${domain}`);
    assert.equal(r.stdout, `${DOMAINS[domain]?.answer}\n`);
  };
  const cacheCli = (...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> => {
    const cfg = join(dir, 'cli.yml');
    writeFileSync(cfg, CONFIG(8461));
    return run('env', [`STATE_DIRECTORY=${state}`, process.execPath, BIN, 'cache', ...args, '-c', cfg]);
  };

  it('learns the enforce policies, then stops; the file is private to the daemon', async () => {
    const first = await start(8461, state);
    for (const domain of Object.keys(DOMAINS)) await expectSecure(domain);
    await stop(first);
    assert.equal(statSync(state).mode & 0o777, 0o700, 'state directory created 0700');
    assert.equal(statSync(join(state, 'restart.sqlite')).mode & 0o777, 0o600, 'cache file created 0600');
  });

  it('with the policy hosts and TXT records gone, an empty cache gives no policy (the downgrade)', async () => {
    await world.update(sitesWithoutPolicies());
    const control = await start(8462, join(dir, 'control-state'));
    for (const domain of Object.keys(DOMAINS)) {
      const r = await postmap(ns, domain, CONTROL_MAP);
      assert.equal(r.code, 1, `no policy for ${domain} without a cache: ${r.stdout}`);
      assert.equal(r.stdout, '');
    }
    await stop(control);
  });

  it('restarted over the same file, the daemon still answers secure for each domain', async () => {
    const second = await start(8461, state);
    for (const domain of Object.keys(DOMAINS)) await expectSecure(domain);
    // The answers came from the remembered policies, after DNS said there is no record.
    for (const domain of Object.keys(DOMAINS)) {
      const decisions = second.grep('decision').filter((l) => l.includes(`domain=${domain}`));
      assert.ok(
        decisions.some((l) => /source=stale/.test(l)),
        `a stale-entry decision for ${domain}:\n${decisions.join('\n')}`,
      );
    }
    assert.ok(
      second.grep('cache opened').some((l) => l.includes('restart.sqlite')),
      'the log names the cache file',
    );

    // `cache list` reads the same file while the daemon runs (WAL: readers never wait).
    const listed = await cacheCli('list', '--json');
    assert.equal(listed.code, 0, listed.stderr);
    const items = JSON.parse(listed.stdout) as Array<{ domain: string; mode: string; expired: boolean }>;
    assert.deepEqual(
      items.map((i) => [i.domain, i.mode, i.expired]),
      Object.keys(DOMAINS)
        .sort()
        .map((d) => [d, 'enforce', false]),
    );
    const table = await cacheCli('list');
    assert.equal(table.code, 0, table.stderr);
    for (const domain of Object.keys(DOMAINS))
      assert.match(table.stdout, new RegExp(`^${domain.replace(/\./g, '\\.')}\\s+enforce\\s`, 'm'));
    await stop(second);
  });

  it('cache show prints the remembered policy text; evict removes it', async () => {
    const shown = await cacheCli('show', 'beta.test');
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /^domain: +beta\.test\n/);
    assert.match(shown.stdout, /\n\nversion: STSv1\nmode: enforce\nmx: mail\.beta\.test\nmax_age: 86400\n$/);
    assert.equal((await cacheCli('evict', 'beta.test')).code, 0);
    assert.equal((await cacheCli('evict', 'beta.test')).code, 1);
    assert.equal((await cacheCli('show', 'beta.test')).code, 1);
  });

  it('a stored entry whose derived mode disagrees with its policy text is not applied (the text is the truth)', async () => {
    // Forged in the file: alpha.test's text now says testing, its derived policy still enforce.
    const file = join(state, 'restart.sqlite');
    const db = new Database(file);
    try {
      const row = db.prepare('SELECT entry FROM mta_sts_policy WHERE domain = ?').get('alpha.test') as { entry: string } | undefined;
      assert.ok(row !== undefined, 'alpha.test is cached');
      const entry = JSON.parse(row.entry) as { policyText: string; policy: { mode: string } };
      assert.equal(entry.policy.mode, 'enforce');
      entry.policyText = entry.policyText.replace('mode: enforce', 'mode: testing');
      db.prepare('UPDATE mta_sts_policy SET entry = ? WHERE domain = ?').run(JSON.stringify(entry), 'alpha.test');
    } finally {
      db.close();
    }
    // The policy hosts are still gone (sitesWithoutPolicies): nothing can be fetched instead.
    const d = await start(8461, state);
    const forged = await postmap(ns, 'alpha.test', MAP);
    assert.doesNotMatch(forged.stdout, /^secure/, `a forged enforce entry was applied: ${forged.stdout}`);
    assert.ok(
      d.grep('ECACHE_ENTRY_INVALID').some((l) => l.includes('alpha.test')),
      d.logs.join('\n'),
    );
    // The other entries, intact, still apply.
    await expectSecure('xn--bcher-kva.test');
    await stop(d);
  });

  it('a damaged cache file at start is moved aside and the daemon serves over a new one (on_corrupt: move)', async () => {
    // The policies are reachable again: the lost cache is relearned by asking.
    await world.update(sitesWithPolicies());
    const file = join(state, 'restart.sqlite');
    for (const suffix of ['-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
    const junk = 'not a database any more: overwritten by a bad disk or a bad script\n'.repeat(100);
    writeFileSync(file, junk);
    const third = await start(8461, state);
    const moved = readdirSync(state).filter((n) => n.startsWith('restart.sqlite.corrupt-'));
    assert.equal(moved.length, 1, `one file moved aside: ${readdirSync(state).join(', ')}`);
    assert.equal(readFileSync(join(state, moved[0] as string), 'utf8'), junk, 'the damaged file is kept as it was');
    const logged = third.grep('damaged cache file moved aside');
    assert.equal(logged.length, 1, third.logs.join('\n'));
    assert.match(logged[0] as string, /ECACHE_CORRUPT/);
    for (const domain of Object.keys(DOMAINS)) await expectSecure(domain);
    await stop(third);
  });

  it('with on_corrupt: refuse, a damaged file stops the start and is left in place', async () => {
    const file = join(state, 'restart.sqlite');
    for (const suffix of ['-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
    writeFileSync(file, 'garbage\n'.repeat(100));
    const cfg = join(dir, 'refuse.yml');
    writeFileSync(cfg, `${CONFIG(8463)}`.replace('    filename: restart.sqlite', '    filename: restart.sqlite\n    on_corrupt: refuse'));
    const r = await ns.run('env', [`STATE_DIRECTORY=${state}`, process.execPath, BIN, 'serve', '-c', cfg], { timeoutMs: 20_000 });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /ECACHE_OPEN/);
    assert.equal(readFileSync(file, 'utf8'), 'garbage\n'.repeat(100));
    assert.equal(readdirSync(state).filter((n) => n.startsWith('restart.sqlite.corrupt-')).length, 1, 'nothing more moved');
  });
});
