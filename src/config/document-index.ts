/**
 * One pass over a parsed config document, linear in its size, that finds what the `yaml`
 * library would find by scanning: keys repeated in one mapping (its `uniqueKeys` check compares
 * each key with every earlier one) and the node each alias names (`Alias.resolve` walks the
 * whole document on every call). With both done here, a config with 40,000 zones loads in
 * linear time (bench/config-load.ts).
 */
import { isAlias, isMap, isPair, isScalar, isSeq, type Alias, type Document, type Node } from 'yaml';

/** A key written a second time in the same mapping. */
export interface RepeatedKey {
  /** The repeated key node (its range locates the problem). */
  readonly keyNode: Node;
  /** The key's text, when it is a scalar; undefined for an empty key. */
  readonly key: string | undefined;
  /** The path segments from the root to the mapping holding it (strings for keys, numbers for list indexes). */
  readonly parent: (string | number)[];
}

export interface DocumentIndex {
  readonly repeatedKeys: readonly RepeatedKey[];
  /** Each alias → the last node anchored with its name before it (YAML 1.2 §3.2.2.2), as `Alias.resolve` decides. */
  readonly aliasTargets: ReadonlyMap<Alias, Node>;
}

/** A path as a linked list from the node up, so that a child's path costs O(1), not O(depth). */
interface PathLink {
  readonly up: PathLink | null;
  readonly segment: string | number;
}

interface Step {
  readonly node: unknown;
  readonly path: PathLink | null;
}

/** Walks `doc` once (no recursion: nesting depth costs no stack). Aliases are not followed. */
export function indexDocument(doc: Document): DocumentIndex {
  const repeatedKeys: RepeatedKey[] = [];
  const aliasTargets = new Map<Alias, Node>();
  const anchored = new Map<string, Node>();
  // Pre-order, key before value, as yaml's `visit` (and so `Alias.resolve`) orders nodes.
  const stack: Step[] = [{ node: doc.contents, path: null }];
  for (let step = stack.pop(); step !== undefined; step = stack.pop()) {
    const { node, path } = step;
    if (isAlias(node)) {
      const target = anchored.get(node.source);
      if (target !== undefined) aliasTargets.set(node, target);
      continue;
    }
    if (!isScalar(node) && !isMap(node) && !isSeq(node)) continue;
    if (node.anchor !== undefined && node.anchor !== '') anchored.set(node.anchor, node);
    if (isScalar(node)) continue;
    const children: Step[] = [];
    if (isMap(node)) {
      const seen = new Set<unknown>();
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const key = pair.key;
        const keyText = scalarKeyText(key);
        if (isScalar(key) && !Number.isNaN(key.value)) {
          // yaml's equality for keys: the same node, or two scalars whose values are ===.
          if (seen.has(key.value)) repeatedKeys.push({ keyNode: key, key: keyText, parent: segments(path) });
          else seen.add(key.value);
        }
        const childPath = keyText === undefined ? path : { up: path, segment: keyText };
        children.push({ node: key, path }, { node: pair.value, path: childPath });
      }
    } else {
      node.items.forEach((item, i) => children.push({ node: item, path: { up: path, segment: i } }));
    }
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i] as Step);
  }
  return { repeatedKeys, aliasTargets };
}

function scalarKeyText(key: unknown): string | undefined {
  if (!isScalar(key)) return undefined;
  const v = key.value;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return key.source ?? String(v);
  return undefined;
}

function segments(path: PathLink | null): (string | number)[] {
  const out: (string | number)[] = [];
  for (let p = path; p !== null; p = p.up) out.push(p.segment);
  return out.reverse();
}
