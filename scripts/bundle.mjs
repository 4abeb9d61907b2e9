#!/usr/bin/env node
// One ES module bundle of the CLI (dist/bundle/cli/), built from tsc's output (dist/src,
// dist/adapters) by esbuild. Start-up parses a few files instead of about 150 modules; the
// commands stay lazily loaded (`splitting`: each dynamic import is its own chunk).
// Native and optional modules (better-sqlite3, unix-dgram, pg, ioredis) stay external: node
// resolves them from node_modules as before. The bundle sits three levels under the package
// root, like dist/main/cli/, so `new URL('../../../package.json', import.meta.url)` still finds
// package.json. Without esbuild (dev dependencies omitted) nothing is built and bin/ uses
// dist/main directly.
// zod's entry re-exports every one of its ~50 message locales (`z.locales`), which esbuild keeps:
// about 400 KB of the config chunk that every start with a config file parses. The config
// schema never uses them (its messages are its own; zod's English default is imported by zod
// itself from locales/en.js), so the namespace is replaced by an empty module.
// winston's @dabh/diagnostics picks its development build unless NODE_ENV=production: a debug
// printer for DEBUG=winston:* that loads node:tty (~1 MB of RSS at every start). The bundle
// takes its production build (the same API, printing nothing); winston's logging is unchanged.
// winston and winston-transport build their streams on readable-stream 3, a copy of Node 10's
// stream code (~68 KB with string_decoder, safe-buffer, inherits and util-deprecate) that every
// start parses and every log line runs. The bundle gives them Node's own `node:stream`, already
// loaded and compiled in every process: the same classes and API (readable-stream's main entry
// does this itself when READABLE_STREAM=disable; winston-transport's deep import of
// lib/_stream_writable.js does not, hence the plugin), so winston's logging is unchanged. One
// difference, unused here: a write after `logger.end()` throws with readable-stream, and is an
// 'error' event with node:stream; the daemon never ends its logger.
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** What each readable-stream import winston uses stands for in `node:stream` (any other fails the build). */
const NODE_STREAM_EXPORTS = {
  'readable-stream': '',
  'readable-stream/lib/_stream_writable.js': '.Writable',
  'readable-stream/lib/_stream_readable.js': '.Readable',
  'readable-stream/lib/_stream_duplex.js': '.Duplex',
  'readable-stream/lib/_stream_transform.js': '.Transform',
  'readable-stream/lib/_stream_passthrough.js': '.PassThrough',
};
const outdir = join(root, 'dist', 'bundle', 'cli');
let esbuild;
try {
  esbuild = createRequire(import.meta.url)('esbuild');
} catch {
  console.error('mta-sts-bridge: esbuild not installed: no bundle, bin/ runs dist/src');
  process.exit(0);
}
rmSync(join(root, 'dist', 'bundle'), { recursive: true, force: true });
await esbuild.build({
  absWorkingDir: root,
  // The fetch worker's code is loaded by URL beside the chunk that starts it
  // (src/resolver/worker-fetcher.ts): it is an entry of its own, written next to main.js.
  entryPoints: { main: 'dist/main/cli/main.js', 'fetch-worker': 'dist/src/resolver/fetch-worker.js' },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outdir,
  chunkNames: '[name]-[hash]',
  external: ['better-sqlite3', 'unix-dgram', 'pg', 'pg-native', 'ioredis'],
  minifyWhitespace: true,
  minifySyntax: true,
  keepNames: true,
  legalComments: 'none',
  logLevel: 'warning',
  plugins: [
    {
      name: 'zod-without-locales',
      setup(build) {
        build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
          /[/\\]node_modules[/\\]zod[/\\]/.test(args.importer) ? { path: 'zod-locales', namespace: 'zod-locales' } : undefined,
        );
        build.onLoad({ filter: /.*/, namespace: 'zod-locales' }, () => ({ contents: 'export {};', loader: 'js' }));
      },
    },
    {
      name: 'readable-stream-is-node-stream',
      setup(build) {
        build.onResolve({ filter: /^readable-stream(\/.*)?$/ }, (args) => ({ path: args.path, namespace: 'node-stream' }));
        build.onLoad({ filter: /.*/, namespace: 'node-stream' }, (args) => {
          const which = NODE_STREAM_EXPORTS[args.path];
          if (which === undefined) throw new Error(`bundle: no node:stream counterpart for ${args.path}`);
          return { contents: `module.exports = require('node:stream')${which};`, loader: 'js' };
        });
      },
    },
    {
      name: 'winston-diagnostics-production',
      setup(build) {
        build.onResolve({ filter: /^\.\/development\.js$/ }, (args) =>
          /[/\\]@dabh[/\\]diagnostics[/\\]node[/\\]index\.js$/.test(args.importer)
            ? { path: join(dirname(args.importer), 'production.js') }
            : undefined,
        );
      },
    },
  ],
  // Bundled CommonJS (winston and its dependencies) calls require() for node: built-ins.
  banner: { js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);" },
});
