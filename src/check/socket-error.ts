/**
 * How the probes (./smtp-probe.ts, ./https-probe.ts) report a socket or TLS error: its stable
 * code (Node's or OpenSSL's, else the probe's own) and OpenSSL's short reason rather than its
 * raw dump. Pure.
 */

/** The `code` of an error, or `fallback` when it has none. */
export function errorCodeOf(err: unknown, fallback: string): string {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : fallback;
}

/** OpenSSL's short reason (`wrong version number`), else the first line of the message. */
export function describeSocketError(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'reason' in err && typeof err.reason === 'string') return err.reason;
  const message = err instanceof Error ? err.message : String(err);
  return /:error:[0-9A-F]+:[^:]*:[^:]*:([^:]+):/.exec(message)?.[1] ?? message.split('\n')[0] ?? message;
}
