import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildDefaultConfig, DEFAULT_POLICY_DELEGATION, DEFAULT_ZONE } from '../../../src/config/defaults.js';
import { schemaDefaults } from '../../../src/config/schema.js';

// defaults.ts holds the defaults as plain data, so a daemon without -c never loads zod or yaml;
// schema.ts declares its defaults from it, and an empty file must give exactly the same config.
describe('embedded defaults', () => {
  it('are exactly what the schema gives an empty file', () => {
    const fromSchema = schemaDefaults();
    assert.ok(fromSchema !== undefined);
    assert.deepEqual(buildDefaultConfig(), fromSchema);
    assert.deepEqual(fromSchema.defaultZone, DEFAULT_ZONE);
    assert.deepEqual(fromSchema.policyDelegation, DEFAULT_POLICY_DELEGATION);
    assert.equal(fromSchema.listeners[0]?.origin, 'host/port');
  });

  it('load neither the schema library nor the YAML reader; a config file loads both', () => {
    // A fresh process with a module hook that prints the URL of every module it loads on stderr.
    const hooks = `import { writeSync } from 'node:fs';
      export async function load(url, context, next) { writeSync(2, url + '\\n'); return next(url, context); }`;
    const source = new URL('../../../main/cli/config-source.js', import.meta.url).href;
    const dir = mkdtempSync(join(tmpdir(), 'defaults-'));
    try {
      const file = join(dir, 'bridge.yml');
      writeFileSync(file, 'port: 8462\n');
      const loaded = (path: string | undefined, port: number): string[] => {
        const script = `import { register } from 'node:module';
          register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}));
          const { loadConfigOrReport } = await import(${JSON.stringify(source)});
          const got = await loadConfigOrReport(${JSON.stringify(path)}, { out: () => undefined, err: (t) => process.stdout.write(t) });
          process.stdout.write(String(got?.config.listeners[0]?.address.port));`;
        const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
        assert.equal(run.status, 0, run.stderr);
        assert.equal(run.stdout, String(port));
        return run.stderr.split('\n').filter((url) => /\/node_modules\/(zod|yaml)\/|\/src\/config\/(schema|yaml-source)\.js$/.test(url));
      };
      assert.deepEqual(loaded(undefined, 8461), []);
      const withFile = loaded(file, 8462);
      for (const part of ['/node_modules/zod/', '/node_modules/yaml/', 'config/schema.js', 'config/yaml-source.js']) {
        assert.ok(
          withFile.some((url) => url.includes(part)),
          `${part} loaded for a file`,
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
