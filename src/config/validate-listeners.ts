/**
 * Where the daemon listens. Two ways to say it, combinable:
 *  - the Python resolver's shorthand `host`/`port`/`path`/`mode`/`reuse_port`: one socketmap
 *    listener. As in the Python tool, a non-null `path` wins: a unix socket is opened and
 *    `host`/`port` are ignored (with a warning here);
 *  - our `listeners:` list of `{protocol, address, mode, zone, reuse_port}`.
 * Written together, both apply. With only `listeners:`, exactly those are opened; with neither,
 * the default 127.0.0.1:8461 socketmap listener is.
 */
import { isScalar, isSeq, Scalar, type Node } from 'yaml';
import { checkHost, checkUnixPath, formatListenAddress, listenAddressKey, parseListenAddress } from './address.js';
import { DEFAULT_HOST, DEFAULT_PORT, DEFAULT_REUSE_PORT } from './defaults.js';
import { MAX_CONNECTIONS_MAX, PORT_MAX, PORT_MIN, UNIX_MODE_MAX } from './limits.js';
import {
  asMap,
  asSeq,
  describe,
  indexPath,
  readBool,
  readEnum,
  readMap,
  readNumber,
  readString,
  report,
  resolveNode,
  warn,
  type Field,
  type ReadContext,
} from './node-reader.js';
import { didYouMean } from './suggest.js';
import { checkListenerNames, readListenerSocketFields } from './validate-listener-socket.js';
import type { ListenAddress, ListenerConfig, ProtocolName } from './types.js';

/** Keys of one `listeners:` entry. */
export const LISTENER_KEYS = ['protocol', 'address', 'mode', 'zone', 'reuse_port', 'name', 'owner', 'group', 'max_connections'] as const;

const PROTOCOLS: readonly ProtocolName[] = ['socketmap', 'tcp_table', 'policy', 'exim'];
/** Protocols with an adapter today; the others are recognised and refused as not implemented. */
const IMPLEMENTED_PROTOCOLS: ReadonlySet<ProtocolName> = new Set(['socketmap', 'policy', 'tcp_table', 'exim']);

/** The top-level keys this module reads. */
export interface ListenerFields {
  readonly host: Field | undefined;
  readonly port: Field | undefined;
  readonly path: Field | undefined;
  readonly mode: Field | undefined;
  readonly reusePort: Field | undefined;
  readonly listeners: Field | undefined;
}

/** Builds the listener list from the shorthand keys and `listeners:`, reporting every problem. */
export function readListeners(ctx: ReadContext, f: ListenerFields, zoneNames: readonly string[]): ListenerConfig[] {
  const reusePortDefault = (f.reusePort === undefined ? undefined : readBool(ctx, f.reusePort)) ?? DEFAULT_REUSE_PORT;
  const result: { listener: ListenerConfig; path: string; node: Node | undefined }[] = [];

  const shorthand = readShorthand(ctx, f, reusePortDefault);
  if (shorthand !== undefined) {
    const field = shorthand.origin === 'path' ? f.path : (f.host ?? f.port);
    result.push({ listener: shorthand, path: field?.path ?? 'host', node: field?.node });
  }

  const zones = zoneCatalog(zoneNames);
  if (f.listeners !== undefined) {
    const seq = asSeq(ctx, f.listeners);
    seq?.items.forEach((item, i) => {
      const itemPath = indexPath(f.listeners?.path ?? 'listeners', i);
      const node = resolveNode(ctx, item);
      if (node === null) {
        report(ctx, 'ECONFIG_TYPE', itemPath, isScalar(item) ? item : seq, 'an empty entry; each listener needs at least an "address"');
        return;
      }
      const entry = readListenerEntry(ctx, node, itemPath, reusePortDefault, zones);
      if (entry !== undefined) result.push({ listener: entry.listener, path: `${itemPath}.address`, node: entry.addressNode });
    });
    if (seq !== undefined && seq.items.length === 0 && shorthand === undefined) {
      report(ctx, 'ECONFIG_NO_LISTENER', f.listeners.path, f.listeners.node, 'an empty list opens no socket at all; remove "listeners" to get the default 127.0.0.1:8461');
    }
  }

  checkListenerNames(ctx, result);
  const firstByAddress = new Map<string, ListenerConfig>();
  for (const { listener, path, node } of result) {
    const key = listenAddressKey(listener.address);
    const first = firstByAddress.get(key);
    if (first === undefined) firstByAddress.set(key, listener);
    else report(ctx, 'ECONFIG_DUPLICATE_LISTENER', path, node, `${formatListenAddress(listener.address)} is already opened by ${first.origin}`);
  }
  return result.map((r) => r.listener);
}

