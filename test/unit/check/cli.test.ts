/**
 * `mta-sts-bridge check` as a command: exit statuses 0/1/2 and --strict, the three outputs,
 * --state across runs, --timeout, and usage errors. Against the in-process test world.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { checkCommand, wantsColour, type CheckCommandDeps } from '../../../main/cli/check.js';
import { main } from '../../../main/cli/main.js';
import { captureIo } from '../cli/capture.js';
import { xmllint } from './xmllint.js';
import { CheckWorld, policyText, serves } from './world.js';

const MX = 'mx1.ok.test';
let world: CheckWorld;
let dir: string;

function deps(): CheckCommandDeps {
  return { dns: world.checkDns(), policyPort: world.https.port, extraCa: world.pki.caCertPem, colour: false, ehloName: 'checker.test' };
}

async function check(args: readonly string[], extra: CheckCommandDeps = {}): Promise<{ status: number; out: string; err: string }> {
  const io = captureIo();
  const status = await checkCommand(['--mx-port', String(world.smtpPort), ...args], io, { ...deps(), ...extra });
  return { status, out: io.stdout(), err: io.stderr() };
}

before(async () => {
  world = await CheckWorld.start();
  dir = mkdtempSync(join(tmpdir(), 'check-cli-'));
  await world.startMx({ address: '127.0.0.2', behaviour: 'starttls', names: [MX] });
  await world.startMx({ address: '127.0.0.5', behaviour: 'hang', names: ['mx.hang.test'] });
  const common = {
    sts: ['v=STSv1; id=1'],
    policyHost: serves(policyText('enforce', [MX])),
    mx: { [MX]: { preference: 10, address: '127.0.0.2' } },
  };
  world.add('pass.test', { ...common, tlsrpt: ['v=TLSRPTv1; rua=mailto:r@pass.test'] });
  world.add('warn.test', common);
  world.add('fail.test', {
    ...common,
    tlsrpt: ['v=TLSRPTv1; rua=mailto:r@fail.test'],
    policyHost: serves(policyText('enforce', ['*.elsewhere.test'])),
  });
  world.add('state.test', { ...common, tlsrpt: ['v=TLSRPTv1; rua=mailto:r@state.test'] });
  world.add('hang.test', {
    sts: ['v=STSv1; id=1'],
    policyHost: serves(policyText('enforce', ['mx.hang.test'])),
    mx: { 'mx.hang.test': { preference: 10, address: '127.0.0.5' } },
  });
});
after(() => world.close());

describe('check: exit statuses', () => {
  it('0 when every check passes', async () => {
    const r = await check(['pass.test']);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /^pass\.test: PASS/m);
    assert.equal(r.err, '');
  });
  it('0 with warnings, 1 with warnings and --strict', async () => {
    const r = await check(['warn.test']);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /^warn\.test: WARN/m);
    assert.equal((await check(['--strict', 'warn.test'])).status, 1);
  });
  it('1 when a check fails, whatever the other domains', async () => {
    const r = await check(['pass.test', 'fail.test']);
    assert.equal(r.status, 1);
    assert.match(r.out, /FAIL mx-coverage/);
  });
  it('2 when the run times out before a conversation gives up', async () => {
    // --timeout from the measured cost of a run without the hanging host (nine times it, at
    // least 2 s): on a loaded machine the DNS questions (a sixth of --timeout each) still end
    // before the deadline, which then cuts the conversation with the hanging host.
    const t0 = Date.now();
    assert.equal((await check(['pass.test'])).status, 0);
    const baseline = Date.now() - t0;
    const timeoutMs = Math.max(2000, 9 * baseline);
    const margin = Math.max(3000, baseline);
    const started = Date.now();
    const r = await check(['--timeout', (timeoutMs / 1000).toFixed(3), 'hang.test', 'pass.test'], { probeTimeoutMs: 60_000 });
    const elapsed = Date.now() - started;
    assert.ok(elapsed < timeoutMs + margin, `took ${elapsed} ms of a --timeout of ${timeoutMs} ms (+${margin} ms)`);
    assert.equal(r.status, 2);
    assert.match(r.out, /ERROR ECHECK_TIMEOUT/);
  });
});

describe('check: outputs', () => {
  it('--json prints the documented form', async () => {
    const r = await check(['--json', 'pass.test', 'fail.test']);
    const doc = JSON.parse(r.out) as { domains: Array<{ domain: string; result: string; checks: unknown[] }> };
    assert.deepEqual(
      doc.domains.map((d) => [d.domain, d.result]),
      [
        ['pass.test', 'pass'],
        ['fail.test', 'fail'],
      ],
    );
  });
  it('--junit FILE writes valid JUnit XML beside the text report', async () => {
    const file = join(dir, 'report.xml');
    const r = await check(['--junit', file, 'pass.test', 'fail.test']);
    assert.equal(r.status, 1);
    assert.match(r.out, /^pass\.test: PASS/m);
    const xml = readFileSync(file, 'utf8');
    const lint = xmllint(xml);
    assert.equal(lint.status, 0, lint.stderr);
    const doc = new XMLParser({ ignoreAttributes: false, isArray: (n) => n === 'testsuite' || n === 'testcase' }).parse(xml) as {
      testsuites: {
        testsuite: Array<{ '@_name': string; '@_failures': string; testcase: Array<{ '@_name': string; failure?: unknown }> }>;
      };
    };
    const [passing, failing] = doc.testsuites.testsuite;
    assert.equal(passing?.['@_failures'], '0');
    assert.ok(failing !== undefined && Number(failing['@_failures']) > 0);
    assert.ok(failing.testcase.some((c) => c['@_name'] === 'mx-coverage' && c.failure !== undefined));
  });
  it('--junit - prints the XML instead of the report', async () => {
    const r = await check(['--junit', '-', 'pass.test']);
    assert.match(r.out, /^<\?xml version="1\.0" encoding="UTF-8"\?>/);
    assert.equal(xmllint(r.out).status, 0);
  });
  it('the same run twice prints the same bytes', async () => {
    const now = (): number => Date.parse('2026-12-05T12:00:00Z');
    const a = await check(['--json', 'pass.test', 'fail.test'], { now });
    const b = await check(['--json', 'pass.test', 'fail.test'], { now });
    assert.equal(a.out, b.out);
  });
});

describe('check: colour only on a TTY', () => {
  it('colours the report on a terminal, never in a pipe, with NO_COLOR or TERM=dumb', () => {
    assert.equal(wantsColour(true, true, { TERM: 'xterm' }), true);
    assert.equal(wantsColour(true, false, { TERM: 'xterm' }), false, 'a pipe or a file');
    assert.equal(wantsColour(true, undefined, {}), false);
    assert.equal(wantsColour(true, true, { NO_COLOR: '1' }), false);
    assert.equal(wantsColour(true, true, { TERM: 'dumb' }), false);
    assert.equal(wantsColour(false, true, {}), false, 'not the process stdout');
  });
  it('without a colour choice, output captured (not a TTY) has no escape sequences; with colour it has', async () => {
    const { colour: _ignored, ...rest } = deps();
    const io = captureIo();
    await checkCommand(['--mx-port', String(world.smtpPort), 'fail.test'], io, rest);
    assert.doesNotMatch(io.stdout(), new RegExp(String.fromCharCode(27)));
    assert.match((await check(['fail.test'], { colour: true })).out, new RegExp(`${String.fromCharCode(27)}\\[`));
  });
});

describe('check: --resolver', () => {
  it('sends every question to the resolver given (TXT, MX, addresses and TLSA), through the production clients', async () => {
    const { dns: _ignored, ...rest } = deps();
    const io = captureIo();
    const status = await checkCommand(['--mx-port', String(world.smtpPort), '--resolver', world.resolver, '--json', 'pass.test'], io, rest);
    assert.equal(status, 0, io.stdout() + io.stderr());
    const doc = JSON.parse(io.stdout()) as { domains: Array<{ checks: Array<{ id: string; evidence: Record<string, unknown> }> }> };
    const checks = doc.domains[0]?.checks ?? [];
    assert.equal(checks.find((c) => c.id === 'sts-txt')?.evidence['id'], '1');
    assert.equal(checks.find((c) => c.id === 'dane-tlsa')?.evidence['dns'], 'nxdomain');
    const asked = world.dns.queries.filter((q) => q.name === '_25._tcp.mx1.ok.test' || q.name === 'pass.test').map((q) => q.type);
    assert.ok(asked.includes('TLSA') && asked.includes('MX'), JSON.stringify(asked));
  });
  it('a resolver nobody answers at: the domain could not be checked (exit 2), not a finding about it', async () => {
    const { dns: _ignored, ...rest } = deps();
    const io = captureIo();
    const status = await checkCommand(
      ['--mx-port', String(world.smtpPort), '--resolver', '127.0.0.1:9', '--timeout', '3', 'pass.test'],
      io,
      rest,
    );
    assert.equal(status, 2, io.stdout());
    assert.match(io.stdout(), /ERROR ECHECK_LOCAL/);
  });
});

describe('check: --state', () => {
  it('records the policy per TXT id; a changed body under the same id then fails', async () => {
    const state = join(dir, 'state.json');
    const first = await check(['--state', state, '--json', 'state.test']);
    assert.equal(first.status, 0, first.out);
    const saved = JSON.parse(readFileSync(state, 'utf8')) as {
      version: number;
      domains: Record<string, { policies: Record<string, { sha256: string }> }>;
    };
    assert.equal(saved.version, 1);
    assert.match(saved.domains['state.test']?.policies['1']?.sha256 ?? '', /^[0-9a-f]{64}$/);

    world.https.setHost('mta-sts.state.test', serves(policyText('enforce', [MX], 1_209_600)));
    const second = await check(['--state', state, 'state.test']);
    assert.equal(second.status, 1);
    assert.match(second.out, /FAIL policy-id: the policy changed but the TXT id 1 did not/);

    world.add('state.test', { sts: ['v=STSv1; id=2'] });
    const third = await check(['--state', state, 'state.test']);
    assert.equal(third.status, 0, third.out);
    assert.match(third.out, /ok {2}policy-id: new id 2/);
  });
  it('an unreadable state file is exit 2 before any network', async () => {
    const r = await check(['--state', dir, 'pass.test']);
    assert.equal(r.status, 2);
    assert.match(r.err, /ECHECK_STATE/);
    assert.equal(r.out, '');
  });
});

describe('check: usage', () => {
  for (const [args, pattern] of [
    [[], /needs at least one DOMAIN/],
    [['--mx-port', '0', 'a.test'], /--mx-port must be a port number/],
    [['--timeout', 'soon', 'a.test'], /--timeout must be seconds/],
    [['--timeout', '0', 'a.test'], /--timeout must be seconds/],
    [['--json', '--junit', '-', 'a.test'], /both want standard output/],
    [['--verbose', 'a.test'], /unknown option --verbose/],
    [['--resolver', 'ns.example.test', 'a.test'], /--resolver: .*not "IP", "IP:PORT" or "\[IPV6\]:PORT"/],
    [['--resolver', '127.0.0.1:0', 'a.test'], /--resolver: bad port/],
  ] as const) {
    it(`refuses ${JSON.stringify(args)} with exit 2`, async () => {
      const io = captureIo();
      assert.equal(await checkCommand(args, io, deps()), 2);
      assert.match(io.stderr(), pattern);
      assert.match(io.stderr(), /\[EUSAGE\]/);
    });
  }
  it('is a command of main, with its help', async () => {
    const io = captureIo();
    assert.equal(await main(['check', '--help'], io), 0);
    assert.match(io.stdout(), /^Usage: mta-sts-bridge check DOMAIN\.\.\. \[--json \| --junit FILE\]/);
    for (const o of ['--json', '--junit FILE', '--strict', '--state FILE', '--mx-port N', '--timeout S', '--resolver IP[:PORT]'])
      assert.ok(io.stdout().includes(o), o);
    const help = captureIo();
    assert.equal(await main(['help'], help), 0);
    assert.match(help.stdout(), /check DOMAIN\.\.\./);
  });
});
