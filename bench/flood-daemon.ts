/**
 * The daemon of the flood benchmark (bench/flood-run.ts forks it; never run by hand): the real
 * app (`startApp`: real TCP socketmap listener, adapter, resolver and memory cache) on the
 * benchmark's in-memory internet, in a process of its own so its RSS and event loop are its own.
 *
 * argv: <requestsPerTurn|Infinity> <log level> <domains>. Sends `{type:'ready', port}`, then
 * answers `{type:'stats'}` with RSS figures (peak sampled every 50 ms) and log volume.
 */
import { Writable } from 'node:stream';
import { startApp } from '../main/app.js';
import { buildDefaultConfig } from '../src/config/defaults.js';
import type { BridgeConfig, LoggingConfig } from '../src/config/types.js';
import { createLogger } from '../src/log/logger.js';
import { CountingNetwork, benchDomain } from './fake-network.js';

export type FromFloodDaemon =
  | { readonly type: 'ready'; readonly port: number }
  | { readonly type: 'stats'; readonly rss: number; readonly peakRss: number; readonly logBytes: number };

class CountingSink extends Writable {
  bytes = 0;
  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.bytes += chunk.length;
    done();
  }
}

async function main(): Promise<void> {
  const [budgetArg = '8', level = 'info', domainsArg = '200'] = process.argv.slice(2);
  const requestsPerTurn = budgetArg === 'Infinity' ? Infinity : Number(budgetArg);
  const domains = Array.from({ length: Number(domainsArg) }, (_, i) => benchDomain(i));
  const network = new CountingNetwork(domains);
  const base = buildDefaultConfig();
  const config: BridgeConfig = {
    ...base,
    listeners: [{ protocol: 'socketmap', address: { kind: 'tcp', host: '127.0.0.1', port: 0 }, reusePort: false, origin: 'bench' }],
    cacheGraceSec: 86_400,
    logging: { level: level as LoggingConfig['level'], format: 'json' },
  };
  const sink = new CountingSink();
  const log = createLogger(config.logging, { stream: sink });
  const app = await startApp(config, { log, dns: network, fetcher: network, requestsPerTurn });
  let peakRss = process.memoryUsage().rss;
  setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50).unref();
  const send = (m: FromFloodDaemon): void => void process.send?.(m);
  process.on('message', (m: { type?: string }) => {
    if (m.type === 'stats') {
      const rss = process.memoryUsage().rss;
      peakRss = Math.max(peakRss, rss);
      send({ type: 'stats', rss, peakRss, logBytes: sink.bytes });
    } else if (m.type === 'stop') {
      void app.stop(false).then(() => process.exit(0));
    }
  });
  send({ type: 'ready', port: app.listeners[0]?.port ?? 0 });
}

void main();
