import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cleanupStaleTemps, tempPathFor, writeMapAtomically, type WriteStep } from '../../../src/generate/atomic-writer.js';
import { GenerateError } from '../../../src/generate/errors.js';
import type { PostfixTools } from '../../../src/generate/postfix-tools.js';

const root = mkdtempSync(join(tmpdir(), 'msb-writer-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
function freshDir(): string {
  const d = join(root, `d${n++}`);
  mkdirSync(d);
  return d;
}

/** A postmap that "indexes" by copying the text, so the index's content shows which map it is. */
function fakeTools(opts: { fail?: boolean; noIndex?: boolean; calls?: string[] } = {}): PostfixTools {
  return {
    async postmap(type, path) {
      opts.calls?.push(`${type}:${path}`);
      if (opts.fail === true) throw new GenerateError('EGEN_POSTMAP', 'postmap: fatal: scripted');
      if (opts.noIndex !== true)
        writeFileSync(`${path}.${type === 'hash' || type === 'btree' ? 'db' : type}`, `INDEX\n${readFileSync(path, 'utf8')}`);
    },
    async mapTypes() {
      return ['lmdb', 'cdb', 'hash'];
    },
  };
}

const OLD = 'old.test secure match=mx.old.test\n';
const NEW = 'new.test secure match=mx.new.test\n';

function seed(dir: string): string {
  const output = join(dir, 'mta-sts-policy');
  writeFileSync(output, OLD);
  writeFileSync(`${output}.lmdb`, `INDEX\n${OLD}`);
  return output;
}

describe('writeMapAtomically', () => {
  it('writes text and index in place and leaves no temp file', async () => {
    const dir = freshDir();
    const output = seed(dir);
    const calls: string[] = [];
    await writeMapAtomically({ output, text: NEW, type: 'lmdb', tools: fakeTools({ calls }), pid: 77 });
    assert.equal(readFileSync(output, 'utf8'), NEW);
    assert.equal(readFileSync(`${output}.lmdb`, 'utf8'), `INDEX\n${NEW}`);
    assert.deepEqual(calls, [`lmdb:${tempPathFor(output, 77)}`], 'postmap runs on the temp file in the target directory');
    assert.deepEqual(readdirSync(dir).sort(), ['mta-sts-policy', 'mta-sts-policy.lmdb']);
  });

  for (const [type, suffix] of [
    ['cdb', '.cdb'],
    ['hash', '.db'],
    ['btree', '.db'],
  ] as const) {
    it(`${type} builds ${suffix}`, async () => {
      const dir = freshDir();
      const output = join(dir, 'm');
      await writeMapAtomically({ output, text: NEW, type, tools: fakeTools(), pid: 1 });
      assert.ok(existsSync(output + suffix));
    });
  }

  it('texthash and text formats write the text only, without postmap', async () => {
    const dir = freshDir();
    const output = join(dir, 'm');
    const calls: string[] = [];
    await writeMapAtomically({ output, text: NEW, type: 'texthash', tools: fakeTools({ calls }), pid: 1 });
    await writeMapAtomically({ output: join(dir, 'e'), text: NEW, type: undefined, tools: fakeTools({ calls }), pid: 1 });
    assert.deepEqual(calls, []);
    assert.deepEqual(readdirSync(dir).sort(), ['e', 'm']);
  });

  it('a failing postmap is EGEN_POSTMAP; the old map and index stay; temp files are removed', async () => {
    const dir = freshDir();
    const output = seed(dir);
    await assert.rejects(
      writeMapAtomically({ output, text: NEW, type: 'lmdb', tools: fakeTools({ fail: true }), pid: 5 }),
      (e: unknown) => e instanceof GenerateError && e.code === 'EGEN_POSTMAP',
    );
    assert.equal(readFileSync(output, 'utf8'), OLD);
    assert.equal(readFileSync(`${output}.lmdb`, 'utf8'), `INDEX\n${OLD}`);
    assert.deepEqual(readdirSync(dir).sort(), ['mta-sts-policy', 'mta-sts-policy.lmdb']);
  });

  it('a postmap that builds no index file is EGEN_POSTMAP', async () => {
    const dir = freshDir();
    const output = seed(dir);
    await assert.rejects(
      writeMapAtomically({ output, text: NEW, type: 'lmdb', tools: fakeTools({ noIndex: true }), pid: 5 }),
      /did not create/,
    );
    assert.equal(readFileSync(output, 'utf8'), OLD);
  });

  it('a missing target directory is EGEN_WRITE', async () => {
    await assert.rejects(
      writeMapAtomically({ output: join(root, 'nope', 'm'), text: NEW, type: 'lmdb', tools: fakeTools(), pid: 5 }),
      (e: unknown) => e instanceof GenerateError && e.code === 'EGEN_WRITE',
    );
  });

  const steps: WriteStep[] = ['text-written', 'indexed', 'index-renamed', 'source-renamed'];
  for (const dieAt of steps) {
    it(`a run that dies after "${dieAt}" leaves a complete old or new index, and the next run recovers`, async () => {
      const dir = freshDir();
      const output = seed(dir);
      const seen: string[] = [];
      const check = (): void => {
        // What Postfix reads is the index: at every moment it is one whole map, never a mix or nothing.
        const index = readFileSync(`${output}.lmdb`, 'utf8');
        assert.ok(index === `INDEX\n${OLD}` || index === `INDEX\n${NEW}`, `index at a step: ${index}`);
        seen.push(index === `INDEX\n${OLD}` ? 'old' : 'new');
      };
      const death = new Error('SIGKILL');
      await assert.rejects(
        writeMapAtomically({
          output,
          text: NEW,
          type: 'lmdb',
          tools: fakeTools(),
          pid: 9,
          onStep: (s) => {
            check();
            if (s === dieAt) throw death; // no cleanup runs, exactly as with SIGKILL
          },
        }),
        (e: unknown) => e === death,
      );
      check();
      assert.ok(readFileSync(output, 'utf8') === OLD || readFileSync(output, 'utf8') === NEW);
      // The next run (another pid) removes the dead run's temp files, then writes.
      cleanupStaleTemps(output, 10);
      assert.deepEqual(readdirSync(dir).sort(), ['mta-sts-policy', 'mta-sts-policy.lmdb']);
      await writeMapAtomically({ output, text: NEW, type: 'lmdb', tools: fakeTools(), pid: 10 });
      assert.equal(readFileSync(`${output}.lmdb`, 'utf8'), `INDEX\n${NEW}`);
      assert.equal(readFileSync(output, 'utf8'), NEW);
      assert.ok(seen.indexOf('new') === -1 || seen.slice(seen.indexOf('new')).every((s) => s === 'new'), 'never back to old once new');
    });
  }
});

describe('cleanupStaleTemps', () => {
  it("removes other pids' temp files of this map only", () => {
    const dir = freshDir();
    const output = join(dir, 'mta-sts-policy');
    const files = [
      '.mta-sts-policy.tmp-111',
      '.mta-sts-policy.tmp-111.lmdb',
      '.mta-sts-policy.tmp-222.db',
      '.mta-sts-policy.tmp-333', // ours
      '.mta-sts-policy.tmp-abc', // not a pid
      '.other.tmp-111',
      'mta-sts-policy',
      'mta-sts-policy.lmdb',
    ];
    for (const f of files) writeFileSync(join(dir, f), 'x');
    assert.deepEqual(cleanupStaleTemps(output, 333), [
      '.mta-sts-policy.tmp-111',
      '.mta-sts-policy.tmp-111.lmdb',
      '.mta-sts-policy.tmp-222.db',
    ]);
    assert.deepEqual(readdirSync(dir).sort(), [
      '.mta-sts-policy.tmp-333',
      '.mta-sts-policy.tmp-abc',
      '.other.tmp-111',
      'mta-sts-policy',
      'mta-sts-policy.lmdb',
    ]);
  });

  it('a map name with regex characters is matched literally', () => {
    const dir = freshDir();
    const output = join(dir, 'a+b.map');
    writeFileSync(join(dir, '.a+b.map.tmp-1'), 'x');
    writeFileSync(join(dir, '.aab.map.tmp-1'), 'x');
    assert.deepEqual(cleanupStaleTemps(output, 2), ['.a+b.map.tmp-1']);
  });

  it('a missing directory is not an error', () => {
    assert.deepEqual(cleanupStaleTemps(join(root, 'missing', 'm'), 1), []);
  });
});
