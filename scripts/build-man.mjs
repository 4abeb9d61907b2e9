// Render docs/man/*.md (ronn-style markdown) into roff man pages with marked-man.
// `node scripts/build-man.mjs [OUTDIR]`; OUTDIR defaults to dist/man.
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = fileURLToPath(new URL('..', import.meta.url));

/** Render every docs/man/NAME.SECTION.md into OUTDIR/NAME.SECTION; returns the written paths. */
export function buildManPages(outDir = join(root, 'dist', 'man')) {
  const markedMan = join(dirname(require.resolve('marked-man/package.json', { paths: [root] })), 'bin', 'marked-man.js');
  const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
  const srcDir = join(root, 'docs', 'man');
  mkdirSync(outDir, { recursive: true });
  const written = [];
  for (const file of readdirSync(srcDir).sort()) {
    const m = /^(.+)\.([1-8])\.md$/.exec(file);
    if (m === null) continue;
    const out = join(outDir, `${m[1]}.${m[2]}`);
    const manual = m[2] === '8' ? 'System Manager\'s Manual' : 'File Formats Manual';
    const r = spawnSync(
      process.execPath,
      [markedMan, '--no-breaks', '--version', `mta-sts-bridge ${version}`, '--manual', manual, '--section', m[2], '-o', out, join(srcDir, file)],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
    if (r.status !== 0) throw new Error(`marked-man failed on ${file} (status ${r.status})`);
    written.push(out);
  }
  return written;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const p of buildManPages(process.argv[2])) console.log(p);
}
