/**
 * A small command-line parser: `-c FILE`, `-cFILE`, `--config FILE`, `--config=FILE`, flags,
 * `--` to end options. Pure; returns a value, never throws or exits.
 */

/** One option a subcommand accepts. */
export interface OptionSpec {
  /** Long name without dashes: `config`. Parsed values are keyed by it. */
  readonly name: string;
  /** One letter without the dash: `c`. */
  readonly short?: string;
  /** Takes a value (`-c FILE`) or is a flag (`--json`). */
  readonly value: boolean;
}

export type ParsedArgs =
  | {
      readonly ok: true;
      /** Option values by long name; `true` for a flag. */
      readonly options: ReadonlyMap<string, string | true>;
      readonly positionals: readonly string[];
    }
  | { readonly ok: false; readonly message: string };

/**
 * Parse `argv` against `specs`. Errors: unknown option, missing value, value given to a flag,
 * an option given twice (silently keeping one of two `-c` would hide a mistake).
 */
export function parseArgs(argv: readonly string[], specs: readonly OptionSpec[]): ParsedArgs {
  const options = new Map<string, string | true>();
  const positionals: string[] = [];
  const byLong = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short !== undefined).map((s) => [s.short as string, s]));

  const set = (spec: OptionSpec, value: string | true, shown: string): string | undefined => {
    if (options.has(spec.name)) return `option ${shown} given more than once`;
    options.set(spec.name, value);
    return undefined;
  };

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      const spec = byLong.get(name);
      if (spec === undefined) return { ok: false, message: `unknown option --${name}` };
      let value: string | true = true;
      if (spec.value) {
        if (eq >= 0) value = arg.slice(eq + 1);
        else {
          const next = argv[i + 1];
          if (next === undefined) return { ok: false, message: `option --${name} needs a value` };
          value = next;
          i++;
        }
      } else if (eq >= 0) {
        return { ok: false, message: `option --${name} takes no value` };
      }
      const err = set(spec, value, `--${name}`);
      if (err !== undefined) return { ok: false, message: err };
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      const letter = arg.slice(1, 2);
      const spec = byShort.get(letter);
      if (spec === undefined) return { ok: false, message: `unknown option -${letter}` };
      let value: string | true = true;
      if (spec.value) {
        if (arg.length > 2) value = arg.slice(2);
        else {
          const next = argv[i + 1];
          if (next === undefined) return { ok: false, message: `option -${letter} needs a value` };
          value = next;
          i++;
        }
      } else if (arg.length > 2) {
        // Bundled flags (-ab) are not worth the ambiguity with -cFILE.
        return { ok: false, message: `option -${letter} takes no value (got ${JSON.stringify(arg)})` };
      }
      const err = set(spec, value, `-${letter}`);
      if (err !== undefined) return { ok: false, message: err };
      continue;
    }
    positionals.push(arg);
  }
  return { ok: true, options, positionals };
}

/** A string option's value, if given. */
export function stringOption(options: ReadonlyMap<string, string | true>, name: string): string | undefined {
  const v = options.get(name);
  return typeof v === 'string' ? v : undefined;
}
