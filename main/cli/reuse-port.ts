/**
 * `reuse_port` and the running Node. SO_REUSEPORT is Node's `reusePort` listen option from
 * Node 22.12 (22.x line) and 23.1 on; older Node ignores the option, so a second instance on
 * the same port fails with ELISTEN_IN_USE. Zero-downtime restarts are socket activation's job
 * (README, "systemd socket activation"); the key stays accepted for the Python tool's files.
 */
import { parse } from 'yaml';

/** Whether Node `version` (`process.versions.node`, e.g. `20.20.2`) has `reusePort`. */
export function nodeHasReusePort(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map((n) => Number.parseInt(n, 10));
  if (major >= 24) return true;
  if (major === 23) return minor >= 1;
  if (major === 22) return minor >= 12;
  return false;
}

/** Whether the config text sets `reuse_port` to true, at the top level or on a listener. */
export function setsReusePort(text: string): boolean {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch {
    return false;
  }
  if (doc === null || typeof doc !== 'object') return false;
  const top = doc as { reuse_port?: unknown; listeners?: unknown };
  if (top.reuse_port === true) return true;
  return (
    Array.isArray(top.listeners) &&
    top.listeners.some((l) => l !== null && typeof l === 'object' && (l as { reuse_port?: unknown }).reuse_port === true)
  );
}

/** The warning `check-config` prints when the file sets reuse_port on a Node without it, else undefined. */
export function reusePortWarning(text: string, version: string): string | undefined {
  if (nodeHasReusePort(version) || !setsReusePort(text)) return undefined;
  return `reuse_port has no effect on Node ${version} (SO_REUSEPORT needs Node 22.12/23.1 or later): a second instance cannot bind the same port; for restarts without refused connections use systemd socket activation`;
}
