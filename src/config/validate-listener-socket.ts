/**
 * The listener keys about the socket itself rather than the protocol: `name` (matched against
 * systemd's LISTEN_FDNAMES, README.md "systemd socket activation") and the unix socket file's `owner` and
 * `group`.
 */
import type { Node } from 'yaml';
import { readString, report, type Field, type ReadContext } from './node-reader.js';
import type { ListenAddress, ListenerConfig } from './types.js';

/** systemd `FileDescriptorName=`: at most 255 printable ASCII characters, no ':' (sd_listen_fds_with_names(3)). */
export const FDNAME_MAX_LENGTH = 255;
const FDNAME = /^[\x21-\x39\x3b-\x7e]+$/;

/** A user or group: a numeric id, or a name as useradd(8) accepts it (with `$` for machine accounts). */
const ACCOUNT = /^(?:[0-9]+|[A-Za-z_][A-Za-z0-9_.-]*\$?)$/;
/** useradd(8): names are at most 32 characters. */
const ACCOUNT_NAME_MAX_LENGTH = 32;

export interface ListenerSocketFields {
  readonly name?: string;
  readonly owner?: string;
  readonly group?: string;
}

/** Reads `name`, `owner` and `group` of one `listeners:` entry. */
export function readListenerSocketFields(
  ctx: ReadContext,
  fields: ReadonlyMap<string, Field>,
  address: ListenAddress | undefined,
): ListenerSocketFields {
  const out: { name?: string; owner?: string; group?: string } = {};
  const nameField = fields.get('name');
  if (nameField !== undefined) {
    const name = readString(ctx, nameField);
    if (name !== undefined) {
      if (name.length > FDNAME_MAX_LENGTH || !FDNAME.test(name)) {
        report(ctx, 'ECONFIG_BAD_VALUE', nameField.path, nameField.node, `"${name}" cannot be a systemd FileDescriptorName: use at most ${FDNAME_MAX_LENGTH} printable characters, no spaces and no ":"`);
      } else {
        out.name = name;
      }
    }
  }
  for (const key of ['owner', 'group'] as const) {
    const field = fields.get(key);
    if (field === undefined) continue;
    const value = readAccount(ctx, field, key);
    if (address?.kind === 'tcp') {
      report(ctx, 'ECONFIG_BAD_VALUE', field.path, field.keyNode, `"${key}" applies only to unix sockets (address "unix:/path")`);
    } else if (value !== undefined) {
      out[key] = value;
    }
  }
  return out;
}

function readAccount(ctx: ReadContext, field: Field, key: 'owner' | 'group'): string | undefined {
  const node = field.node as Node & { value?: unknown };
  // `owner: 0` is a number in YAML; a uid or gid is meant.
  const text = typeof node.value === 'number' && Number.isInteger(node.value) && node.value >= 0 ? String(node.value) : readString(ctx, field);
  if (text === undefined) return undefined;
  if (!ACCOUNT.test(text) || (!/^[0-9]+$/.test(text) && text.length > ACCOUNT_NAME_MAX_LENGTH)) {
    const what = key === 'owner' ? 'a user name or numeric uid' : 'a group name or numeric gid';
    report(ctx, 'ECONFIG_BAD_VALUE', field.path, field.node, `must be ${what}, found "${text}"`);
    return undefined;
  }
  return text;
}

/** Two listeners with one `name` could not be told apart by systemd: report the later ones. */
export function checkListenerNames(ctx: ReadContext, listeners: ReadonlyArray<{ listener: ListenerConfig; node: Node | undefined }>): void {
  const first = new Map<string, string>();
  for (const { listener, node } of listeners) {
    if (listener.name === undefined) continue;
    const seen = first.get(listener.name);
    if (seen === undefined) first.set(listener.name, listener.origin);
    else report(ctx, 'ECONFIG_BAD_VALUE', `${listener.origin}.name`, node, `name "${listener.name}" is already used by ${seen}`);
  }
}
