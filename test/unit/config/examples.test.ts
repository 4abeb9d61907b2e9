/**
 * Every YAML file under conf-examples/ must load without problems or warnings, so no example
 * can rot. Files are discovered, so a new example is covered without touching this test.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseConfigText } from '../../../src/config/load.js';

// Compiled to dist/test/unit/config/: the repository root is four levels up.
const EXAMPLES = fileURLToPath(new URL('../../../../conf-examples/', import.meta.url));

async function yamlFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files = await Promise.all(
    entries.map(async (e) => {
      const path = join(dir, e.name);
      if (e.isDirectory()) return yamlFiles(path);
      return /\.ya?ml$/.test(e.name) ? [path] : [];
    }),
  );
  return files.flat().sort();
}

describe('conf-examples', async () => {
  const files = await yamlFiles(EXAMPLES);

  it('has the documented examples', () => {
    const names = files.map((f) => relative(EXAMPLES, f));
    for (const expected of ['mta-sts-bridge.yml', 'python-resolver-compat.yml', 'minimal.yml', 'unix-socket.yml']) {
      assert.ok(names.includes(expected), `conf-examples/${expected} is missing (found ${names.join(', ')})`);
    }
  });

  for (const file of files) {
    it(`${relative(EXAMPLES, file)} loads without problems or warnings`, async () => {
      const result = parseConfigText(await readFile(file, 'utf8'), file);
      assert.ok(result.ok, result.ok ? '' : JSON.stringify(result.problems, null, 1));
      assert.deepEqual(result.warnings, []);
      assert.ok(result.config.listeners.length >= 1);
    });
  }

  it('the fully commented example states the real defaults', async () => {
    const result = parseConfigText(await readFile(join(EXAMPLES, 'mta-sts-bridge.yml'), 'utf8'), 'mta-sts-bridge.yml');
    const defaults = parseConfigText('', 'empty.yml');
    assert.ok(result.ok && defaults.ok);
    assert.deepEqual(result.config, defaults.config);
  });
});
