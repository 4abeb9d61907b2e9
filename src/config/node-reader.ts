/**
 * Small typed readers over the `yaml` Document tree. Each one checks one value, reports a
 * problem with the key's dotted path and source line when it is wrong, and returns undefined
 * then, so validation goes on and every problem in a file is reported at once.
 */
import { isAlias, isMap, isScalar, isSeq, Scalar, YAMLMap, type Alias, type LineCounter, type Node, type YAMLSeq } from 'yaml';
import { CONFIG_ALIAS_EXPANSION_MAX } from './limits.js';
import type { ConfigProblem, ConfigProblemCode } from './problems.js';
import { didYouMean } from './suggest.js';

/** Shared state of one validation run. */
export interface ReadContext {
  /** Each alias → the node it names (document-index.ts), so resolving one costs a lookup, not a walk. */
  readonly aliasTargets: ReadonlyMap<Alias, Node>;
  readonly lines: LineCounter;
  readonly problems: ConfigProblem[];
  readonly warnings: ConfigProblem[];
  /** Mapping entries and list items still allowed to be read through aliases and merge keys. */
  readonly expansion: { remaining: number };
}

/** A fresh expansion budget for one validation run. */
export function expansionBudget(): { remaining: number } {
  return { remaining: CONFIG_ALIAS_EXPANSION_MAX };
}

/** A present (non-null) value in a mapping, with the dotted path and nodes needed for messages. */
export interface Field {
  readonly path: string;
  /** The value, aliases already resolved. */
  readonly node: Node;
  /** The key node, for problems about the key itself. */
  readonly keyNode: Node | null;
}

/** `a.b`, or `a["odd.key"]` when the key would make the dotted path ambiguous. */
export function childPath(parent: string, key: string): string {
  if (/^[A-Za-z0-9_-]+$/.test(key)) return parent === '' ? key : `${parent}.${key}`;
  return `${parent}[${JSON.stringify(key)}]`;
}

/** `listeners[2]` */
export function indexPath(parent: string, index: number): string {
  return `${parent}[${index}]`;
}

/** The dotted path of a list of key and index segments: `["zones", "a", "timeout"]` → `zones.a.timeout`. */
export function pathText(segments: readonly (string | number)[]): string {
  return segments.reduce<string>((path, s) => (typeof s === 'number' ? indexPath(path, s) : childPath(path, s)), '');
}

/** Records a problem located at `node` (or without a line when there is no node). */
export function report(
  ctx: ReadContext,
  code: ConfigProblemCode,
  path: string,
  node: Node | null | undefined,
  message: string,
): void {
  ctx.problems.push(problemAt(ctx, code, path, node, message));
}

/** Records a warning: the config still loads. */
export function warn(ctx: ReadContext, code: ConfigProblemCode, path: string, node: Node | null | undefined, message: string): void {
  ctx.warnings.push(problemAt(ctx, code, path, node, message));
}

/** Builds a problem, 1-based line and column taken from the node's first source character. */
export function problemAt(
  ctx: Pick<ReadContext, 'lines'>,
  code: ConfigProblemCode,
  path: string,
  node: Node | null | undefined,
  message: string,
): ConfigProblem {
  const problem: ConfigProblem = { code, path, message };
  const offset = node?.range?.[0];
  if (offset !== undefined) {
    const pos = ctx.lines.linePos(offset);
    problem.line = pos.line;
    problem.column = pos.col;
  }
  return problem;
}

/**
 * Follows aliases to the node they name; null for an explicit null or an empty value. A
 * collection reached through an alias is read again each time: its entries are charged to the
 * expansion budget (see `charge`), so an alias bomb is refused instead of read.
 */
export function resolveNode(ctx: ReadContext, node: unknown): Node | null {
  let current: unknown = node;
  // An alias may name another alias' target only indirectly; a few hops is plenty.
  for (let hops = 0; hops < 8 && isAlias(current); hops++) {
    const alias: Alias = current;
    current = ctx.aliasTargets.get(alias);
    if ((isMap(current) || isSeq(current)) && !charge(ctx, current.items.length, alias)) return null;
  }
  if (current === null || current === undefined) return null;
  if (isScalar(current) && current.value === null) return null;
  if (isScalar(current) || isMap(current) || isSeq(current)) return current;
  return null;
}

/** A short human description of what was found instead, for type errors. */
export function describe(node: Node): string {
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
    if (typeof v === 'number') return `the number ${String(v)}`;
    if (typeof v === 'boolean') return String(v);
    return String(v);
  }
  return 'an unexpected node';
}

/**
 * Takes `entries` from the expansion budget; false (with one ECONFIG_TOO_LARGE problem, the
 * first time) when it is spent. Only reads through aliases and merge keys are charged: every
 * other node is read once, so the file size bounds that work already.
 */
