/**
 * The YAML side of loading: the `yaml` Document turned into plain values for the schema
 * (schema.ts), with the node behind every path kept, so that each problem the schema finds
 * gets the `line:col` of its key or value. Scalars follow the Python tool's loader (PyYAML,
 * YAML 1.1) where it differs from YAML 1.2: unquoted yes/no/on/off are booleans, `10_000` and
 * `0666` (octal) are numbers. `<<` merge keys are honoured, own keys first, as PyYAML does;
 * reads through aliases and merges are charged to CONFIG_ALIAS_EXPANSION_MAX (alias bombs).
 */
import { isAlias, isCollection, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, Scalar, visit } from 'yaml';
import type { Alias, Document, Node } from 'yaml';
import { pathText, type ConfigProblem, type ConfigProblemCode } from './problems.js';
import { CONFIG_ALIAS_EXPANSION_MAX, type Issue } from './schema.js';

type Path = readonly PropertyKey[];
interface Located {
  readonly node: Node;
  readonly key: Node | null;
}

/** The document as plain data, where each value came from, and the problems found reading it. */
export interface YamlSource {
  readonly value: unknown;
  readonly problems: ConfigProblem[];
  readonly warnings: ConfigProblem[];
  /** An issue of the schema as a problem at the `line:col` its `on` names (the nearest located path). */
  readonly locate: (issue: Issue) => ConfigProblem;
}

// PyYAML (YAML 1.1) also reads these unquoted words as booleans, and numbers with '_' separators.
const YAML11_TRUE = new Set(['yes', 'Yes', 'YES', 'on', 'On', 'ON']);
const YAML11_FALSE = new Set(['no', 'No', 'NO', 'off', 'Off', 'OFF']);
const YAML11_NUMBER = /^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?$/;

