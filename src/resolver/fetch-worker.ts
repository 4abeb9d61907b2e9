/**
 * The policy-fetch worker thread: runs the HTTPS fetcher (https-fetcher.ts, unchanged: the same
 * certificate checks, no redirects, size cap, one deadline, media type) off the main thread, so
 * TLS handshakes and HTTP parsing of a burst of new domains do not delay cached answers.
 *
 * The policy host's address is resolved with the same resolver as the TXT lookup: the system
 * resolver, in this thread, when the daemon uses it (`systemDns`), else the main thread's DNS
 * seam (a `lookup` message). Results go back as plain data.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createSystemDns, DnsLookupError } from './dns.js';
import type { FetchWorkerData, FromFetchWorker, ToFetchWorker } from './fetch-messages.js';
import { lowerThisThreadPriority } from './fetch-worker-priority.js';
import { createHttpsFetcher } from './https-fetcher.js';
import type { DnsPort } from './types.js';

const port = parentPort;
if (port === null) throw new Error('fetch-worker.js runs only as a worker thread');

const data = (workerData ?? {}) as FetchWorkerData;

lowerThisThreadPriority();
const lookups = new Map<
  number,
  { host: string; resolve: (a: ReadonlyArray<{ address: string; family: 4 | 6 }>) => void; reject: (e: Error) => void }
>();
let nextLookup = 0;

const send = (message: FromFetchWorker): void => port.postMessage(message);

const proxied: DnsPort = {
  // The fetcher never asks for TXT records.
  resolveTxt: () => Promise.resolve({ kind: 'error', code: 'EINTERNAL', message: 'no TXT lookups in the fetch worker' }),
  lookupAddresses: (host, timeoutMs) =>
    new Promise((resolve, reject) => {
      nextLookup += 1;
      lookups.set(nextLookup, { host, resolve, reject });
      send({ kind: 'lookup', id: nextLookup, host, timeoutMs });
    }),
};

const dns: DnsPort = data.systemDns !== undefined ? createSystemDns(data.systemDns) : proxied;
const fetcher = createHttpsFetcher(dns, {
  ...(data.port !== undefined ? { port: data.port } : {}),
  ...(data.ca !== undefined ? { ca: data.ca } : {}),
});

port.on('message', (message: ToFetchWorker) => {
  switch (message.kind) {
    case 'fetch':
      void fetcher.fetch(message.domain, message.timeoutMs).then((result) => send({ kind: 'result', id: message.id, result }));
      break;
    case 'addresses': {
      const waiting = lookups.get(message.id);
      lookups.delete(message.id);
      waiting?.resolve(message.addresses);
      break;
    }
    case 'lookup-failed': {
      const waiting = lookups.get(message.id);
      lookups.delete(message.id);
      waiting?.reject(new DnsLookupError(message.code, waiting.host, message.message));
      break;
    }
    default: {
      const _never: never = message;
      throw new Error(`unknown message ${JSON.stringify(_never)}`);
    }
  }
});

send({ kind: 'ready' });