export function charge(ctx: ReadContext, entries: number, node: Node): boolean {
  if (ctx.expansion.remaining < 0) return false;
  ctx.expansion.remaining -= entries;
  if (ctx.expansion.remaining >= 0) return true;
  report(
    ctx,
    'ECONFIG_TOO_LARGE',
    '',
    node,
    `aliases and merge keys expand to more than ${CONFIG_ALIAS_EXPANSION_MAX} entries; refusing to read further (write the values out, or use fewer aliases)`,
  );
  return false;
}

function isMergeKey(key: unknown): boolean {
  if (!isScalar(key)) return false;
  const v = key.value;
  return (typeof v === 'symbol' && v.description === '<<') || (v === '<<' && key.type === Scalar.PLAIN);
}

function keyText(key: unknown): string | undefined {
  if (!isScalar(key)) return undefined;
  const v = key.value;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return key.source ?? String(v);
  return undefined;
}

/**
 * Reads a mapping's present keys. Keys not in `known` are reported as ECONFIG_UNKNOWN_KEY
 * (with a hint); keys with a null value count as absent, so `key:` means "the default".
 * `<<` merge keys are honoured, own keys first, as PyYAML does. With `emptyAsMap`, a key
 * without a value stands for an empty mapping instead (`zones: {myzone: }`).
 */
export function readMap(
  ctx: ReadContext,
  map: YAMLMap,
  path: string,
  known: readonly string[] | 'any',
  emptyAsMap = false,
): Map<string, Field> {
  const fields = new Map<string, Field>();
  const seen = new Set<string>();
  const merges: unknown[] = [];
  for (const pair of map.items) {
    if (isMergeKey(pair.key)) {
      merges.push(pair.value);
      continue;
    }
    const keyNode = isScalar(pair.key) || isMap(pair.key) || isSeq(pair.key) ? (pair.key as Node) : null;
    const key = keyText(pair.key);
    if (key === undefined) {
      report(ctx, 'ECONFIG_TYPE', path, keyNode ?? map, 'keys must be plain words, not lists or mappings');
      continue;
    }
    // The yaml parser already reported a duplicate (ECONFIG_DUPLICATE_KEY); read the first one only.
    if (seen.has(key)) continue;
    seen.add(key);
    addField(ctx, fields, path, known, key, keyNode, pair.value, emptyAsMap);
  }
  for (const mergeValue of merges) {
    const source = resolveNode(ctx, mergeValue);
    if (ctx.expansion.remaining < 0) return fields;
    const sources = source !== null && isSeq(source) ? source.items.map((i) => resolveNode(ctx, i)) : [source];
    for (const m of sources) {
      if (ctx.expansion.remaining < 0) return fields;
      if (m === null || !isMap(m)) {
        report(ctx, 'ECONFIG_TYPE', path, m ?? map, 'a "<<" merge key must name a mapping');
        continue;
      }
      for (const pair of m.items) {
        const key = keyText(pair.key);
        if (key === undefined || seen.has(key)) continue;
        seen.add(key);
        addField(ctx, fields, path, known, key, isScalar(pair.key) ? pair.key : null, pair.value, emptyAsMap);
      }
    }
  }
  return fields;
}

function addField(
  ctx: ReadContext,
  fields: Map<string, Field>,
  path: string,
  known: readonly string[] | 'any',
  key: string,
  keyNode: Node | null,
  rawValue: unknown,
  emptyAsMap: boolean,
): void {
  const fieldPath = childPath(path, key);
  if (known !== 'any' && !known.includes(key)) {
    report(ctx, 'ECONFIG_UNKNOWN_KEY', fieldPath, keyNode, `unknown key "${key}"${didYouMean(key, known)}`);
    return;
  }
  const node = resolveNode(ctx, rawValue) ?? (emptyAsMap ? new YAMLMap() : null);
  if (node === null) return;
  fields.set(key, { path: fieldPath, node, keyNode });
}

/** The value as a mapping, or a type problem. */
export function asMap(ctx: ReadContext, f: Field): YAMLMap | undefined {
  if (isMap(f.node)) return f.node;
  report(ctx, 'ECONFIG_TYPE', f.path, f.node, `must be a mapping (key: value lines), found ${describe(f.node)}`);
  return undefined;
}

/** The value as a list, or a type problem. */
export function asSeq(ctx: ReadContext, f: Field): YAMLSeq | undefined {
  if (isSeq(f.node)) return f.node;
  report(ctx, 'ECONFIG_TYPE', f.path, f.node, `must be a list, found ${describe(f.node)}`);
  return undefined;
}

