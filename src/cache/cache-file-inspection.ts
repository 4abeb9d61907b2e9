/**
 * What an existing SQLite cache file holds, as seen without changing it (`check-config`). The
 * adapter (adapters/cache/sqlite-inspect.ts) fills it in; the messages are here.
 */
export type CacheFileInspection =
  /** Our schema (`version`), or an empty database the daemon would initialise. */
  | { readonly kind: 'ours'; readonly version: number }
  | { readonly kind: 'empty' }
  /** The Python postfix-mta-sts-resolver's cache (table `sts_policy_cache`). */
  | { readonly kind: 'python'; readonly tables: readonly string[] }
  | { readonly kind: 'foreign'; readonly tables: readonly string[] }
  | { readonly kind: 'newer'; readonly version: number; readonly known: number }
  /** SQLite finds it damaged or no database: moved aside at start with `on_corrupt: move`. */
  | { readonly kind: 'damaged'; readonly message: string }
  | { readonly kind: 'unusable'; readonly message: string };

/** Why `serve` would refuse the file at `path`, with what to do; undefined when it would not. */
export function describeInspection(
  path: string,
  inspection: CacheFileInspection,
  onCorrupt: 'move' | 'refuse' = 'move',
): string | undefined {
  switch (inspection.kind) {
    case 'damaged':
      // With `move`, serve starts anyway (over a new file): nothing it would refuse.
      return onCorrupt === 'move' ? undefined : `${path}: ${inspection.message} (cache.options.on_corrupt: refuse)`;
    case 'ours':
    case 'empty':
      return undefined;
    case 'python':
      return (
        `${path} is the Python postfix-mta-sts-resolver's cache (table sts_policy_cache), which mta-sts-bridge does not read: ` +
        'set cache.options.filename to a new file (for example the default policy-cache.sqlite); policies are learned again ' +
        'as mail is sent, and the old file stays as it is for the Python tool'
      );
    case 'foreign':
      return `${path} is not an mta-sts-bridge cache: it holds the tables ${inspection.tables.join(', ')}; choose another filename`;
    case 'newer':
      return `${path} was written by a newer mta-sts-bridge (schema ${inspection.version}, this one knows ${inspection.known}); upgrade, or use another filename`;
    case 'unusable':
      return `${path}: ${inspection.message}`;
    default: {
      const _never: never = inspection;
      return String(_never);
    }
  }
}
