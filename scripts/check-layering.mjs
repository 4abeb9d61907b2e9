#!/usr/bin/env node
// Shows that the layering rule of eslint.config.js bites (CI runs this after `npm run lint`):
// a real src/ file, then an adapters/ file, is linted with one forbidden import added (a
// static, type, dynamic and re-exporting import of a layer above), and each must be reported.
// A rule that fails nothing would let `npm run lint` pass while src/ imports adapters/.
import { readFileSync } from 'node:fs';
import { ESLint } from 'eslint';

const PROBES = [
  ['src/clock.ts', "import { adapterFor } from '../adapters/protocol/registry.js';\nvoid adapterFor;"],
  ['src/clock.ts', "import type { PostfixAnswer } from '../adapters/protocol/postfix-answer.js';\nexport type Probe = PostfixAnswer;"],
  ['src/clock.ts', "export async function probe(): Promise<unknown> {\n  return import('../adapters/cache/registry.js');\n}"],
  ['src/clock.ts', "export { startApp } from '../main/app.js';"],
  ['src/cache/types.ts', "import type { ServeDeps } from '../../main/cli/serve.js';\nexport type Probe = ServeDeps;"],
  ['adapters/protocol/hex-quote.ts', "import type { App } from '../../main/app.js';\nexport type Probe = App;"],
];
const LAYERING_RULES = new Set(['no-restricted-imports', 'no-restricted-syntax']);

const eslint = new ESLint();
let failed = 0;
for (const [file, line] of PROBES) {
  const text = `${readFileSync(file, 'utf8')}\n${line}\n`;
  const [result] = await eslint.lintText(text, { filePath: file });
  const hits = (result?.messages ?? []).filter((m) => m.ruleId !== null && LAYERING_RULES.has(m.ruleId));
  if (hits.length === 0) {
    failed++;
    console.error(`layering: NOT reported: ${file} + ${JSON.stringify(line.split('\n')[0])}`);
  } else {
    console.log(`layering: reported as expected: ${file} + ${JSON.stringify(line.split('\n')[0])} (${hits[0].ruleId})`);
  }
}
if (failed > 0) {
  console.error(`layering: the rule missed ${failed} of ${PROBES.length} forbidden imports`);
  process.exit(1);
}
