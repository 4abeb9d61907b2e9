/**
 * The Dockerfile: where `docker info` succeeds, the image is built and started and its health
 * check must turn healthy; everywhere, the Dockerfile is parsed and its properties checked
 * (small Node base, non-root user, HEALTHCHECK on /healthz, a volume for the state directory,
 * a shipped config that enables the metrics listener the health check asks).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = new URL('../../../', import.meta.url).pathname;

/** Dockerfile instructions of the last stage, continuation lines joined. */
function finalStage(text: string): Array<[string, string]> {
  const joined = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const instructions = joined.map((l): [string, string] => {
    const sp = l.indexOf(' ');
    return [l.slice(0, sp).toUpperCase(), l.slice(sp + 1).trim()];
  });
  const lastFrom = instructions.map(([k]) => k).lastIndexOf('FROM');
  return instructions.slice(lastFrom);
}

describe('Dockerfile', () => {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const stage = finalStage(text);
  const get = (k: string): string[] => stage.filter(([i]) => i === k).map(([, v]) => v);

  it('runs on a small Node base as a non-root user, with a volume, a health check and the shipped config', () => {
    assert.match(get('FROM')[0] ?? '', /^node:\d+-(bookworm|bullseye|trixie)-slim$|^node:\d+-alpine/);
    const user = get('USER');
    assert.equal(user.length, 1);
    assert.doesNotMatch(user[0] ?? '', /^(root|0)(:|$)/);
    assert.deepEqual(get('VOLUME'), ['["/var/lib/mta-sts-bridge"]']);
    const health = get('HEALTHCHECK')[0] ?? '';
    assert.match(health, /127\.0\.0\.1:9464\/healthz/);
    assert.match(health, /statusCode === 200/);
    assert.match(get('ENV').join(' '), /STATE_DIRECTORY=\/var\/lib\/mta-sts-bridge/);
    assert.match(get('CMD')[0] ?? '', /"serve", "-c", "\/etc\/mta-sts-bridge\.yml"/);
    assert.ok(get('COPY').some((c) => c === 'conf-examples/docker/mta-sts-bridge.yml /etc/mta-sts-bridge.yml'));
    const conf = readFileSync(join(ROOT, 'conf-examples/docker/mta-sts-bridge.yml'), 'utf8');
    assert.match(conf, /^metrics:\n {2}address: "127\.0\.0\.1:9464"$/m);
  });

  it('runs the daemon on jemalloc, installed in the same stage (docs/operations.md, "Memory settings")', () => {
    // The launcher preloads it when installed; an LD_PRELOAD here would bypass its MALLOC_CONF.
    assert.doesNotMatch(get('ENV').join(' '), /LD_PRELOAD|MALLOC_CONF/);
    assert.deepEqual(get('ENTRYPOINT'), ['["mta-sts-bridge"]'], 'the launcher is what runs');
    assert.ok(
      get('RUN').some((r) => /apt-get install\b[^&]*\blibjemalloc2\b/.test(r)),
      'libjemalloc2 is installed in the final stage',
    );
  });

  const docker = spawnSync('docker', ['info'], { encoding: 'utf8' });
  it(
    'builds and turns healthy (only where docker info succeeds)',
    { skip: docker.status !== 0 ? 'docker info fails here' : false, timeout: 20 * 60_000 },
    () => {
      const tag = `mta-sts-bridge-test:${process.pid}`;
      const build = spawnSync('docker', ['build', '-t', tag, ROOT], { encoding: 'utf8' });
      assert.equal(build.status, 0, build.stderr);
      const run = spawnSync('docker', ['run', '-d', '--rm', tag], { encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      const id = run.stdout.trim();
      try {
        let status = '';
        for (let i = 0; i < 60 && status !== 'healthy'; i++) {
          spawnSync('sleep', ['2']);
          status = spawnSync('docker', ['inspect', '-f', '{{.State.Health.Status}}', id], { encoding: 'utf8' }).stdout.trim();
        }
        assert.equal(status, 'healthy');
      } finally {
        spawnSync('docker', ['rm', '-f', id]);
        spawnSync('docker', ['rmi', tag]);
      }
    },
  );
});
