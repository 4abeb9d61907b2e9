// `npm run build`: compile with tsc, then render the man pages into dist/man.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { buildManPages } from './build-man.mjs';

const require = createRequire(import.meta.url);
const root = new URL('..', import.meta.url).pathname;
const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { stdio: 'inherit', cwd: root });
if (r.status !== 0) process.exit(r.status ?? 1);
buildManPages();