function readShorthand(ctx: ReadContext, f: ListenerFields, reusePortDefault: boolean): ListenerConfig | undefined {
  if (f.path !== undefined) {
    const path = readString(ctx, f.path);
    const mode = f.mode === undefined ? undefined : readMode(ctx, f.mode);
    for (const ignored of [f.host, f.port]) {
      if (ignored !== undefined) {
        warn(ctx, 'ECONFIG_IGNORED', ignored.path, ignored.keyNode, 'ignored because "path" is set: a unix socket is opened instead (the Python resolver does the same)');
      }
    }
    if (path === undefined) return undefined;
    const problem = checkUnixPath(path, false);
    if (problem !== undefined) {
      report(ctx, 'ECONFIG_ADDRESS', f.path.path, f.path.node, problem);
      return undefined;
    }
    const address: ListenAddress = { kind: 'unix', path };
    return mode === undefined
      ? { protocol: 'socketmap', address, reusePort: false, origin: 'path' }
      : { protocol: 'socketmap', address, mode, reusePort: false, origin: 'path' };
  }
  if (f.mode !== undefined) {
    warn(ctx, 'ECONFIG_IGNORED', f.mode.path, f.mode.keyNode, 'ignored: "mode" applies only to a unix socket ("path")');
  }
  if (f.host === undefined && f.port === undefined && f.listeners !== undefined) return undefined;

  let host: string | undefined = DEFAULT_HOST;
  if (f.host !== undefined) {
    host = readString(ctx, f.host);
    const problem = host === undefined ? undefined : checkHost(host);
    if (problem !== undefined) {
      report(ctx, 'ECONFIG_ADDRESS', f.host.path, f.host.node, problem);
      host = undefined;
    }
  }
  const port = f.port === undefined ? DEFAULT_PORT : readNumber(ctx, f.port, { integer: true, min: PORT_MIN, max: PORT_MAX });
  if (host === undefined || port === undefined) return undefined;
  return { protocol: 'socketmap', address: { kind: 'tcp', host, port }, reusePort: reusePortDefault, origin: 'host/port' };
}

function readListenerEntry(
  ctx: ReadContext,
  item: Node,
  path: string,
  reusePortDefault: boolean,
  zones: ZoneCatalog,
): { listener: ListenerConfig; addressNode: Node } | undefined {
  const map = asMap(ctx, { path, node: item, keyNode: null });
  if (map === undefined) return undefined;
  const f = readMap(ctx, map, path, LISTENER_KEYS);

  const protocolField = f.get('protocol');
  let protocol: ProtocolName | undefined = 'socketmap';
  if (protocolField !== undefined) {
    protocol = readEnum(ctx, protocolField, PROTOCOLS);
    if (protocol !== undefined && !IMPLEMENTED_PROTOCOLS.has(protocol)) {
      report(ctx, 'ECONFIG_UNSUPPORTED', protocolField.path, protocolField.node, `protocol "${protocol}" is not implemented yet; only "socketmap" is`);
      protocol = undefined;
    }
  }

  const addressField = f.get('address');
  let address: ListenAddress | undefined;
  if (addressField === undefined) {
    report(ctx, 'ECONFIG_MISSING_KEY', `${path}.address`, map, 'missing "address" (HOST:PORT, [IPV6]:PORT or unix:/path)');
  } else if (isSeq(addressField.node)) {
    // `address: [::1]:8461` unquoted is YAML flow-list syntax, not an address.
    report(ctx, 'ECONFIG_TYPE', addressField.path, addressField.node, `must be a string, found ${describe(addressField.node)}; quote IPv6 addresses: "[::1]:8461"`);
  } else {
    const text = readString(ctx, addressField);
    if (text !== undefined) {
      const parsed = parseListenAddress(text);
      if (parsed.ok) address = parsed.address;
      else report(ctx, 'ECONFIG_ADDRESS', addressField.path, addressField.node, `"${text}": ${parsed.reason}`);
    }
  }

  const modeField = f.get('mode');
  let mode: number | undefined;
  if (modeField !== undefined) {
    mode = readMode(ctx, modeField);
    if (address?.kind === 'tcp') {
      report(ctx, 'ECONFIG_BAD_VALUE', modeField.path, modeField.keyNode, '"mode" applies only to unix sockets (address "unix:/path")');
    }
  }

  const reuseField = f.get('reuse_port');
  let reusePort = address?.kind === 'unix' ? false : reusePortDefault;
  if (reuseField !== undefined) {
    const value = readBool(ctx, reuseField);
    if (value !== undefined) reusePort = value;
    if (address?.kind === 'unix') {
      report(ctx, 'ECONFIG_BAD_VALUE', reuseField.path, reuseField.keyNode, '"reuse_port" applies only to TCP addresses');
    }
  }

  const zoneField = f.get('zone');
  let zone: string | undefined;
  if (zoneField !== undefined) {
    zone = readString(ctx, zoneField);
    if (zone !== undefined && !zones.has(zone)) {
      report(ctx, 'ECONFIG_UNKNOWN_ZONE', zoneField.path, zoneField.node, zones.unknown(zone));
      zone = undefined;
    } else if (zone !== undefined && protocol === 'socketmap') {
      warn(ctx, 'ECONFIG_IGNORED', zoneField.path, zoneField.keyNode, 'ignored for socketmap: each request names its zone (the map name in main.cf)');
    }
  }

  const maxField = f.get('max_connections');
  const maxConnections = maxField === undefined ? undefined : readNumber(ctx, maxField, { integer: true, min: 1, max: MAX_CONNECTIONS_MAX });

  const socketFields = readListenerSocketFields(ctx, f, address);
  if (protocol === undefined || address === undefined || addressField === undefined) return undefined;
  const listener: ListenerConfig = {
    ...socketFields,
    protocol,
    address,
    reusePort,
    origin: path,
    ...(mode !== undefined && address.kind === 'unix' ? { mode } : {}),
    ...(zone !== undefined ? { zone } : {}),
    ...(maxConnections !== undefined ? { maxConnections } : {}),
  };
  return { listener, addressNode: addressField.node };
}

