import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkConfigCommand, summarize } from '../../../main/cli/check-config.js';
import { defaultConfig } from '../../../src/config/load.js';
import { captureIo } from './capture.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mta-sts-check-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

describe('check-config', () => {
  it('without -c checks the embedded defaults', async () => {
    const io = captureIo();
    assert.equal(await checkConfigCommand([], io), 0);
    assert.match(io.stdout(), /^OK: embedded defaults\nlisteners \(1\):\n {2}socketmap 127\.0\.0\.1:8461 /);
  });

  it('prints OK and a summary of listeners, cache and zones for a valid file', async () => {
    const path = await file(
      'good.yml',
      [
        'listeners:',
        '  - protocol: socketmap',
        '    address: 127.0.0.1:18461',
        '  - protocol: socketmap',
        '    address: unix:/run/mta-sts.sock',
        '    mode: 0o660',
        'cache:',
        '  type: internal',
        '  options:',
        '    cache_size: 500',
        'zones:',
        '  strict:',
        '    strict_testing: true',
        '',
      ].join('\n'),
    );
    const io = captureIo();
    assert.equal(await checkConfigCommand(['-c', path], io), 0, io.stderr());
    const out = io.stdout();
    assert.ok(out.startsWith(`OK: ${path}\n`));
    assert.match(
      out,
      /listeners \(2\):\n {2}socketmap 127\.0\.0\.1:18461 \(listeners\[0\]\)\n {2}socketmap unix:\/run\/mta-sts\.sock mode 0660 \(listeners\[1\]\)\n/,
    );
    assert.match(out, /cache: internal \(memory, up to 500 entries\)/);
    assert.match(out, /zones: default, strict\n/);
    assert.match(out, / {2}strict: timeout \d+s, strict_testing yes,/);
  });

  it('prints every problem as FILE:LINE:COL: path: message [CODE], exit 2', async () => {
    const path = await file('bad.yml', ['port: 99999', 'bogus_key: 1', 'logging:', '  level: loud', ''].join('\n'));
    const io = captureIo();
    assert.equal(await checkConfigCommand(['-c', path], io), 2);
    assert.equal(io.stdout(), '');
    const lines = io.stderr().trimEnd().split('\n');
    const problems = lines.slice(0, -1);
    assert.ok(problems.length >= 3, io.stderr());
    for (const line of problems) {
      assert.match(
        line,
        new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\d+:\\d+: [a-z_.\\[\\]0-9]+: .+ \\[ECONFIG_[A-Z_]+\\]$`),
        line,
      );
    }
    assert.ok(
      problems.some((l) => l.includes(':1:') && l.includes(' port: ')),
      'port on line 1',
    );
    assert.ok(
      problems.some((l) => l.includes(':2:') && l.includes('[ECONFIG_UNKNOWN_KEY]')),
      'unknown key on line 2',
    );
    assert.ok(
      problems.some((l) => l.includes(':4:') && l.includes('logging.level')),
      'logging.level on line 4',
    );
    assert.equal(lines.at(-1), `${path}: ${problems.length} problems`);
  });

  it('reports a YAML syntax error with its position', async () => {
    const path = await file('syntax.yml', 'listeners: [\n');
    const io = captureIo();
    assert.equal(await checkConfigCommand(['-c', path], io), 2);
    assert.match(io.stderr(), /:\d+:\d+: .*\[ECONFIG_SYNTAX\]/);
  });

  it('reports an unreadable file with ECONFIG_READ', async () => {
    const io = captureIo();
    assert.equal(await checkConfigCommand(['-c', join(dir, 'missing.yml')], io), 2);
    assert.match(io.stderr(), /cannot read .*missing\.yml.* \[ECONFIG_READ\]/);
  });

  it('summarize is stable for the defaults', () => {
    assert.equal(summarize(defaultConfig()), summarize(defaultConfig()));
    assert.match(summarize(defaultConfig()), /\nlogging: info, text\n$/);
  });

  it('summarize shows proactive refresh, and policy delegation only with a policy listener', async () => {
    assert.match(summarize(defaultConfig()), /\nproactive refresh: every 86400s, 100 at once, grace ratio 2, jitter 0\.1\n/);
    assert.doesNotMatch(summarize(defaultConfig()), /policy delegation/);
    const file = join(dir, 'warm.yml');
    await writeFile(
      file,
      'proactive_policy_fetching:\n  enabled: false\nlisteners:\n  - protocol: policy\n    address: 127.0.0.1:8462\n' +
        'policy_delegation:\n  skip_domains: [example.org]\n',
    );
    const io = captureIo();
    assert.equal(await checkConfigCommand(['-c', file], io), 0, io.stderr());
    assert.match(io.stdout(), /\nproactive refresh: off\n/);
    assert.match(io.stdout(), /\npolicy delegation: queue 1000, 4 at once, skip example\.org\n/);
  });
});