// PyYAML (YAML 1.1), which the Python tool's users wrote their files for, also reads these as booleans.
const YAML11_TRUE = new Set(['yes', 'Yes', 'YES', 'on', 'On', 'ON']);
const YAML11_FALSE = new Set(['no', 'No', 'NO', 'off', 'Off', 'OFF']);
// PyYAML (YAML 1.1) ints and floats may contain '_' digit separators: 10_000.
const YAML11_NUMBER = /^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?$/;

/** A boolean: YAML 1.2 `true`/`false`, and unquoted YAML 1.1 `yes`/`no`/`on`/`off`. */
export function readBool(ctx: ReadContext, f: Field): boolean | undefined {
  if (isScalar(f.node)) {
    const v = f.node.value;
    if (typeof v === 'boolean') return v;
    if (typeof v === 'string' && f.node.type === Scalar.PLAIN) {
      if (YAML11_TRUE.has(v)) return true;
      if (YAML11_FALSE.has(v)) return false;
    }
  }
  report(ctx, 'ECONFIG_TYPE', f.path, f.node, `must be true or false, found ${describe(f.node)}`);
  return undefined;
}

/** Bounds for `readNumber`. */
export interface NumberRule {
  readonly integer?: boolean;
  /** Inclusive lower bound. */
  readonly min?: number;
  /** Exclusive lower bound ("greater than"). */
  readonly above?: number;
  /** Inclusive upper bound. */
  readonly max?: number;
  /** Appended to a range message, e.g. a hint. */
  readonly hint?: string;
}

/** A finite number within the rule's bounds. */
export function readNumber(ctx: ReadContext, f: Field, rule: NumberRule): number | undefined {
  const value = numericValue(f.node);
  const kind = rule.integer === true ? 'an integer' : 'a number';
  if (value === undefined || !Number.isFinite(value)) {
    report(ctx, 'ECONFIG_TYPE', f.path, f.node, `must be ${kind}${rangeText(rule)}, found ${describe(f.node)}`);
    return undefined;
  }
  const tooLow = (rule.min !== undefined && value < rule.min) || (rule.above !== undefined && value <= rule.above);
  const tooHigh = rule.max !== undefined && value > rule.max;
  const notInteger = rule.integer === true && !Number.isInteger(value);
  if (notInteger) {
    report(ctx, 'ECONFIG_TYPE', f.path, f.node, `must be ${kind}${rangeText(rule)}, found ${describe(f.node)}`);
    return undefined;
  }
  if (tooLow || tooHigh) {
    const hint = rule.hint === undefined ? '' : ` ${rule.hint}`;
    report(ctx, 'ECONFIG_RANGE', f.path, f.node, `must be ${kind}${rangeText(rule)}, found ${value}${hint}`);
    return undefined;
  }
  return value;
}

function numericValue(node: Node): number | undefined {
  if (!isScalar(node)) return undefined;
  const v = node.value;
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && node.type === Scalar.PLAIN && YAML11_NUMBER.test(v) && /[0-9]/.test(v)) {
    return Number(v.replaceAll('_', ''));
  }
  return undefined;
}

function rangeText(rule: NumberRule): string {
  const low = rule.min !== undefined ? `at least ${rule.min}` : rule.above !== undefined ? `greater than ${rule.above}` : undefined;
  const high = rule.max !== undefined ? `at most ${rule.max}` : undefined;
  if (low !== undefined && high !== undefined) return ` ${low} and ${high}`;
  if (low !== undefined) return ` ${low}`;
  if (high !== undefined) return ` ${high}`;
  return '';
}

/** A string (quoted or not); `nonEmpty` refuses ''. */
export function readString(ctx: ReadContext, f: Field, nonEmpty = true): string | undefined {
  if (isScalar(f.node) && typeof f.node.value === 'string') {
    if (nonEmpty && f.node.value.trim() === '') {
      report(ctx, 'ECONFIG_BAD_VALUE', f.path, f.node, 'must not be empty');
      return undefined;
    }
    return f.node.value;
  }
  report(ctx, 'ECONFIG_TYPE', f.path, f.node, `must be a string, found ${describe(f.node)}`);
  return undefined;
}

/** One of `values` (or an alias of one), with a hint when close. */
export function readEnum<T extends string>(
  ctx: ReadContext,
  f: Field,
  values: readonly T[],
  aliases: Readonly<Record<string, T>> = {},
): T | undefined {
  const text = readString(ctx, f);
  if (text === undefined) return undefined;
  if ((values as readonly string[]).includes(text)) return text as T;
  const alias = Object.hasOwn(aliases, text) ? aliases[text] : undefined;
  if (alias !== undefined) return alias;
  const choices = values.map((v) => `"${v}"`).join(', ');
  report(ctx, 'ECONFIG_BAD_VALUE', f.path, f.node, `must be one of ${choices}, found "${text}"${didYouMean(text, values)}`);
  return undefined;
}
