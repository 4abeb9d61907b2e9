/**
 * End to end: the daemon (a child process with `metrics:` in its config) answers Postfix's
 * `postmap` over socketmap, resolving against the fake internet, and a real HTTP client in the
 * same namespace reads /metrics and /healthz from it.
 */
import { integrationGate, postfixToolsProblem } from './harness/gate.js';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Daemon, postmap } from './harness/daemon.js';
import { NetNs } from './harness/netns.js';
import { FakeInternet, policyBody, servesPolicy } from './harness/world.js';

const MAP = 'socketmap:inet:127.0.0.1:8461:postfix';
const METRICS = 'http://127.0.0.1:9464';

const CONFIG = `
host: 127.0.0.1
port: 8461
cache:
  type: internal
default_zone:
  timeout: 3
metrics:
  address: 127.0.0.1:9464
`;

const gate = integrationGate(postfixToolsProblem);

describe('metrics and health of a running daemon', { skip: gate.skip }, () => {
  let ns: NetNs;
  let world: FakeInternet;
  let daemon: Daemon | undefined;
  let dir: string;

  /** GET `path` with node's fetch inside the namespace: `STATUS\nBODY`. */
  const get = async (path: string, method = 'GET'): Promise<{ status: number; body: string }> => {
    const script = `fetch(${JSON.stringify(METRICS + path)}, {method: ${JSON.stringify(method)}}).then(async (r) => process.stdout.write(r.status + '\\n' + (await r.text())), (e) => { console.error(String(e.cause ?? e)); process.exit(3); })`;
    const r = await ns.run(process.execPath, ['-e', script], { timeoutMs: 20_000 });
    assert.equal(r.code, 0, `HTTP client failed: ${r.stderr}`);
    const nl = r.stdout.indexOf('\n');
    return { status: Number(r.stdout.slice(0, nl)), body: r.stdout.slice(nl + 1) };
  };

  before(async () => {
    gate.assertReady();
    dir = mkdtempSync(join(tmpdir(), 'msb-metrics-'));
    ns = await NetNs.create();
    world = await FakeInternet.start(ns, dir, {
      'enforce.test': { txt: ['v=STSv1; id=1;'], policyHost: servesPolicy(policyBody('enforce', ['mx.enforce.test'])) },
      'servfail.test': { txt: 'servfail' },
      'nosts.test': {},
    });
    daemon = await Daemon.start(ns, dir, CONFIG, world.caPath, 1);
    await daemon.waitForLogs(/serving \/metrics and \/healthz/, 1);
  });

  after(async () => {
    if (daemon !== undefined) await daemon.stop();
    if (world !== undefined) await world.stop();
    if (ns !== undefined) await ns.destroy();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('/healthz answers 200 ok once the daemon is up', async () => {
    assert.deepEqual(await get('/healthz'), { status: 200, body: 'ok\n' });
  });

  it('/metrics counts the lookups postmap made, by outcome and source, and the fetch and DNS error behind them', async () => {
    const secure = await postmap(ns, 'enforce.test', MAP);
    assert.match(secure.stdout, /^secure match=mx\.enforce\.test/);
    await postmap(ns, 'enforce.test', MAP);
    await postmap(ns, 'nosts.test', MAP);
    await postmap(ns, 'servfail.test', MAP);

    const { status, body } = await get('/metrics');
    assert.equal(status, 200);
    const lines = body.split('\n');
    const has = (line: string): void =>
      assert.ok(
        lines.includes(line),
        `missing ${line} in:\n${lines.filter((l) => l.startsWith('mta_sts_bridge_lookups') || l.startsWith('mta_sts_bridge_dns') || l.startsWith('mta_sts_bridge_policy')).join('\n')}`,
      );
    has('mta_sts_bridge_lookups_total{protocol="socketmap",zone="default",outcome="policy",source="fetched"} 1');
    has('mta_sts_bridge_lookups_total{protocol="socketmap",zone="default",outcome="policy",source="cache"} 1');
    has('mta_sts_bridge_lookups_total{protocol="socketmap",zone="default",outcome="no-policy",source="lookup"} 1');
    has('mta_sts_bridge_lookups_total{protocol="socketmap",zone="default",outcome="dns-error",source="lookup"} 1');
    has('mta_sts_bridge_policy_fetches_total{result="ok",code=""} 1');
    assert.ok(
      lines.some((l) => /^mta_sts_bridge_dns_errors_total\{code="E[A-Z_]+"\} 1$/.test(l)),
      'the SERVFAIL is counted by code',
    );
    assert.ok(
      lines.some((l) => l.startsWith('mta_sts_bridge_process_resident_memory_bytes ')),
      'process metrics',
    );
    assert.ok(!body.includes('enforce.test'), 'no domain in any label');
  });

  it('unknown paths are 404 and other methods 405', async () => {
    assert.equal((await get('/status')).status, 404);
    assert.equal((await get('/metrics', 'DELETE')).status, 405);
  });

  it('SIGTERM stops the daemon cleanly, metrics listener included', async () => {
    const stopped = await daemon?.stop();
    daemon = undefined;
    assert.equal(stopped?.code, 0);
    const r = await ns.run(process.execPath, [
      '-e',
      `fetch(${JSON.stringify(METRICS + '/healthz')}).then(() => process.exit(0), () => process.exit(7))`,
    ]);
    assert.equal(r.code, 7, 'nothing listens on the metrics port any more');
  });
});
