/**
 * `metrics:`: the optional HTTP listener serving `/metrics` (Prometheus) and `/healthz`.
 * Absent: no HTTP listener at all. See README.md, "Metrics and health".
 */
import { parseListenAddress } from './address.js';
import { asMap, readMap, readString, report, type Field, type ReadContext } from './node-reader.js';
import type { MetricsConfig } from './types.js';

const METRICS_KEYS = ['address'] as const;

/** The metrics listener, or undefined when the block is absent or invalid (problems reported). */
export function readMetrics(ctx: ReadContext, field: Field | undefined): MetricsConfig | undefined {
  if (field === undefined) return undefined;
  const map = asMap(ctx, field);
  if (map === undefined) return undefined;
  const f = readMap(ctx, map, field.path, METRICS_KEYS);
  const addressField = f.get('address');
  if (addressField === undefined) {
    report(ctx, 'ECONFIG_MISSING_KEY', `${field.path}.address`, field.node, 'missing "address" (HOST:PORT or [IPV6]:PORT, e.g. 127.0.0.1:9464)');
    return undefined;
  }
  const text = readString(ctx, addressField);
  if (text === undefined) return undefined;
  const parsed = parseListenAddress(text);
  if (!parsed.ok) {
    report(ctx, 'ECONFIG_ADDRESS', addressField.path, addressField.node, `"${text}": ${parsed.reason}`);
    return undefined;
  }
  if (parsed.address.kind !== 'tcp' || text.startsWith('inet:')) {
    report(ctx, 'ECONFIG_ADDRESS', addressField.path, addressField.node, `"${text}": the metrics listener takes HOST:PORT or [IPV6]:PORT`);
    return undefined;
  }
  return { host: parsed.address.host, port: parsed.address.port };
}
