/** xmllint against docs/check-junit.xsd, for the tests that write JUnit XML. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const XSD = fileURLToPath(new URL('../../../../docs/check-junit.xsd', import.meta.url));

/** `xmllint --noout --schema docs/check-junit.xsd`: exit status and complaints. */
export function xmllint(xml: string): { status: number | null; stderr: string } {
  const file = join(mkdtempSync(join(tmpdir(), 'check-junit-')), 'report.xml');
  writeFileSync(file, xml);
  const r = spawnSync('xmllint', ['--noout', '--schema', XSD, file], { encoding: 'utf8' });
  if (r.error !== undefined)
    throw new Error(`xmllint not runnable (apt-get install libxml2-utils; .ci/run installs it): ${r.error.message}`);
  return { status: r.status, stderr: r.stderr };
}
