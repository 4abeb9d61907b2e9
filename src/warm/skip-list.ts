/**
 * Destinations the warmer never resolves: the operator's own domains (delivered locally, no
 * MTA-STS lookup ever happens for them) and destinations nobody wants looked up. Pure.
 *
 * An entry `example.org` matches that domain only; `.example.org` matches every subdomain of it
 * (and not `example.org` itself), as Postfix's `.domain` lookup-table keys do (TLS_README).
 */

export class SkipList {
  private readonly exact = new Set<string>();
  private readonly parents = new Set<string>();

  /** `entries` are already normalized: lower-case A-labels, optionally with one leading dot. */
  constructor(entries: readonly string[]) {
    for (const e of entries) {
      if (e.startsWith('.')) this.parents.add(e);
      else this.exact.add(e);
    }
  }

  get size(): number {
    return this.exact.size + this.parents.size;
  }

  /** Does the list cover `domain` (a lower-case A-label without final dot)? */
  matches(domain: string): boolean {
    if (this.exact.has(domain)) return true;
    // Walk the parents of `domain` rather than the list, so a long list costs nothing extra.
    if (this.parents.size === 0) return false;
    for (let dot = domain.indexOf('.'); dot >= 0; dot = domain.indexOf('.', dot + 1)) {
      if (this.parents.has(domain.slice(dot))) return true;
    }
    return false;
  }
}
