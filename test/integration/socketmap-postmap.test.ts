/**
 * End to end: Postfix's own `postmap` asks the daemon (a child process) over TCP and a unix
 * socket; the daemon resolves against a real DNS server and real HTTPS policy hosts with a test
 * CA, inside a network namespace, through its ordinary system resolver and port 443.
 */
import { integrationGate, postfixToolsProblem } from './harness/gate.js';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Daemon, postmap } from './harness/daemon.js';
import { NetNs, run } from './harness/netns.js';
import { FakeInternet, policyBody, repoRoot, servesPolicy, type Sites } from './harness/world.js';

const TCP_MAP = 'socketmap:inet:127.0.0.1:8461:postfix';

const ENFORCE_BODY = policyBody('enforce', ['mx1.enforce.test', '*.mx.enforce.test', 'mx1.enforce.test']);

function baseSites(): Record<string, Sites[string]> {
  return {
    'enforce.test': { txt: ['v=STSv1; id=20260101;'], policyHost: servesPolicy(ENFORCE_BODY) },
    'split.test': {
      txt: [['v=STS', 'v1; id=', 'split1;'], 'v=spf1 -all'],
      policyHost: servesPolicy(policyBody('enforce', ['mx.split.test'])),
    },
    'testing.test': { txt: ['v=STSv1; id=t1'], policyHost: servesPolicy(policyBody('testing', ['mx.testing.test'])) },
    'none.test': { txt: ['v=STSv1; id=n1;'], policyHost: servesPolicy(policyBody('none', [])) },
    'nosts.test': {},
    'sts10.test': { txt: ['v=STSv10; id=x1;'], policyHost: servesPolicy(policyBody('enforce', ['mx.sts10.test'])) },
    'twice.test': {
      txt: ['v=STSv1; id=a1;', 'v=STSv1; id=a2;'],
      policyHost: servesPolicy(policyBody('enforce', ['mx.twice.test'])),
    },
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
    'untrusted.test': {
      txt: ['v=STSv1; id=u1;'],
      policyHost: { cert: { kind: 'untrusted' }, response: { kind: 'body', body: policyBody('enforce', ['mx.untrusted.test']) } },
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
    'big.test': {
      txt: ['v=STSv1; id=b1;'],
      policyHost: { cert: { kind: 'valid' }, response: { kind: 'huge', bytes: 65 * 1024, framing: 'chunked' } },
    },
    'invalid.test': {
      txt: ['v=STSv1; id=i1;'],
      policyHost: servesPolicy('version: STSv1\r\nmode: enforce\r\nmax_age: 86400\r\n'),
    },
    'trickle.test': {
      txt: ['v=STSv1; id=s1;'],
      policyHost: {
        cert: { kind: 'valid' },
        response: { kind: 'trickle', bytesPerSecond: 2, body: policyBody('enforce', ['mx.trickle.test']) },
      },
    },
    'servfail.test': { txt: 'servfail' },
    'xn--bcher-kva.test': {
      txt: ['v=STSv1; id=idn1;'],
      policyHost: servesPolicy(policyBody('enforce', ['mx.xn--bcher-kva.test'])),
    },
    'lkg.test': { txt: ['v=STSv1; id=one;'], policyHost: servesPolicy(policyBody('enforce', ['mx.lkg.test'])) },
  };
}

const CONFIG = (sockPath: string): string => `
host: 127.0.0.1
port: 8461
cache_grace: 0
listeners:
  - protocol: socketmap
    address: unix:${sockPath}
    mode: 0666
default_zone:
  strict_testing: false
  timeout: 3
zones:
  strict:
    strict_testing: true
  tlsrpt:
    tlsrpt: true
  nosni:
    require_sni: false
  defer:
    dns_error: temp
`;

const gate = integrationGate(postfixToolsProblem);

describe('socketmap daemon with postmap against a fake internet', { skip: gate.skip }, () => {
  let ns: NetNs;
  let world: FakeInternet;
  let daemon: Daemon;
  let dir: string;
  let sock: string;
  let unixMap: string;

  before(async () => {
    gate.assertReady();
    assert.ok(existsSync(join(repoRoot, 'bin/mta-sts-bridge.js')));
    dir = mkdtempSync(join(tmpdir(), 'msb-it-'));
    sock = join(dir, 'socketmap.sock');
    unixMap = `socketmap:unix:${sock}:postfix`;
    ns = await NetNs.create();
    world = await FakeInternet.start(ns, dir, baseSites());
    // A stale socket file from a crashed daemon must be replaced, not block the start.
    const stale = await run('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', sock]);
    assert.equal(stale.code, 0, stale.stderr);
    assert.ok(existsSync(sock), 'stale socket file is present before the daemon starts');
    daemon = await Daemon.start(ns, dir, CONFIG(sock), world.caPath, 2);
  });

  after(async () => {
    if (daemon !== undefined) await daemon.stop();
    if (world !== undefined) await world.stop();
    if (ns !== undefined) await ns.destroy();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const expectSecure = async (key: string, data: string, map = TCP_MAP): Promise<void> => {
    const r = await postmap(ns, key, map);
    assert.equal(r.stderr, '', `postmap stderr for ${key}`);
    assert.equal(r.code, 0, `postmap exit for ${key}`);
    assert.equal(r.stdout, `${data}\n`);
  };
  const expectNotFound = async (key: string, map = TCP_MAP): Promise<void> => {
    const r = await postmap(ns, key, map);
    assert.equal(r.code, 1, `postmap exit for ${key}: ${r.stdout}`);
    assert.equal(r.stdout, '');
    // Exit 1 is also a TEMP answer or a dropped connection; those print to stderr.
    assert.equal(r.stderr, '', `a clean NOTFOUND for ${key}, not a lookup error`);
  };

  it('answers an enforce policy over TCP: patterns in order, de-duplicated, *.x as .x', async () => {
    await expectSecure('enforce.test', 'secure match=mx1.enforce.test:.mx.enforce.test servername=hostname');
  });

  it('answers the same over the unix socket (which replaced a stale socket file)', async () => {
    await expectSecure('enforce.test', 'secure match=mx1.enforce.test:.mx.enforce.test servername=hostname', unixMap);
  });

  it('normalizes keys: case, trailing dot, smart-host forms', async () => {
    const data = 'secure match=mx1.enforce.test:.mx.enforce.test servername=hostname';
    await expectSecure('ENFORCE.Test', data);
    await expectSecure('enforce.test.', data);
    await expectSecure('[enforce.test]:587', data);
    await expectSecure('[enforce.test]', data);
    await expectSecure('enforce.test:2525', data);
  });

  it('parent-domain probes, IP literals and invalid names answer NOTFOUND', async () => {
    await expectNotFound('.enforce.test');
    await expectNotFound('[192.0.2.1]');
    await expectNotFound('[ipv6:2001:db8::1]:25');
    await expectNotFound('bad_name..test');
  });

  it('UTF-8 U-labels are looked up as A-labels', async () => {
    await expectSecure('bücher.test', 'secure match=mx.xn--bcher-kva.test servername=hostname');
  });

  it('a TXT record made of several strings is concatenated without spaces', async () => {
    await expectSecure('split.test', 'secure match=mx.split.test servername=hostname');
  });

  it('testing is NOTFOUND by default and secure in a strict_testing zone', async () => {
    await expectNotFound('testing.test');
    await expectSecure('testing.test', 'secure match=mx.testing.test servername=hostname', 'socketmap:inet:127.0.0.1:8461:strict');
  });

  it('zones: require_sni off drops servername; tlsrpt adds the Postfix 3.10 attributes', async () => {
    await expectSecure('enforce.test', 'secure match=mx1.enforce.test:.mx.enforce.test', 'socketmap:inet:127.0.0.1:8461:nosni');
    const r = await postmap(ns, 'enforce.test', 'socketmap:inet:127.0.0.1:8461:tlsrpt');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      'secure match=mx1.enforce.test:.mx.enforce.test servername=hostname policy_type=sts policy_domain=enforce.test ' +
        'mx_host_pattern=mx1.enforce.test mx_host_pattern=*.mx.enforce.test ' +
        '{ policy_string = version: STSv1 } { policy_string = mode: enforce } { policy_string = mx: mx1.enforce.test } ' +
        '{ policy_string = mx: *.mx.enforce.test } { policy_string = mx: mx1.enforce.test } { policy_string = max_age: 86400 }\n',
    );
  });

  it('none, no record, v=STSv10 and two STS records answer NOTFOUND', async () => {
    for (const d of ['none.test', 'nosts.test', 'sts10.test', 'twice.test']) await expectNotFound(d);
  });

  it('policy hosts failing the RFC 8461 §3.3 rules never give secure', async () => {
    for (const d of ['expired.test', 'wrongname.test', 'untrusted.test', 'redirect.test', 'html.test', 'big.test', 'invalid.test']) {
      await expectNotFound(d);
    }
    assert.ok(daemon.grep('EFETCH_TLS').length > 0, 'the certificate failures are logged with their code');
    assert.ok(daemon.grep('EFETCH_CERT_NAME').length > 0);
    assert.ok(daemon.grep('EFETCH_STATUS').length > 0);
    assert.ok(daemon.grep('EFETCH_CONTENT_TYPE').length > 0);
    assert.ok(daemon.grep('EFETCH_TOO_LARGE').length > 0);
    assert.ok(daemon.grep('EPOLICY_INVALID').length > 0);
  });

  it('a trickling policy host cannot hold a lookup past the zone deadline', async () => {
    const t0 = Date.now();
    await expectNotFound('trickle.test');
    const ms = Date.now() - t0;
    // Zone timeout is 3 s; postmap adds its own start-up. A correctness bound, not a benchmark.
    assert.ok(ms < 3000 + 4000, `lookup took ${ms} ms`);
    assert.ok(daemon.grep('EFETCH_TIMEOUT').length > 0);
  });

  it('SERVFAIL: no policy by default, TEMP in a zone with dns_error: temp', async () => {
    await expectNotFound('servfail.test');
    const r = await postmap(ns, 'servfail.test', 'socketmap:inet:127.0.0.1:8461:defer');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /temporary|TEMP|lookup error/i);
  });

  it('last-known-good: a cached policy applies when its host and TXT record go away', async () => {
    await expectSecure('lkg.test', 'secure match=mx.lkg.test servername=hostname');
    const sites = baseSites();
    sites['lkg.test'] = {
      txt: ['v=STSv1; id=two;'],
      policyHost: { cert: { kind: 'valid' }, response: { kind: 'body', status: 500, body: 'oops' } },
    };
    await world.update(sites);
    await expectSecure('lkg.test', 'secure match=mx.lkg.test servername=hostname');
    sites['lkg.test'] = {};
    await world.update(sites);
    await expectSecure('lkg.test', 'secure match=mx.lkg.test servername=hostname');
    assert.ok(daemon.grep('stale').length > 0, 'the decision log says the answer came from a stale entry');
    await world.update(baseSites());
  });

  it('a new TXT id makes the daemon fetch the new policy', async () => {
    await expectSecure('enforce.test', 'secure match=mx1.enforce.test:.mx.enforce.test servername=hostname');
    const sites = baseSites();
    sites['enforce.test'] = { txt: ['v=STSv1; id=20260202;'], policyHost: servesPolicy(policyBody('enforce', ['mx9.enforce.test'])) };
    await world.update(sites);
    await expectSecure('enforce.test', 'secure match=mx9.enforce.test servername=hostname');
    await world.update(baseSites());
  });

  it('logs one decision line per lookup with domain, outcome, source and reason', () => {
    const lines = daemon.grep('decision').filter((l) => l.includes('domain=enforce.test'));
    assert.ok(lines.length > 0, 'decision lines for enforce.test');
    for (const l of lines) {
      assert.match(l, /outcome=\S+/);
      assert.match(l, /source=\S+/);
      assert.match(l, /reason=/);
    }
  });

  it('query shows every step and exits 0 / 1 / 2', async () => {
    const env = ['env', `NODE_EXTRA_CA_CERTS=${world.caPath}`, process.execPath, join(repoRoot, 'bin/mta-sts-bridge.js')];
    const ok = await ns.run(env[0]!, [...env.slice(1), 'query', 'enforce.test', '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    const json = JSON.parse(ok.stdout) as Record<string, unknown>;
    const text = JSON.stringify(json);
    assert.match(text, /v=STSv1; id=20260101;/);
    assert.match(text, /secure match=mx1\.enforce\.test:\.mx\.enforce\.test servername=hostname/);
    assert.match(text, /mta-sts\.enforce\.test/, 'certificate subject or SAN is shown');
    const none = await ns.run(env[0]!, [...env.slice(1), 'query', 'nosts.test']);
    assert.equal(none.code, 1, none.stdout + none.stderr);
    const err = await ns.run(env[0]!, [...env.slice(1), 'query', 'servfail.test']);
    assert.equal(err.code, 2, err.stdout + err.stderr);
    const human = await ns.run(env[0]!, [...env.slice(1), 'query', 'enforce.test']);
    assert.equal(human.code, 0);
    assert.match(human.stdout, /200/);
    assert.match(human.stdout, /text\/plain/);
  });

  it('SIGTERM stops the daemon promptly with exit 0 and removes its socket', async () => {
    const { code, ms } = await daemon.stop();
    assert.equal(code, 0);
    assert.ok(ms < 10_000, `stop took ${ms} ms`);
    assert.equal(existsSync(sock), false);
  });
});
