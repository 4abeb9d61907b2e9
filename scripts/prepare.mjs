// `prepare` (npm install in a checkout): build when the dev dependencies are there.
// `npm ci --omit=dev` in a checkout whose dist/ is already built has no TypeScript: skip the
// build then, but refuse to leave a checkout that cannot run (no dist/).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';

const require = createRequire(import.meta.url);
const root = new URL('..', import.meta.url);

let hasTsc = true;
try {
  require.resolve('typescript/package.json', { paths: [root.pathname] });
} catch {
  hasTsc = false;
}

if (hasTsc) {
  const r = spawnSync(process.execPath, [new URL('./build.mjs', import.meta.url).pathname], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
} else if (existsSync(new URL('dist/src/cli/main.js', root))) {
  console.error('mta-sts-bridge: no TypeScript (dev dependencies omitted): keeping the built dist/');
} else {
  console.error('mta-sts-bridge: dist/ is not built and TypeScript is not installed: run `npm install` (with the dev dependencies) and `npm run build` first');
  process.exit(1);
}
