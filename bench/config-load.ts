/**
 * Config loading with many zones, before and after the linear loader (issue 13, finding 7).
 * "before" is the step that made it quadratic, reproduced: the `yaml` library's own duplicate-key
 * check (`uniqueKeys: true`, each key compared with every earlier one), which the loader used
 * until it found duplicates itself in one pass (`indexDocument` in src/config/yaml-source.ts). "after" is
 * `parseConfigText` as it is. Prints CPU seconds side by side; asserts nothing.
 *
 *   npm run build && node dist/bench/config-load.js [--zones 5000,10000,20000,40000]
 */
import { parseArgs } from 'node:util';
import { LineCounter, parseDocument } from 'yaml';
import { parseConfigText } from '../src/config/load.js';
import { CONFIG_FILE_MAX_BYTES } from '../src/config/schema.js';
import { machineContext, printTable } from './report.js';

/** `zones:` with `n` zones of one key each (about 25 bytes a zone). */
function manyZones(n: number): string {
  const parts = ['zones:\n'];
  for (let i = 0; i < n; i++) parts.push(`  z${i}:\n    timeout: 5\n`);
  return parts.join('');
}

function cpuSeconds(f: () => void): number {
  const start = process.cpuUsage();
  f();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

const { values } = parseArgs({ options: { zones: { type: 'string', default: '5000,10000,20000,40000' } } });
const counts = (values.zones ?? '')
  .split(',')
  .map(Number)
  .filter((n) => n > 0);

for (const line of machineContext()) console.log(line);
// Warm the JIT on a small file first, so the first row is not charged for it.
parseConfigText(manyZones(1000), 'warm.yml');

const rows: [string, string][] = [['zones (bytes)', 'before: yaml uniqueKeys check  |  after: parseConfigText']];
for (const n of counts) {
  const text = manyZones(n);
  const bytes = Buffer.byteLength(text);
  const before = cpuSeconds(() => {
    parseDocument(text, { lineCounter: new LineCounter(), keepSourceTokens: true, uniqueKeys: true, merge: true });
  });
  let ok = false;
  const after = cpuSeconds(() => {
    ok = parseConfigText(text, 'bench.yml').ok;
  });
  const note = bytes > CONFIG_FILE_MAX_BYTES ? ' (over 1 MiB: refused unparsed)' : ok ? '' : ' (not loaded!)';
  rows.push([`${n} (${bytes})`, `${before.toFixed(2)} s  |  ${after.toFixed(2)} s${note}`]);
}
printTable(rows);
