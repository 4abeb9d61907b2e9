/**
 * `generate` end to end inside the fake internet: real DNS and HTTPS policy hosts, the real
 * `postmap` building lmdb maps, the daemon answering the same domains over socketmap for
 * comparison, and Exim reading the lsearch output. Also: last-known-good and max_age expiry
 * across runs, and SIGKILL at many moments of a run never leaving a broken map.
 */
import { integrationGate, postfixToolsProblem } from './harness/gate.js';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Daemon, postmap } from './harness/daemon.js';
import { eximExpand, eximProblem } from './harness/exim.js';
import { NetNs, run, type RunResult } from './harness/netns.js';
import { FakeInternet, policyBody, repoRoot, servesPolicy, type Site } from './harness/world.js';

const BULK = 60;
const bulkNames = Array.from({ length: BULK }, (_, i) => `bulk${String(i).padStart(2, '0')}.test`);
// One certificate for every bulk policy host (a leaf per host would cost a second of openssl each).
const BULK_CERT = { kind: 'valid' as const, names: bulkNames.map((d) => `mta-sts.${d}`) };

function bulkSite(domain: string, id: string): Site {
  return {
    txt: [`v=STSv1; id=${id};`],
    policyHost: {
      cert: BULK_CERT,
      response: { kind: 'body', status: 200, contentType: 'text/plain', body: policyBody('enforce', [`mx.${domain}`, `*.mx.${domain}`]) },
    },
  };
}

function baseSites(bulkId = 'b1'): Record<string, Site> {
  const sites: Record<string, Site> = {
    'enforce.test': {
      txt: ['v=STSv1; id=20260101;'],
      policyHost: servesPolicy(policyBody('enforce', ['mx1.enforce.test', '*.mx.enforce.test', 'mx1.enforce.test'])),
    },
    'split.test': {
      txt: [['v=STS', 'v1; id=', 'split1;'], 'v=spf1 -all'],
      policyHost: servesPolicy(policyBody('enforce', ['mx.split.test'])),
    },
    'testing.test': { txt: ['v=STSv1; id=t1'], policyHost: servesPolicy(policyBody('testing', ['mx.testing.test'])) },
    'none.test': { txt: ['v=STSv1; id=n1;'], policyHost: servesPolicy(policyBody('none', [])) },
    'nosts.test': {},
    'twice.test': { txt: ['v=STSv1; id=a1;', 'v=STSv1; id=a2;'], policyHost: servesPolicy(policyBody('enforce', ['mx.twice.test'])) },
    'expired.test': {
      txt: ['v=STSv1; id=e1;'],
      policyHost: { cert: { kind: 'expired' }, response: { kind: 'body', body: policyBody('enforce', ['mx.expired.test']) } },
    },
    'wrongname.test': {
      txt: ['v=STSv1; id=w1;'],
      policyHost: {
        cert: { kind: 'valid', names: ['mta-sts.other.test'] },
        response: { kind: 'body', body: policyBody('enforce', ['mx.wrongname.test']) },
      },
    },
    'redirect.test': {
      txt: ['v=STSv1; id=r1;'],
      policyHost: {
        cert: { kind: 'valid' },
        response: { kind: 'redirect', status: 301, location: 'https://mta-sts.enforce.test/.well-known/mta-sts.txt' },
      },
    },
    'html.test': {
      txt: ['v=STSv1; id=h1;'],
      policyHost: {
        cert: { kind: 'valid' },
        response: { kind: 'body', contentType: 'text/html', body: policyBody('enforce', ['mx.html.test']) },
      },
    },
    'invalid.test': { txt: ['v=STSv1; id=i1;'], policyHost: servesPolicy('version: STSv1\r\nmode: enforce\r\nmax_age: 86400\r\n') },
    'servfail.test': { txt: 'servfail' },
    'xn--bcher-kva.test': { txt: ['v=STSv1; id=idn1;'], policyHost: servesPolicy(policyBody('enforce', ['mx.xn--bcher-kva.test'])) },
    // Policies with a 3 s max_age, for the last-known-good / expiry test.
    'short1.test': { txt: ['v=STSv1; id=s1;'], policyHost: servesPolicy(policyBody('enforce', ['mx.short1.test'], 3)) },
    'short2.test': { txt: ['v=STSv1; id=s1;'], policyHost: servesPolicy(policyBody('enforce', ['mx.short2.test'], 3)) },
    // A policy host that trickles: a run waits for it until the zone deadline.
    'slow.test': {
      txt: ['v=STSv1; id=slow1;'],
      policyHost: {
        cert: { kind: 'valid' },
        response: { kind: 'trickle', bytesPerSecond: 4, body: policyBody('enforce', ['mx.slow.test']) },
      },
    },
  };
  for (const d of bulkNames) sites[d] = bulkSite(d, bulkId);
  return sites;
}

