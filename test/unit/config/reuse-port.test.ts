import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkConfigCommand } from '../../../main/cli/check-config.js';
import { nodeHasReusePort, reusePortWarning, setsReusePort } from '../../../main/cli/reuse-port.js';
import { captureIo } from '../cli/capture.js';

describe('reuse_port and the running Node', () => {
  it('reusePort exists from Node 22.12 and 23.1 on', () => {
    for (const v of ['20.20.2', '21.7.3', '22.11.0', '23.0.0']) assert.equal(nodeHasReusePort(v), false, v);
    for (const v of ['22.12.0', '22.20.1', '23.1.0', '24.0.0', '25.2.1']) assert.equal(nodeHasReusePort(v), true, v);
  });

  it('only a file that sets reuse_port: true (top level or a listener) is noticed', () => {
    assert.equal(setsReusePort('reuse_port: true\n'), true);
    assert.equal(setsReusePort('reuse_port: yes\n'), false); // YAML 1.2: a string, refused by the validator anyway
    assert.equal(setsReusePort('listeners:\n  - address: "127.0.0.1:1"\n    reuse_port: true\n'), true);
    assert.equal(setsReusePort('reuse_port: false\n'), false);
    assert.equal(setsReusePort('port: 1\n'), false);
    assert.equal(setsReusePort(': : :\n'), false);
  });

  it('the warning names the Node version and socket activation; none where reusePort exists', () => {
    assert.match(reusePortWarning('reuse_port: true\n', '20.20.2') ?? '', /no effect on Node 20\.20\.2 .*socket activation/);
    assert.equal(reusePortWarning('reuse_port: true\n', '22.12.0'), undefined);
    assert.equal(reusePortWarning('port: 8461\n', '20.20.2'), undefined);
  });

  it('check-config prints it as a warning on a Node without reusePort, and still says OK', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reuse-port-'));
    try {
      const file = join(dir, 'c.yml');
      writeFileSync(file, 'reuse_port: true\ncache: {type: internal}\n');
      const io = captureIo();
      assert.equal(await checkConfigCommand(['-c', file], io), 0, io.stderr());
      assert.match(io.stdout(), /^OK: /);
      if (nodeHasReusePort(process.versions.node)) assert.doesNotMatch(io.stderr(), /reuse_port/);
      else
        assert.match(
          io.stderr(),
          new RegExp(`reuse_port: reuse_port has no effect on Node ${process.versions.node.replace(/\./g, '\\.')} .* \\(warning\\)\\n$`),
        );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