/** Parses `text`; problems holds syntax errors (then `value` is null) and duplicate keys. */
export function readYaml(text: string): YamlSource {
  const lines = new LineCounter();
  // uniqueKeys: false: the library's check is quadratic; indexDocument finds repeats with a set.
  const doc = parseDocument(text, { lineCounter: lines, keepSourceTokens: true, prettyErrors: false, uniqueKeys: false, merge: true });
  const at = new Map<string, Located>();
  const problems: ConfigProblem[] = [];
  const warnings: ConfigProblem[] = [];
  const place = (p: ConfigProblem, offset: number | undefined): ConfigProblem => {
    if (offset === undefined) return p;
    const pos = lines.linePos(offset);
    return { ...p, line: pos.line, column: pos.col };
  };
  const problem = (code: ConfigProblemCode, path: Path, node: Node | null | undefined, message: string): ConfigProblem =>
    place({ code, path: pathText(path), message }, node?.range?.[0]);
  const locate = (issue: Issue): ConfigProblem => {
    const path = issue.path;
    const on = issue.on;
    const target = on === 'parent' ? path.slice(0, -1) : typeof on === 'string' && on !== 'key' ? [...path.slice(0, -1), on] : path;
    let found: Located | undefined;
    for (let n = target.length; found === undefined && n >= 0; n--) found = at.get(pathText(target.slice(0, n)));
    const node = on === 'key' ? (found?.key ?? found?.node) : found?.node;
    return problem(issue.code, path, node, issue.message);
  };

  for (const e of doc.errors) {
    const hint = syntaxHint(text, lines, e.pos[0]);
    problems.push(place({ code: 'ECONFIG_SYNTAX', path: '', message: yamlMessage(e.message) + hint }, e.pos[0]));
  }
  for (const w of doc.warnings) warnings.push(place({ code: 'ECONFIG_YAML_WARNING', path: '', message: yamlMessage(w.message) }, w.pos[0]));
  if (problems.length > 0) return { value: null, problems, warnings, locate };

  const index = indexDocument(doc);
  for (const { keyNode, parent } of index.repeatedKeys) {
    const key = keyText(keyNode);
    const message = key === undefined ? 'a key appears twice in the same mapping' : `"${key}" appears twice in the same mapping; keep one`;
    problems.push(problem('ECONFIG_DUPLICATE_KEY', key === undefined ? parent : [...parent, key], keyNode, message));
  }
  let budget = CONFIG_ALIAS_EXPANSION_MAX;
  const resolve = (node: unknown): Node | null => {
    let current = node;
    for (let hops = 0; hops < 8 && isAlias(current); hops++) {
      const alias: Alias = current;
      current = index.aliasTargets.get(alias);
      if ((isMap(current) || isSeq(current)) && !charge(current.items.length, alias)) return null;
    }
    return isScalar(current) || isMap(current) || isSeq(current) ? current : null;
  };
  const charge = (entries: number, node: Node): boolean => {
    if (budget < 0) return false;
    budget -= entries;
    if (budget >= 0) return true;
    const message = `aliases and merge keys expand to more than ${CONFIG_ALIAS_EXPANSION_MAX} entries; refusing to read further (write the values out, or use fewer aliases)`;
    problems.push(problem('ECONFIG_TOO_LARGE', [], node, message));
    return false;
  };

  // The collections being read, outermost first: an alias to one of them is a cycle.
  const open = new Set<Node>();
  const plain = (raw: unknown, path: PropertyKey[], key: Node | null): unknown => {
    const node = resolve(raw);
    if (node === null) return null;
    at.set(pathText(path), { node, key });
    if (isScalar(node)) return scalar(node);
    if (open.has(node)) {
      const message = 'an alias names a list or mapping that contains it: the value would never end';
      problems.push(problem('ECONFIG_TYPE', path, isAlias(raw) ? raw : node, message));
      budget = -1;
      return null;
    }
    open.add(node);
    try {
      return plainCollection(node, path);
    } finally {
      open.delete(node);
    }
  };
  const plainCollection = (node: Node, path: PropertyKey[]): unknown => {
    if (isSeq(node)) return node.items.map((item, i) => (budget < 0 ? null : plain(item, [...path, i], null)));
    if (!isMap(node)) return null;
    const out: Record<string, unknown> = {};
    const add = (k: string, keyNode: Node | null, value: unknown): void => {
      if (Object.hasOwn(out, k)) return;
      const v = plain(value, [...path, k], keyNode);
      // `key:` with no value means "the default"; under `zones`, an empty zone block.
      Object.defineProperty(out, k, {
        value: v ?? (path.length === 1 && path[0] === 'zones' ? {} : undefined),
        enumerable: true,
        writable: true,
      });
    };
    const merges: unknown[] = [];
    for (const pair of node.items) {
      const keyNode = isScalar(pair.key) || isMap(pair.key) || isSeq(pair.key) ? (pair.key as Node) : null;
      if (isMergeKey(pair.key)) merges.push(pair.value);
      else if (keyText(pair.key) === undefined)
        problems.push(problem('ECONFIG_TYPE', path, keyNode ?? node, 'keys must be plain words, not lists or mappings'));
      else add(keyText(pair.key) as string, keyNode, pair.value);
    }
    for (const m of merges) {
      const source = resolve(m);
      for (const from of source !== null && isSeq(source) ? source.items.map(resolve) : [source]) {
        if (budget < 0) return out;
        if (from === null || !isMap(from)) {
          problems.push(problem('ECONFIG_TYPE', path, from ?? node, 'a "<<" merge key must name a mapping'));
          continue;
        }
        for (const pair of from.items) {
          const k = keyText(pair.key);
          if (k !== undefined) add(k, isScalar(pair.key) ? pair.key : null, pair.value);
        }
      }
    }
    return out;
  };
  return { value: plain(doc.contents, [], null), problems, warnings, locate };
}

