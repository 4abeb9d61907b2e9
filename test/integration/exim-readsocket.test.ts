/**
 * End to end with the real Exim binary as the client: `exim -be '${readsocket{...}}'` asks the
 * daemon's `protocol: exim` listeners inside the fake internet, and the expressions of the
 * shipped conf-examples/exim/exim4-mta-sts.conf are evaluated by Exim against the daemon.
 * Exim comes from `.ci/install-exim.sh`; without it this test fails (it is never skipped silently).
 */
import { integrationGate } from './harness/gate.js';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Daemon } from './harness/daemon.js';
import { exim, eximExpand, eximProblem } from './harness/exim.js';
import { NetNs } from './harness/netns.js';
import { FakeInternet, policyBody, repoRoot, servesPolicy, type Sites } from './harness/world.js';

const SITES: Sites = {
  'enforce.test': {
    txt: ['v=STSv1; id=20260101;'],
    policyHost: servesPolicy(policyBody('enforce', ['mx1.enforce.test', '*.mx.enforce.test'])),
  },
  'testing.test': { txt: ['v=STSv1; id=t1'], policyHost: servesPolicy(policyBody('testing', ['mx.testing.test'])) },
  'none.test': { txt: ['v=STSv1; id=n1;'], policyHost: servesPolicy(policyBody('none', [])) },
  'nosts.test': {},
  'servfail.test': { txt: 'servfail' },
  'xn--bcher-kva.test': { txt: ['v=STSv1; id=idn1;'], policyHost: servesPolicy(policyBody('enforce', ['mx.xn--bcher-kva.test'])) },
};

/** 8463 is the port the shipped exim4-mta-sts.conf uses. */
const CONFIG = (sock: string): string => `
cache_grace: 0
listeners:
  - protocol: exim
    address: "127.0.0.1:8463"
  - protocol: exim
    address: "127.0.0.1:8465"
    zone: strict
  - protocol: exim
    address: unix:${sock}
    mode: 0666
    zone: defer
default_zone:
  timeout: 3
zones:
  strict:
    strict_testing: true
  defer:
    dns_error: temp
`;

const ENFORCE = 'enforce (?i)^(?:mx1\\.enforce\\.test|[^.]+\\.mx\\.enforce\\.test)$ mx1.enforce.test:*.mx.enforce.test';
const TESTING = 'testing (?i)^(?:mx\\.testing\\.test)$ mx.testing.test';

const gate = integrationGate(() => eximProblem());

