import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { queryCommand } from '../../../main/cli/query.js';
import { EE, ScriptedDnssec } from '../../helpers/dnssec-fakes.js';
import { ScriptedDns, ScriptedFetcher } from '../../helpers/fakes.js';
import { captureIo } from './capture.js';

function dnssec(): ScriptedDnssec {
  return new ScriptedDnssec()
    .records('MX', 'dane.test', [{ preference: 10, exchange: 'mx.dane.test' }])
    .records('A', 'mx.dane.test', ['192.0.2.1'])
    .records('TLSA', '_25._tcp.mx.dane.test', [EE]);
}

describe('query with a dane zone', () => {
  const dir = mkdtempSync(join(tmpdir(), 'query-dane-'));
  const conf = join(dir, 'c.yml');
  writeFileSync(conf, 'default_zone:\n  dane: true\n');

  it('shows the DANE queries with their AD bits, the finding, the decision, and the dane answer', async () => {
    const io = captureIo();
    const code = await queryCommand(['dane.test', '-c', conf], io, {
      dns: new ScriptedDns(),
      fetcher: new ScriptedFetcher(),
      dnssec: dnssec(),
    });
    const out = io.stdout();
    assert.equal(code, 0, io.stderr());
    assert.match(out, /Postfix answer: OK dane/);
    assert.match(out, /MX dane\.test: validated \(AD\)/);
    assert.match(out, /TLSA _25\._tcp\.mx\.dane\.test: validated \(AD\)/);
    assert.match(out, /decision: dane \(DANE applies to every MX host\)/);
  });

  it('--json carries the DANE part, TLSA data in hex', async () => {
    const io = captureIo();
    await queryCommand(['dane.test', '-c', conf, '--json'], io, {
      dns: new ScriptedDns(),
      fetcher: new ScriptedFetcher(),
      dnssec: dnssec(),
    });
    const report = JSON.parse(io.stdout()) as {
      dane: { finding: { kind: string; hosts: Array<{ dane: { usable: Array<{ data: string }> } }> }; decision: { kind: string } };
      postfix: { data: string };
    };
    assert.equal(report.dane.finding.kind, 'dane');
    assert.equal(report.dane.finding.hosts[0]?.dane.usable[0]?.data, 'ab'.repeat(32));
    assert.equal(report.dane.decision.kind, 'dane');
    assert.equal(report.postfix.data, 'dane');
  });

  it('cleans up', () => rmSync(dir, { recursive: true, force: true }));
});
