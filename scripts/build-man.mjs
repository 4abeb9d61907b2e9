#!/usr/bin/env node
// Renders the man pages into dist/man/ with marked-man, from Markdown assembled out of the
// documentation itself, so the pages cannot drift from it:
//   docs/man/mta-sts-bridge.8.md      + the option table of every command (dist/main/cli/help.js,
//                                       the same table --help prints and the parser uses)
//   docs/man/mta-sts-bridge.yml.5.md  + docs/configuration.md (everything after its title)
// Run by `npm run build`, after tsc.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'docs', 'man');
const target = join(root, 'dist', 'man');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const markedMan = join(dirname(createRequire(import.meta.url).resolve('marked-man/package.json')), 'bin', 'marked-man.js');
const help = await import(pathToFileURL(join(root, 'dist', 'main', 'cli', 'help.js')).href);

/** Markdown for every command: synopsis, summary, options with defaults, notes. */
function commandsMarkdown() {
  const out = [];
  for (const name of help.COMMAND_NAMES) {
    const c = help.COMMANDS[name];
    out.push(`### ${name}`, '', `\`mta-sts-bridge ${c.synopsis}\``, '', c.summary, '');
    for (const o of c.options) {
      out.push(`* \`${help.optionLabel(o).trim()}\`:`, `  ${o.text}${o.default !== undefined ? ` (default: ${o.default})` : ''}.`);
    }
    out.push('', ...c.notes.flatMap((n) => [n, '']));
  }
  return out.join('\n');
}

/**
 * A documentation page (docs/configuration.md) for inclusion in a man page: everything after its
 * `# Title`, without HTML comments (notes for the page's readers on the web), headings as they
 * are (`##` sections, `###` subsections), relative links as their text (a man page has no other
 * files to point into); web links stay.
 */
function docsPage(relPath) {
  const lines = readFileSync(join(root, relPath), 'utf8').split('\n');
  const title = lines.findIndex((l) => l.startsWith('# '));
  if (title < 0) throw new Error(`build-man: ${relPath} has no "# " title`);
  return lines
    .slice(title + 1)
    .join('\n')
    .replace(/<!--[\s\S]*?-->\n?/g, '')
    .replace(/\[([^\]]+)\]\((?!https?:)[^)]*\)/g, '$1');
}

function assemble(text) {
  return text
    .replace(/<!-- commands:[^>]*-->/, () => commandsMarkdown())
    .replace(/<!-- include (docs\/[\w.-]+\.md)[^>]*-->/, (_, path) => docsPage(path));
}

mkdirSync(target, { recursive: true });
for (const name of readdirSync(source)
  .filter((n) => /\.\d\.md$/.test(n))
  .sort()) {
  const page = name.slice(0, -'.md'.length);
  const r = spawnSync(
    process.execPath,
    [markedMan, '--no-breaks', '--version', `${pkg.name} ${pkg.version}`, '--manual', 'mta-sts-bridge manual'],
    {
      input: assemble(readFileSync(join(source, name), 'utf8')),
      encoding: 'utf8',
    },
  );
  if (r.status !== 0 || r.stdout.length === 0) {
    console.error(`build-man: marked-man failed on ${name}: ${r.stderr}`);
    process.exit(1);
  }
  writeFileSync(join(target, page), r.stdout);
}