describe('exim ${readsocket} against the daemon in a fake internet', { skip: gate.skip }, () => {
  let ns: NetNs;
  let world: FakeInternet;
  let daemon: Daemon;
  let dir: string;
  let sock: string;
  let sockDir: string;
  let conf: string;

  before(async () => {
    gate.assertReady();
    dir = mkdtempSync(join(tmpdir(), 'msb-exim-'));
    // Exim may switch to its own user: everything it touches must be reachable.
    chmodSync(dir, 0o777);
    // Not in `dir`: a socket directory anyone may write to (or below one) is refused
    // (ELISTEN_UNSAFE_DIRECTORY). A root-owned 0755 one, removed with the rest.
    sockDir = mkdtempSync(join(tmpdir(), 'msb-exim-sock-'));
    chmodSync(sockDir, 0o755);
    sock = join(sockDir, 'exim.sock');
    conf = join(dir, 'exim-test.conf');
    writeFileSync(conf, testConfig(dir));
    ns = await NetNs.create('msbe');
    world = await FakeInternet.start(ns, dir, SITES);
    daemon = await Daemon.start(ns, dir, CONFIG(sock), world.caPath, 3);
  });

  after(async () => {
    if (daemon !== undefined) await daemon.stop();
    if (world !== undefined) await world.stop();
    if (ns !== undefined) await ns.destroy();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    if (sockDir !== undefined) rmSync(sockDir, { recursive: true, force: true });
  });

  /** The brief's exact form: the 4th argument empty keeps the reply's newline. */
  const readsocket = async (socket: string, request: string): Promise<string> => {
    const r = await eximExpand(ns, conf, `\${readsocket{${socket}}{${request}}{3s}{}{FAIL}}`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.ok(r.stdout.endsWith('\n'));
    return r.stdout.slice(0, -1);
  };
  const TCP = 'inet:127.0.0.1:8463';

  it('enforce: the verdict, an exact MX regex, and the policy patterns', async () => {
    assert.equal(await readsocket(TCP, 'enforce.test\\n'), `${ENFORCE}\n`);
    assert.equal(await readsocket(TCP, 'ENFORCE.Test.\\n'), `${ENFORCE}\n`, 'the domain is normalized');
  });

  it('none, no record and testing deliver as usual; testing is enforce in a strict_testing zone', async () => {
    assert.equal(await readsocket(TCP, 'none.test\\n'), 'none\n');
    assert.equal(await readsocket(TCP, 'nosts.test\\n'), 'none\n');
    assert.equal(await readsocket(TCP, 'testing.test\\n'), `${TESTING}\n`);
    assert.equal(await readsocket('inet:127.0.0.1:8465', 'testing.test\\n'), 'enforce (?i)^(?:mx\\.testing\\.test)$ mx.testing.test\n');
    assert.equal(
      await readsocket(TCP, 'strict testing.test\\n'),
      'enforce (?i)^(?:mx\\.testing\\.test)$ mx.testing.test\n',
      'a zone named in the request',
    );
  });

  it('a UTF-8 domain is looked up as its A-label', async () => {
    assert.equal(await readsocket(TCP, 'bücher.test\\n'), 'enforce (?i)^(?:mx\\.xn--bcher-kva\\.test)$ mx.xn--bcher-kva.test\n');
  });

  it('a request without newline works: Exim half-closes after writing it', async () => {
    assert.equal(await readsocket(TCP, 'enforce.test'), `${ENFORCE}\n`);
  });

  it('a unix socket listener, whose zone defers on DNS failures', async () => {
    assert.match(await readsocket(sock, 'servfail.test\\n'), /^defer MTA-STS DNS lookup failed for servfail\.test \(\S+\)\n$/);
    assert.equal(await readsocket(TCP, 'servfail.test\\n'), 'none\n', 'the default zone: no policy');
  });

  it('garbage gets an "error" or "none" line, never a crash', async () => {
    assert.equal(await readsocket(TCP, 'a b c\\n'), 'error expected "<domain>" or "<zone> <domain>", got 3 fields\n');
    assert.equal(await readsocket(TCP, '\\n'), 'error empty request\n');
    assert.equal(await readsocket(TCP, '[192.0.2.1]\\n'), 'none\n');
    assert.equal(await readsocket(TCP, 'not_a..domain\\n'), 'none\n');
    assert.equal(await readsocket(TCP, 'enforce.test\\n'), `${ENFORCE}\n`, 'and the daemon still answers');
  });

  it('the fail string when nothing listens', async () => {
    assert.equal(await readsocket('inet:127.0.0.1:8499', 'enforce.test\\n'), 'FAIL');
  });

  describe('the shipped conf-examples/exim/exim4-mta-sts.conf', () => {
    const shipped = join(repoRoot, 'conf-examples/exim/exim4-mta-sts.conf');

    it('passes exim -bV', async () => {
      const r = await exim(ns, shipped, ['-bV']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Configuration file is .*exim4-mta-sts\.conf/);
    });

    /**
     * A copy where Exim's delivery-time variables are fixed: `$domain` and `$host` become
     * literals and `$address_data` becomes the router's own expression, so that `-be` can
     * evaluate the shipped macros exactly as the router and the transport event would.
     */
    const variant = (domain: string, host = 'unused.invalid'): string => {
      const text = readFileSync(shipped, 'utf8')
        .replaceAll('$address_data', 'MTA_STS_ANSWER')
        .replaceAll('$domain', domain)
        .replaceAll('$host', host);
      assert.ok(text.includes('MTA_STS_SOCKET = inet:127.0.0.1:8463'), 'the shipped socket is the one this test serves');
      const path = join(dir, `variant-${domain}-${host}.conf`);
      writeFileSync(path, `log_file_path = ${dir}/%slog\n${text}`);
      return path;
    };
    const expand = async (path: string, expression: string): Promise<string> => {
      const r = await eximExpand(ns, path, expression);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.replace(/\n$/, '');
    };

    it('MTA_STS_VERDICT routes enforce domains to the MTA-STS transport, others to plain delivery', async () => {
      assert.equal(await expand(variant('enforce.test'), 'MTA_STS_VERDICT'), 'enforce');
      assert.equal(await expand(variant('testing.test'), 'MTA_STS_VERDICT'), 'testing');
      assert.equal(await expand(variant('none.test'), 'MTA_STS_VERDICT'), 'none');
      assert.equal(await expand(variant('nosts.test'), 'MTA_STS_VERDICT'), 'none');
      // The reply's newline became a space (4th argument): the router stores a clean line.
      assert.equal(await expand(variant('enforce.test'), '[MTA_STS_ANSWER]'), `[${ENFORCE} ]`);
    });

    it('MTA_STS_MX_CHECK lets exactly the policy MX hosts through (*.x = one label)', async () => {
      const allowed = ['mx1.enforce.test', 'MX1.Enforce.Test', 'a.mx.enforce.test', 'b-2.MX.enforce.test'];
      const refused = [
        'mx.enforce.test',
        'a.b.mx.enforce.test',
        'xmx1.enforce.test',
        'mx1.enforce.test.evil.test',
        'evil.test',
        'enforce.test',
      ];
      for (const host of allowed) assert.equal(await expand(variant('enforce.test', host), 'MTA_STS_MX_CHECK'), '', host);
      for (const host of refused) {
        assert.equal(
          await expand(variant('enforce.test', host), 'MTA_STS_MX_CHECK'),
          `MX host ${host} is not allowed by the MTA-STS policy of enforce.test (mx: mx1.enforce.test:*.mx.enforce.test)`,
          host,
        );
      }
    });

    it('when the daemon is down, the answer is "none": mail keeps flowing', async () => {
      const { code } = await daemon.stop();
      assert.equal(code, 0);
      assert.equal(await expand(variant('enforce.test'), 'MTA_STS_ANSWER'), 'none daemon-unreachable');
      assert.equal(await expand(variant('enforce.test'), 'MTA_STS_VERDICT'), 'none');
      assert.equal(await readsocket(TCP, 'enforce.test\\n'), 'FAIL', "the brief's fail string");
    });
  });
});

/** A minimal Exim configuration for `-be`: quiet environment, logs in the test directory. */
function testConfig(dir: string): string {
  assert.ok(existsSync(dir));
  return `keep_environment =\nlog_file_path = ${dir}/%slog\n`;
}
