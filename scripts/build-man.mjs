#!/usr/bin/env node
// Renders the man pages from their Markdown sources (docs/man/*.md) into dist/man/ with
// marked-man: `mta-sts-bridge.8.md` gives `dist/man/mta-sts-bridge.8`. Run by `npm run build`.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'docs', 'man');
const target = join(root, 'dist', 'man');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const bin = join(dirname(createRequire(import.meta.url).resolve('marked-man/package.json')), 'bin', 'marked-man.js');

mkdirSync(target, { recursive: true });
for (const name of readdirSync(source).filter((n) => /\.\d\.md$/.test(n)).sort()) {
  const page = name.slice(0, -'.md'.length);
  const r = spawnSync(
    process.execPath,
    [bin, '--version', `${pkg.name} ${pkg.version}`, '--manual', 'mta-sts-bridge manual', '--date', '2026-12-01', join(source, name)],
    { encoding: 'utf8' },
  );
  if (r.status !== 0 || r.stdout.length === 0) {
    console.error(`build-man: marked-man failed on ${name}: ${r.stderr}`);
    process.exit(1);
  }
  writeFileSync(join(target, page), r.stdout);
}