/** Domains compared against the daemon (the short-lived and slow ones have tests of their own). */
const COMPARED = Object.keys(baseSites()).filter((d) => !d.startsWith('short') && d !== 'slow.test');

const CONFIG = `
host: 127.0.0.1
port: 8461
cache_grace: 0
default_zone:
  timeout: 2
zones:
  strict:
    strict_testing: true
  nosni:
    require_sni: false
  tlsrpt:
    tlsrpt: true
`;

const gate = integrationGate(postfixToolsProblem);
const bin = join(repoRoot, 'bin/mta-sts-bridge.js');

describe('generate with the real postmap against a fake internet', { skip: gate.skip }, () => {
  let ns: NetNs;
  let world: FakeInternet;
  let dir: string;
  let configPath: string;

  before(async () => {
    gate.assertReady();
    const postmapPath = await run('sh', ['-c', 'command -v postmap && postconf -m']);
    if (postmapPath.code !== 0 || !/^lmdb$/m.test(postmapPath.stdout)) {
      throw new Error('postmap with lmdb support is required: apt-get install postfix postfix-lmdb');
    }
    dir = mkdtempSync(join(tmpdir(), 'msb-gen-it-'));
    configPath = join(dir, 'bridge.yml');
    writeFileSync(configPath, CONFIG);
    ns = await NetNs.create('msbg');
    world = await FakeInternet.start(ns, dir, baseSites());
  });

  after(async () => {
    if (world !== undefined) await world.stop();
    if (ns !== undefined) await ns.destroy();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const genArgv = (args: readonly string[]): string[] => [
    `NODE_EXTRA_CA_CERTS=${world.caPath}`,
    process.execPath,
    bin,
    'generate',
    '-c',
    configPath,
    ...args,
  ];
  const generate = (args: readonly string[]): Promise<RunResult> => ns.run('env', genArgv(args), { timeoutMs: 120_000 });
  const listFile = (name: string, domains: readonly string[]): string => {
    const path = join(dir, name);
    writeFileSync(path, `# domains for ${name}\n${domains.join('\n')}\n\nnot_a..domain\n`);
    return path;
  };

  it('for every domain, postmap -q on the generated lmdb map equals the daemon socketmap answer', async () => {
    const list = listFile('all.txt', COMPARED);
    const maps = { postfix: join(dir, 'default-map'), strict: join(dir, 'strict-map'), tlsrpt: join(dir, 'tlsrpt-map') };
    const r1 = await generate(['--domains', list, '--output', maps.postfix]);
    const r2 = await generate(['--domains', list, '--output', maps.strict, '--zone', 'strict', '--type', 'cdb']);
    const r3 = await generate(['--domains', list, '--output', maps.tlsrpt, '--zone', 'tlsrpt', '--format', 'postfix-tlsrpt']);
    for (const [r, enforced] of [
      [r1, BULK + 3],
      [r2, BULK + 4],
      [r3, BULK + 3],
    ] as const) {
      // Failing policy hosts make the run "done, some domains failed".
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, /expired\.test: fetch-failed EFETCH_TLS/);
      assert.match(r.stderr, /all\.txt:\d+: .*line skipped \[EDOMAIN_INVALID\]/);
      assert.match(r.stdout, new RegExp(`^generate: domains=${COMPARED.length} enforced=${enforced} `, 'm'));
    }
    assert.ok(existsSync(`${maps.postfix}.lmdb`) && existsSync(`${maps.strict}.cdb`) && existsSync(`${maps.tlsrpt}.lmdb`));
    assert.doesNotMatch(readFileSync(maps.postfix, 'utf8'), /^\./m, 'exact keys only');

    // host/port from CONFIG: one socketmap listener. A memory cache, so nothing another test
    // left in a persistent cache can make the daemon disagree.
    const daemon = await Daemon.start(ns, dir, `${CONFIG}cache:\n  type: internal\n`, world.caPath, 1);
    try {
      const pairs: Array<[string, string]> = [
        [`lmdb:${maps.postfix}`, 'socketmap:inet:127.0.0.1:8461:postfix'],
        [`cdb:${maps.strict}`, 'socketmap:inet:127.0.0.1:8461:strict'],
        [`lmdb:${maps.tlsrpt}`, 'socketmap:inet:127.0.0.1:8461:tlsrpt'],
      ];
      let found = 0;
      for (const [staticMap, liveMap] of pairs) {
        for (const d of COMPARED) {
          const [fromMap, fromDaemon] = await Promise.all([postmap(ns, d, staticMap), postmap(ns, d, liveMap)]);
          assert.equal(fromMap.stderr, '', `${staticMap} ${d}`);
          assert.equal(fromDaemon.stderr, '', `${liveMap} ${d}`);
          assert.equal(
            fromMap.code,
            fromDaemon.code,
            `${d}: map exit ${fromMap.code} (${fromMap.stdout.trim()}) vs daemon exit ${fromDaemon.code} (${fromDaemon.stdout.trim()}) in ${liveMap}`,
          );
          assert.equal(fromMap.stdout, fromDaemon.stdout, `${d} in ${staticMap}`);
          if (fromMap.code === 0) found += 1;
        }
      }
      // enforce, split, idn, bulk in every zone; testing only in the strict one.
      assert.equal(found, 3 * (BULK + 3) + 1);
      const t = await postmap(ns, 'testing.test', `cdb:${maps.strict}`);
      assert.equal(t.stdout, 'secure match=mx.testing.test servername=hostname\n');
    } finally {
      await daemon.stop();
    }
  });

  it('Exim reads the exim-lsearch output: the same domains, the values as written', async (t) => {
    const why = eximProblem();
    if (why !== undefined) throw new Error(why);
    const out = join(dir, 'exim-map');
    const r = await generate(['--domains', listFile('exim.txt', COMPARED), '--output', out, '--format', 'exim-lsearch']);
    assert.equal(r.code, 1, r.stderr);
    const written = new Map<string, string>();
    for (const line of readFileSync(out, 'utf8').split('\n')) {
      const m = /^([^#\s:][^:\s]*): (.*)$/.exec(line);
      if (m !== null) written.set(m[1]!, m[2]!);
    }
    const postfixKeys = readFileSync(join(dir, 'default-map'), 'utf8')
      .split('\n')
      .filter((l) => /^[a-z0-9]/.test(l))
      .map((l) => l.split(' ')[0]);
    assert.deepEqual([...written.keys()].sort(), postfixKeys.sort(), 'the same decisions as the Postfix map');
    const conf = join(dir, 'exim.conf');
    writeFileSync(conf, '# -be only\n');
    for (const d of COMPARED) {
      const e = await eximExpand(ns, conf, `\${lookup{${d}}lsearch{${out}}{$value}{NOTFOUND}}`);
      assert.equal(e.code, 0, e.stderr);
      assert.equal(e.stdout.replace(/\n$/, ''), written.get(d) ?? 'NOTFOUND', d);
      assert.ok(written.get(d) === undefined || written.get(d)!.startsWith('enforce '));
    }
    t.diagnostic(`${written.size} lsearch entries checked with exim -be`);
  });

  it('policy hosts down: entries stay; once their max_age (3 s) has passed, they leave', async () => {
    const out = join(dir, 'short-map');
    const list = listFile('short.txt', ['short1.test', 'short2.test', 'enforce.test']);
    const first = await generate(['--domains', list, '--output', out]);
    assert.equal(first.code, 0, first.stderr);
    const q = async (d: string): Promise<RunResult> => postmap(ns, d, `lmdb:${out}`);
    assert.equal((await q('short1.test')).stdout, 'secure match=mx.short1.test servername=hostname\n');

    const down = baseSites();
    down['short1.test'] = {
      txt: ['v=STSv1; id=s2;'],
      policyHost: { cert: { kind: 'valid' }, response: { kind: 'body', status: 500, body: 'down' } },
    };
    down['short2.test'] = { txt: ['v=STSv1; id=s2;'] }; // policy host gone from DNS
    await world.update(down);
    try {
      const kept = await generate(['--domains', list, '--output', out]);
      assert.equal(kept.code, 1, kept.stderr);
      assert.match(kept.stderr, /short1\.test: fetch-failed EFETCH_STATUS \(last-known-good policy kept\)/);
      assert.match(kept.stderr, /short2\.test: fetch-failed EFETCH_DNS \(last-known-good policy kept\)/);
      assert.equal((await q('short1.test')).code, 0);
      assert.equal((await q('short2.test')).code, 0);

      await new Promise((r) => setTimeout(r, 3500));
      const gone = await generate(['--domains', list, '--output', out]);
      assert.equal(gone.code, 1, gone.stderr);
      assert.match(gone.stdout, /enforced=1 unchanged=1 added=0 removed=2 /);
      assert.equal((await q('short1.test')).code, 1);
      assert.equal((await q('short2.test')).code, 1);
      assert.equal((await q('enforce.test')).code, 0);
    } finally {
      await world.update(baseSites());
    }
  });

  it('a second run while one holds the lock exits 2 with a clear message', async () => {
    const out = join(dir, 'locked-map');
    const list = listFile('lock.txt', ['slow.test', 'enforce.test']);
    const slow = ns.spawn('env', genArgv(['--domains', list, '--output', out]), { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      await waitFor(() => existsSync(`${out}.lock`), 5000);
      const second = await generate(['--domains', list, '--output', out]);
      assert.equal(second.code, 2);
      assert.match(second.stderr, /another generate run \(pid \d+\) holds .*locked-map\.lock.*\[EGEN_LOCKED\]/);
    } finally {
      await exited(slow);
    }
  });

  it('SIGKILL at any moment of a run leaves the previous map intact and readable', async () => {
    const out = join(dir, 'kill-map');
    const list = listFile('kill.txt', ['slow.test', 'enforce.test', ...bulkNames]);
    const base = ['--domains', list, '--output', out, '--concurrency', '4'];
    const t0 = Date.now();
    const good = await generate(base);
    const full = Date.now() - t0;
    assert.equal(good.code, 1, good.stderr); // slow.test times out
    const values = new Set([
      'secure match=mx1.enforce.test:.mx.enforce.test servername=hostname\n',
      'secure match=mx1.enforce.test:.mx.enforce.test\n',
    ]);
    const check = async (when: string): Promise<void> => {
      const r = await postmap(ns, 'enforce.test', `lmdb:${out}`);
      assert.equal(r.code, 0, `${when}: ${r.stderr}`);
      assert.ok(values.has(r.stdout), `${when}: ${r.stdout}`);
      const last = await postmap(ns, bulkNames[BULK - 1]!, `lmdb:${out}`);
      assert.equal(last.code, 0, `${when}: the whole map is there, ${last.stderr}`);
    };
    await check('before');
    // Alternate zones so that every run has a different map to write; kill early, in the middle,
    // and around the end (postmap and the renames happen in the last moments of a run).
    const moments = [
      50,
      150,
      400,
      800,
      Math.round(full * 0.5),
      Math.round(full * 0.9),
      Math.round(full * 0.95),
      Math.round(full * 0.98),
      full,
      full + 50,
    ];
    let zone = 'nosni';
    for (const ms of moments) {
      const child = ns.spawn('env', genArgv([...base, '--zone', zone]), { stdio: ['ignore', 'pipe', 'pipe'] });
      await new Promise((r) => setTimeout(r, ms));
      try {
        process.kill(-(child.pid as number), 'SIGKILL'); // the whole group, postmap included
      } catch {
        /* finished already */
      }
      await exited(child);
      await check(`killed after ${ms} ms`);
      zone = zone === 'nosni' ? 'tlsrpt' : 'nosni';
    }
    const recovered = await generate(base);
    assert.equal(recovered.code, 1, recovered.stderr);
    await check('after recovery');
    const leftovers = readdirSync(dir).filter((f) => f.startsWith('.kill-map.tmp-') || f === 'kill-map.lock');
    assert.deepEqual(leftovers, [], 'stale lock and temp files are cleaned up by the next run');
  });
});

async function waitFor(cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}
