/**
 * The daemon for bench/instructions.ts: `startApp` with the real socketmap adapter, resolver,
 * memory cache, server and connection code, on 127.0.0.1:PORT, with the in-memory internet of
 * bench/fake-network.ts (no DNS server, no HTTPS: valgrind runs it, and only the warm path is
 * measured). Logs at info to stderr, as the daemon does by default. Prints `READY` when it listens.
 *
 *   node --max-semi-space-size=1 dist/bench/instructions-daemon.js PORT DOMAINS
 */
import { startApp } from '../main/app.js';
import { buildDefaultConfig } from '../src/config/defaults.js';
import type { BridgeConfig } from '../src/config/types.js';
import { createLogger } from '../src/log/logger.js';
import { adapterFor } from '../adapters/protocol/registry.js';
import { CountingNetwork, benchDomain } from './fake-network.js';

const port = Number(process.argv[2]);
const count = Number(process.argv[3] ?? '200');
if (!Number.isInteger(port) || port <= 0 || !Number.isInteger(count) || count <= 0) {
  process.stderr.write('usage: instructions-daemon.js PORT [DOMAINS]\n');
  process.exit(2);
}
const network = new CountingNetwork(Array.from({ length: count }, (_, i) => benchDomain(i)));
const base = buildDefaultConfig();
const config: BridgeConfig = {
  ...base,
  listeners: [{ protocol: 'socketmap', address: { kind: 'tcp', host: '127.0.0.1', port }, reusePort: false, origin: 'bench' }],
  // Nothing cached is re-checked during a measurement (the default grace is 60 s).
  cacheGraceSec: 86_400,
  cache: { type: 'internal', cacheSize: 25_000 },
};
const log = createLogger(config.logging);
const app = await startApp(config, { log, dns: network, fetcher: network, adapterFor });
process.stdout.write('READY\n');
process.once('SIGTERM', () => {
  void app.stop().then(() => process.exit(0));
});
