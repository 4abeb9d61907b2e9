/**
 * Loading the configuration: YAML text → validated BridgeConfig, or every problem with its
 * dotted path and line. The rules are declared in schema.ts; yaml-source.ts reads the YAML.
 */
import { ConfigError, configErrorFromProblems, type ConfigLoadResult, type ConfigProblem } from './problems.js';
import { readConfigFile, tooLarge } from './read-file.js';
import { deepFreeze } from './defaults.js';
import { buildConfig, CONFIG_FILE_MAX_BYTES } from './schema.js';
import type { BridgeConfig } from './types.js';
import { readYaml } from './yaml-source.js';

export { ConfigError, formatProblem, type ConfigLoadResult, type ConfigProblem } from './problems.js';
/** The embedded defaults (`serve` without `-c`): one socketmap listener on 127.0.0.1:8461. */
export { buildDefaultConfig as defaultConfig } from './defaults.js';

/**
 * Parses and validates config text. Never throws for bad input: problems come back as values,
 * sorted by line. Problems carry no file name: pass `fileName` to `formatProblem(s)` for output.
 * Text over CONFIG_FILE_MAX_BYTES is refused unparsed (ECONFIG_TOO_LARGE). The work is linear in
 * the text's size: see `indexDocument` and the alias budget in yaml-source.ts.
 */
export function parseConfigText(text: string, fileName: string): ConfigLoadResult {
  void fileName; // part of the agreed signature; see the TSDoc above
  // UTF-16 code units never outnumber UTF-8 bytes, so short text skips the byte count.
  if (text.length > CONFIG_FILE_MAX_BYTES / 3 && Buffer.byteLength(text, 'utf8') > CONFIG_FILE_MAX_BYTES) {
    return { ok: false, problems: [tooLarge(`the text is ${Buffer.byteLength(text, 'utf8')} bytes`)] };
  }
  const source = readYaml(text);
  // A tree with syntax errors in it would only produce confusing follow-up problems.
  if (source.problems.some((p) => p.code === 'ECONFIG_SYNTAX')) return { ok: false, problems: byLine(source.problems) };
  const built = buildConfig(source.value);
  const problems = [...source.problems, ...built.problems.map(source.locate)];
  if (problems.length > 0 || built.config === undefined) return { ok: false, problems: byLine(problems) };
  return { ok: true, config: deepFreeze(built.config), warnings: byLine([...source.warnings, ...built.warnings.map(source.locate)]) };
}

/**
 * Reads and validates a config file. Throws a ConfigError (a BridgeError with `problems`):
 * ECONFIG_READ when the file cannot be read, ECONFIG_SYNTAX for broken YAML, ECONFIG_UNSUPPORTED
 * when the only problems are features not implemented yet, ECONFIG_INVALID otherwise.
 * Warnings are dropped here; use `parseConfigText` to see them.
 */
export async function loadConfigFile(path: string): Promise<BridgeConfig> {
  const result = await loadConfigFileWithWarnings(path);
  return result.config;
}

/** Like `loadConfigFile`, also returning the warnings (ignored keys) for the caller to log. */
export async function loadConfigFileWithWarnings(path: string): Promise<{ config: BridgeConfig; warnings: ConfigProblem[] }> {
  const read = await readConfigFile(path);
  if (!read.ok) {
    // A file refused for its size was not read either: ECONFIG_READ, with the ECONFIG_TOO_LARGE problem inside.
    const options = read.cause === undefined ? {} : { cause: read.cause };
    throw new ConfigError('ECONFIG_READ', `${path}: ${read.problem.message}`, [read.problem], options);
  }
  const result = parseConfigText(read.text, path);
  if (!result.ok) throw configErrorFromProblems(path, result.problems);
  return { config: result.config, warnings: result.warnings };
}

function byLine(problems: ConfigProblem[]): ConfigProblem[] {
  return problems
    .map((p, i) => ({ p, i }))
    .sort((a, b) => (a.p.line ?? 0) - (b.p.line ?? 0) || (a.p.column ?? 0) - (b.p.column ?? 0) || a.i - b.i)
    .map(({ p }) => p);
}