/**
 * One `visit` of the document, linear in its size, finding what the `yaml` library would find by
 * scanning: keys repeated in one mapping (its `uniqueKeys` compares each key with every earlier one)
 * and the node each alias names (`Alias.resolve` walks the whole document on every call). So a config
 * with 40,000 zones loads in linear time (bench/config-load.ts).
 */
function indexDocument(doc: Document) {
  /** A key written a second time in the same mapping; `parent` is the path of that mapping. */
  const repeatedKeys: { keyNode: Scalar; parent: Path }[] = [];
  /** Each alias → the last node anchored with its name before it (YAML 1.2 §3.2.2.2). */
  const aliasTargets = new Map<Alias, Node>();
  const anchored = new Map<string, Node>();
  const paths = new Map<unknown, Path>(); // each collection's path; a key's text is a segment of its value's path only
  // Pre-order, key before value, as `Alias.resolve` orders nodes.
  visit(doc, (key, node, ancestors) => {
    if (isAlias(node)) {
      const target = anchored.get(node.source);
      if (target !== undefined) aliasTargets.set(node, target);
      return;
    }
    if (!isScalar(node) && !isCollection(node)) return;
    if (node.anchor !== undefined && node.anchor !== '') anchored.set(node.anchor, node);
    if (isScalar(node)) return;
    const parent = ancestors.at(-1);
    const up = paths.get(isPair(parent) ? ancestors.at(-2) : parent) ?? [];
    const segment = isSeq(parent) ? (key as number) : isPair(parent) && key === 'value' ? keyText(parent.key) : undefined;
    const path = segment === undefined ? up : [...up, segment];
    paths.set(node, path);
    if (!isMap(node)) return;
    const seen = new Set<unknown>();
    for (const { key: k } of node.items) {
      // yaml's equality for keys: the same node, or two scalars whose values are ===.
      if (!isScalar(k) || Number.isNaN(k.value)) continue;
      if (seen.has(k.value)) repeatedKeys.push({ keyNode: k, parent: path });
      seen.add(k.value);
    }
  });
  return { repeatedKeys, aliasTargets };
}

/** A mapping key as the config's path names it (a scalar's source text), or undefined for a non-scalar key. */
function keyText(key: unknown): string | undefined {
  if (!isScalar(key)) return undefined;
  const v = key.value;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return key.source ?? String(v);
  return undefined;
}

function scalar(node: Scalar): unknown {
  const v = node.value;
  if (node.type !== Scalar.PLAIN) return v;
  const source = node.source ?? '';
  if (typeof v === 'string' && (YAML11_TRUE.has(v) || YAML11_FALSE.has(v))) return YAML11_TRUE.has(v);
  if (typeof v === 'string' && YAML11_NUMBER.test(v) && /[0-9]/.test(v)) return Number(v.replaceAll('_', ''));
  // PyYAML: a leading 0 makes an octal number (0666 is 438); with an 8 or 9 in it, a string.
  if (typeof v === 'number' && /^[-+]?0[0-9]+$/.test(source)) return /[89]/.test(source) ? source : Number.parseInt(source, 8);
  return v;
}

function isMergeKey(key: unknown): boolean {
  if (!isScalar(key)) return false;
  const v = key.value;
  return (typeof v === 'symbol' && v.description === '<<') || (v === '<<' && key.type === Scalar.PLAIN);
}

// yaml's messages end with "at line N, column M" when prettyErrors is on; keep them short either way.
function yamlMessage(message: string): string {
  return message.replace(/ at line \d+, column \d+:?[\s\S]*$/, '');
}

// An unquoted `[::1]:8461` starts a YAML flow list; say so, since the parser's words do not.
function syntaxHint(text: string, lines: LineCounter, offset: number): string {
  const line = lines.linePos(offset).line;
  const lineText = text.slice(lines.lineStarts[line - 1] ?? 0, lines.lineStarts[line] ?? text.length);
  return /:\s*\[[0-9A-Fa-f:.%]*\]:/.test(lineText) ? ' (quote IPv6 addresses: "[::1]:8461")' : '';
}
