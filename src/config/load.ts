/**
 * Loading the configuration: YAML text → validated BridgeConfig, or every problem with its
 * dotted path and line. The only module that reads raw YAML; everything else gets BridgeConfig.
 */
import { LineCounter, parseDocument } from 'yaml';
import { buildDefaultConfig, deepFreeze } from './defaults.js';
import { indexDocument } from './document-index.js';
import { CONFIG_FILE_MAX_BYTES } from './limits.js';
import { expansionBudget, pathText, problemAt, resolveNode, type ReadContext } from './node-reader.js';
import { ConfigError, configErrorFromProblems, formatProblem, type ConfigLoadResult, type ConfigProblem } from './problems.js';
import { readConfigFile, tooLarge } from './read-file.js';
import type { BridgeConfig } from './types.js';
import { validateRoot } from './validate.js';

export { ConfigError, formatProblem, type ConfigLoadResult, type ConfigProblem } from './problems.js';

/**
 * Parses and validates config text. Never throws for bad input: problems come back as values,
 * sorted by line. Problems carry no file name: pass `fileName` to `formatProblem(s)` for output.
 * Text over CONFIG_FILE_MAX_BYTES is refused unparsed (ECONFIG_TOO_LARGE). The work is linear in
 * the text's size: see document-index.ts and the alias budget in node-reader.ts.
 */
export function parseConfigText(text: string, fileName: string): ConfigLoadResult {
  void fileName; // part of the agreed signature; see the TSDoc above
  // UTF-16 code units never outnumber UTF-8 bytes, so short text skips the byte count.
  if (text.length > CONFIG_FILE_MAX_BYTES / 3 && Buffer.byteLength(text, 'utf8') > CONFIG_FILE_MAX_BYTES) {
    return { ok: false, problems: [tooLarge(`the text is ${Buffer.byteLength(text, 'utf8')} bytes`)] };
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter: lines,
    keepSourceTokens: true,
    prettyErrors: false,
    // The library compares each key with every earlier one (quadratic); indexDocument uses a set.
    uniqueKeys: false,
    // PyYAML (the Python tool's loader) honours `<<: *anchor`; so do we.
    merge: true,
  });
  const index = indexDocument(doc);
  const ctx: ReadContext = { aliasTargets: index.aliasTargets, lines, problems: [], warnings: [], expansion: expansionBudget() };

  for (const repeated of index.repeatedKeys) {
    const path = repeated.key === undefined ? pathText(repeated.parent) : pathText([...repeated.parent, repeated.key]);
    const message = repeated.key === undefined ? 'a key appears twice in the same mapping' : `"${repeated.key}" appears twice in the same mapping; keep one`;
    ctx.problems.push(problemAt(ctx, 'ECONFIG_DUPLICATE_KEY', path, repeated.keyNode, message));
  }
  let syntaxBroken = false;
  for (const e of doc.errors) {
    syntaxBroken = true;
    ctx.problems.push(locate(lines, 'ECONFIG_SYNTAX', '', e.pos[0], yamlMessage(e.message) + syntaxHint(text, lines, e.pos[0])));
  }
  for (const w of doc.warnings) ctx.warnings.push(locate(lines, 'ECONFIG_YAML_WARNING', '', w.pos[0], yamlMessage(w.message)));
  // A tree with syntax errors in it would only produce confusing follow-up problems.
  if (syntaxBroken) return { ok: false, problems: byLine(ctx.problems) };

  const config = validateRoot(ctx, resolveNode(ctx, doc.contents));
  if (ctx.problems.length > 0) return { ok: false, problems: byLine(ctx.problems) };
  return { ok: true, config: deepFreeze(config), warnings: byLine(ctx.warnings) };
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

/** The embedded defaults (`serve` without `-c`): one socketmap listener on 127.0.0.1:8461. */
export function defaultConfig(): BridgeConfig {
  return buildDefaultConfig();
}

/** Problems of a failed `parseConfigText`, one per line, for CLI output. */
export function formatProblems(fileName: string, problems: readonly ConfigProblem[]): string {
  return problems.map((p) => formatProblem(fileName, p)).join('\n');
}

function locate(lines: LineCounter, code: ConfigProblem['code'], path: string, offset: number, message: string): ConfigProblem {
  const problem = problemAt({ lines }, code, path, null, message);
  const pos = lines.linePos(offset);
  problem.line = pos.line;
  problem.column = pos.col;
  return problem;
}

// yaml's messages end with "at line N, column M" when prettyErrors is on; keep them short either way.
function yamlMessage(message: string): string {
  return message.replace(/ at line \d+, column \d+:?[\s\S]*$/, '');
}

// An unquoted `[::1]:8461` starts a YAML flow list; say so, since the parser's words do not.
function syntaxHint(text: string, lines: LineCounter, offset: number): string {
  const line = lines.linePos(offset).line;
  const start = lines.lineStarts[line - 1] ?? 0;
  const end = lines.lineStarts[line] ?? text.length;
  return /:\s*\[[0-9A-Fa-f:.%]*\]:/.test(text.slice(start, end)) ? ' (quote IPv6 addresses: "[::1]:8461")' : '';
}

function byLine(problems: ConfigProblem[]): ConfigProblem[] {
  return problems
    .map((p, i) => ({ p, i }))
    .sort((a, b) => (a.p.line ?? 0) - (b.p.line ?? 0) || (a.p.column ?? 0) - (b.p.column ?? 0) || a.i - b.i)
    .map(({ p }) => p);
}
