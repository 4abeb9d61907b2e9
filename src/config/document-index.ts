/**
 * One pass over a parsed document, linear in its size, finding what the `yaml` library would find
 * by scanning: keys repeated in one mapping (its `uniqueKeys` compares each key with every earlier
 * one) and the node each alias names (`Alias.resolve` walks the whole document on every call).
 * So a config with 40,000 zones loads in linear time (bench/config-load.ts).
 */
import { isAlias, isMap, isPair, isScalar, isSeq, type Alias, type Document, type Node } from 'yaml';

/** A key written a second time in the same mapping; `parent` is the path of that mapping. */
export interface RepeatedKey {
  readonly keyNode: Node;
  readonly key: string | undefined;
  readonly parent: (string | number)[];
}

export interface DocumentIndex {
  readonly repeatedKeys: readonly RepeatedKey[];
  /** Each alias → the last node anchored with its name before it (YAML 1.2 §3.2.2.2). */
  readonly aliasTargets: ReadonlyMap<Alias, Node>;
}

/** A path as a linked list from the node up, so a child's path costs O(1), not O(depth). */
type PathLink = { readonly up: PathLink | null; readonly segment: string | number } | null;

/** Walks `doc` once, pre-order, key before value (as `Alias.resolve` orders nodes); no recursion. */
export function indexDocument(doc: Document): DocumentIndex {
  const repeatedKeys: RepeatedKey[] = [];
  const aliasTargets = new Map<Alias, Node>();
  const anchored = new Map<string, Node>();
  const stack: { node: unknown; path: PathLink }[] = [{ node: doc.contents, path: null }];
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
    const children: { node: unknown; path: PathLink }[] = [];
    if (isMap(node)) {
      const seen = new Set<unknown>();
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const key = pair.key;
        const text = keyText(key);
        // yaml's equality for keys: the same node, or two scalars whose values are ===.
        if (isScalar(key) && !Number.isNaN(key.value)) {
          if (seen.has(key.value)) repeatedKeys.push({ keyNode: key, key: text, parent: segments(path) });
          else seen.add(key.value);
        }
        children.push({ node: key, path }, { node: pair.value, path: text === undefined ? path : { up: path, segment: text } });
      }
    } else {
      node.items.forEach((item, i) => children.push({ node: item, path: { up: path, segment: i } }));
    }
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i] as { node: unknown; path: PathLink });
  }
  return { repeatedKeys, aliasTargets };
}

/** A mapping key as the config's path names it (a scalar's source text), or undefined for a non-scalar key. */
export function keyText(key: unknown): string | undefined {
  if (!isScalar(key)) return undefined;
  const v = key.value;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return key.source ?? String(v);
  return undefined;
}

function segments(path: PathLink): (string | number)[] {
  const out: (string | number)[] = [];
  for (let p = path; p !== null; p = p.up) out.push(p.segment);
  return out.reverse();
}