/** Zone names as `listeners[].zone` checks them: a set lookup, and a bounded message for a miss. */
interface ZoneCatalog {
  has(name: string): boolean;
  unknown(name: string): string;
}

/** Zones named in an ECONFIG_UNKNOWN_ZONE message; a longer list says how many there are. */
const ZONES_LISTED_MAX = 10;
/** Missing names that get a "did you mean" (each compares with every zone name). */
const ZONE_HINTS_MAX = 16;

function zoneCatalog(zoneNames: readonly string[]): ZoneCatalog {
  const names = new Set(zoneNames);
  const listed = zoneNames.slice(0, ZONES_LISTED_MAX).join(', ');
  const known =
    zoneNames.length === 0
      ? 'no zones are defined under "zones"'
      : `defined zones: ${listed}${zoneNames.length > ZONES_LISTED_MAX ? `, … (${zoneNames.length} in all)` : ''}`;
  const hints = new Map<string, string>();
  return {
    has: (name) => names.has(name),
    unknown: (name) => {
      let hint = hints.get(name);
      if (hint === undefined && hints.size < ZONE_HINTS_MAX) {
        hint = didYouMean(name, zoneNames);
        hints.set(name, hint);
      }
      return `zone "${name}" is not defined${hint ?? ''}; ${known}`;
    },
  };
}

/**
 * A unix socket file mode. Accepts what the Python tool's users write — `0666` (YAML 1.1
 * octal, which PyYAML reads as 438) — and also `0o666`, a decimal 438, and the strings
 * "0666", "0o666", "666". YAML 1.2 would read a bare `0666` as decimal 666; that reading
 * never makes sense for a mode, so the source text decides.
 */
export function readMode(ctx: ReadContext, f: Field): number | undefined {
  const node = f.node;
  let value: number | undefined;
  if (isScalar(node)) {
    const v = node.value;
    if (typeof v === 'number') {
      const source = node.type === Scalar.PLAIN ? (node.source ?? '') : '';
      if (/^0[0-9]+$/.test(source)) {
        if (!/^0[0-7]+$/.test(source)) {
          report(ctx, 'ECONFIG_BAD_VALUE', f.path, node, `"${source}" is not an octal file mode (digits 0-7 only)`);
          return undefined;
        }
        value = Number.parseInt(source, 8);
      } else {
        value = v;
      }
    } else if (typeof v === 'string') {
      const m = /^(?:0o?)?([0-7]{1,4})$/.exec(v.trim());
      if (m?.[1] === undefined) {
        report(ctx, 'ECONFIG_BAD_VALUE', f.path, node, `"${v}" is not an octal file mode such as 0666 or 0o660`);
        return undefined;
      }
      value = Number.parseInt(m[1], 8);
    }
  }
  if (value === undefined || !Number.isInteger(value)) {
    report(ctx, 'ECONFIG_TYPE', f.path, node, `must be an octal file mode such as 0666 or 0o660, found ${describe(node)}`);
    return undefined;
  }
  if (value < 0 || value > UNIX_MODE_MAX) {
    const looksOctal = /^[0-7]{3}$/.test(String(value));
    const hint = looksOctal ? ` (did you mean 0${value}? without the leading 0 it is the decimal number ${value})` : '';
    report(ctx, 'ECONFIG_RANGE', f.path, node, `must be a file mode between 0 and 0777, found ${value} (0o${value.toString(8)})${hint}`);
    return undefined;
  }
  return value;
}
