/**
 * The command-line parser: `-c FILE`, `-cFILE`, `--config FILE`, `--config=FILE`, flags, `--`
 * to end options. Node's own `util.parseArgs` reads the words (with `tokens`, so that what it
 * does not refuse itself is still seen); the rules it lacks are applied here: an option given
 * twice is refused (Node 20 silently keeps the last one, which would hide a mistake), bundled
 * flags (`-hv`) are refused (ambiguous with `-cFILE`), and every message names the option as
 * typed. Pure; returns a value, never throws or exits.
 */
import { parseArgs as parseWords } from 'node:util';

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
 * bundled flags, an option given twice.
 */
export function parseArgs(argv: readonly string[], specs: readonly OptionSpec[]): ParsedArgs {
  const declared: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const spec of specs) {
    declared[spec.name] = { type: spec.value ? 'string' : 'boolean', ...(spec.short !== undefined ? { short: spec.short } : {}) };
  }
  // Not strict: unknown options and missing values come back as tokens, to be named here.
  const { tokens } = parseWords({ args: [...argv], options: declared, strict: false, allowPositionals: true, tokens: true });
  const byName = new Map(specs.map((s) => [s.name, s]));
  const options = new Map<string, string | true>();
  const positionals: string[] = [];
  const optionWords = new Map<number, number>();
  for (const token of tokens) if (token.kind === 'option') optionWords.set(token.index, (optionWords.get(token.index) ?? 0) + 1);

  for (const token of tokens) {
    switch (token.kind) {
      case 'positional':
        positionals.push(token.value);
        break;
      case 'option-terminator':
        break;
      case 'option': {
        const shown = token.rawName;
        const spec = byName.get(token.name);
        if (spec === undefined) return { ok: false, message: `unknown option ${shown}` };
        if ((optionWords.get(token.index) ?? 0) > 1) {
          // Bundled flags (-ab) are not worth the ambiguity with -cFILE.
          return { ok: false, message: `option ${shown} takes no value (got ${JSON.stringify(argv[token.index])})` };
        }
        let value: string | true = true;
        if (spec.value) {
          if (token.value === undefined) return { ok: false, message: `option ${shown} needs a value` };
          value = token.value;
        } else if (token.value !== undefined) {
          return { ok: false, message: `option ${shown} takes no value` };
        }
        if (options.has(spec.name)) return { ok: false, message: `option ${shown} given more than once` };
        options.set(spec.name, value);
        break;
      }
      default: {
        const _never: never = token;
        return _never;
      }
    }
  }
  return { ok: true, options, positionals };
}

/** A string option's value, if given. */
export function stringOption(options: ReadonlyMap<string, string | true>, name: string): string | undefined {
  const v = options.get(name);
  return typeof v === 'string' ? v : undefined;
}
