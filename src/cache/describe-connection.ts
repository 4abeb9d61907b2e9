/**
 * Where a network cache is, as one line for logs, errors and `check-config`, with secrets
 * hidden. Runtime helpers of the cache registry; the config validators re-export them.
 */
import type { RedisConnection } from '../config/types.js';

/** The DSN with its password (user part, `?password=`, or a `password=` pair) replaced by `***`, for logs and `check-config`. Pure. */
export function redactDsn(dsn: string): string {
  return (
    dsn
      .replace(/(:\/\/[^:@/]*:)[^@/]*@/, '$1***@')
      .replace(/([?&]password=)[^&]*/i, '$1***')
      // A mistaken key=value string still must not leak its password into a message.
      .replace(/(\bpassword\s*=\s*)(?!\*\*\*)('(?:[^'\\]|\\.)*'|[^\s&]+)/i, '$1***')
  );
}

/** The URL with its password replaced by `***`, for logs, messages and `check-config`. Pure. */
export function redactUrl(text: string): string {
  try {
    const url = new URL(text);
    if (url.password === '') return text;
    url.password = '***';
    return url.toString();
  } catch {
    // Not a URL: hide anything between "://" and "@", where a password would be.
    return text.replace(/(:\/\/)[^@/]*@/, '$1***@');
  }
}

/** One line describing where the cache is, secrets hidden (`check-config`, the "cache opened" log). */
export function describeRedisConnection(connection: RedisConnection): string {
  switch (connection.kind) {
    case 'url':
      return redactUrl(connection.url);
    case 'sentinel':
      return `sentinel master "${connection.masterName}" via ${connection.sentinels.map((s) => `${s.host}:${s.port}`).join(', ')} db ${connection.db}${connection.tls ? ' (TLS)' : ''}`;
    case 'cluster':
      return `cluster ${connection.nodes.map((n) => `${n.host}:${n.port}`).join(', ')}${connection.tls ? ' (TLS)' : ''}`;
    default: {
      const _never: never = connection;
      return String(_never);
    }
  }
}
