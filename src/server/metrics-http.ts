/**
 * The HTTP listener of `metrics:`: GET `/metrics` (Prometheus text format) and `/healthz`
 * (200 "ok", or 503 with the reason). Anything else: 404, or 405 for a method other than
 * GET/HEAD. Bounded: few connections, short request and header timeouts, small headers,
 * request bodies never read.
 */
import http from 'node:http';
import type net from 'node:net';
import type { Logger } from 'winston';
import type { MetricsConfig } from '../config/types.js';
import { formatListenAddress } from './listen-address.js';
import { BridgeError } from '../errors.js';
import type { Health } from '../metrics/health.js';

/** Connections served at once; more are refused (a scraper and a health checker need a few). */
export const METRICS_HTTP_MAX_CONNECTIONS = 16;
/** Whole request (headers included) must arrive within this. */
export const METRICS_HTTP_REQUEST_TIMEOUT_MS = 10_000;
export const METRICS_HTTP_HEADERS_TIMEOUT_MS = 5_000;
/** Idle keep-alive connections are closed after this. */
export const METRICS_HTTP_KEEP_ALIVE_MS = 5_000;
export const METRICS_HTTP_MAX_HEADER_BYTES = 8 * 1024;

export interface MetricsHttpDeps {
  readonly render: () => Promise<string>;
  readonly contentType: string;
  readonly health: () => Promise<Health>;
  readonly log: Logger;
}

export interface MetricsHttpHandle {
  /** `127.0.0.1:9464` (the real port when 0 was asked). */
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Bind and serve. Throws BridgeError ELISTEN_IN_USE, ELISTEN_ADDRESS or ELISTEN_FAILED. */
export async function startMetricsHttp(config: MetricsConfig, deps: MetricsHttpDeps): Promise<MetricsHttpHandle> {
  const log = deps.log.child({ component: 'metrics' });
  const server = http.createServer(
    {
      requestTimeout: METRICS_HTTP_REQUEST_TIMEOUT_MS,
      headersTimeout: METRICS_HTTP_HEADERS_TIMEOUT_MS,
      keepAliveTimeout: METRICS_HTTP_KEEP_ALIVE_MS,
      maxHeaderSize: METRICS_HTTP_MAX_HEADER_BYTES,
    },
    (req, res) => {
      void respond(req, res, deps).catch((err: unknown) => {
        log.error('metrics request failed', { code: 'EINTERNAL', error: String(err) });
        if (!res.headersSent) send(res, 500, 'internal error\n');
        else res.destroy();
      });
    },
  );
  server.maxConnections = METRICS_HTTP_MAX_CONNECTIONS;
  server.on('clientError', (_err, socket: net.Socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });
  const where = formatListenAddress({ kind: 'tcp', host: config.host, port: config.port });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE')
        reject(new BridgeError('ELISTEN_IN_USE', `metrics.address: ${where} is already in use`, { cause: err }));
      else if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') {
        reject(new BridgeError('ELISTEN_ADDRESS', `metrics.address: cannot bind ${where}: ${err.message}`, { cause: err }));
      } else reject(new BridgeError('ELISTEN_FAILED', `metrics.address: cannot listen on ${where}: ${err.message}`, { cause: err }));
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host: config.host, port: config.port });
  });
  server.on('error', (err) => log.error('metrics listener error', { code: 'ELISTEN_FAILED', error: err.message }));
  const bound = server.address() as net.AddressInfo;
  const address = formatListenAddress({ kind: 'tcp', host: bound.address, port: bound.port });
  let closed: Promise<void> | undefined;
  return {
    address,
    port: bound.port,
    close(): Promise<void> {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Scrapers hold keep-alive connections: they must not delay the daemon's stop.
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

async function respond(req: http.IncomingMessage, res: http.ServerResponse, deps: MetricsHttpDeps): Promise<void> {
  // Never read a body: a request with one is answered and the connection closed.
  if (req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined) res.shouldKeepAlive = false;
  const path = (req.url ?? '/').split('?', 1)[0];
  if (path !== '/metrics' && path !== '/healthz') {
    send(res, 404, 'not found: try /metrics or /healthz\n');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    send(res, 405, 'method not allowed\n');
    return;
  }
  if (path === '/metrics') {
    const body = await deps.render();
    send(res, 200, body, deps.contentType);
    return;
  }
  const health = await deps.health();
  if (health.ok) send(res, 200, 'ok\n');
  else send(res, 503, `unhealthy: ${health.reason}\n`);
}

function send(res: http.ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(body);
}
