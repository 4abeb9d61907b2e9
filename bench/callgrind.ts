/**
 * Reading `callgrind_annotate` output (valgrind's callgrind tool): the program's total of executed
 * instructions (Ir) and each function's own share. Pure; bench/instructions.ts runs valgrind.
 */

/** Instructions executed, in all and per function (self cost). */
export interface CallgrindCounts {
  readonly total: number;
  /** By function name; JIT-compiled JavaScript (no symbol) counted together as `(JIT code)`. */
  readonly functions: ReadonlyMap<string, number>;
}

/** The name under which code without a symbol (V8's generated code) is counted. */
export const JIT_CODE = '(JIT code)';

const LINE = /^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.+)$/;

/**
 * Parse `callgrind_annotate --threshold=100 FILE`: the `PROGRAM TOTALS` line, then one line per
 * function (`  1,234 ( 0.56%)  file:function [object]`). Throws when there is no total (not
 * callgrind_annotate output, or an empty profile).
 */
export function parseCallgrindAnnotate(text: string): CallgrindCounts {
  let total: number | undefined;
  const functions = new Map<string, number>();
  let inFunctions = false;
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (m === null) {
      if (/file:function/.test(line)) inFunctions = true;
      continue;
    }
    const n = Number((m[1] as string).replace(/,/g, ''));
    const what = (m[2] as string).trim();
    if (what.startsWith('PROGRAM TOTALS')) {
      total = n;
      continue;
    }
    if (!inFunctions) continue;
    const name = functionName(what);
    functions.set(name, (functions.get(name) ?? 0) + n);
  }
  if (total === undefined) throw new Error('no PROGRAM TOTALS in callgrind_annotate output');
  return { total, functions };
}

/**
 * The short name of `file:function [object]`: code without a symbol in no object (`???:0x… [???]`,
 * V8's generated code) → JIT_CODE; code without a symbol in a library → `(unknown in lib.so)`;
 * otherwise the function without its file, its C++ parameters and `(anonymous namespace)::`.
 */
function functionName(what: string): string {
  const obj = /\s+\[([^\]]*)\]$/.exec(what);
  const bare = obj === null ? what : what.slice(0, obj.index);
  const object = obj?.[1] ?? '';
  if (/^\?\?\?:0x[0-9a-f]+$/i.test(bare)) {
    return object === '???' || object === '' ? JIT_CODE : `(unknown in ${object.slice(object.lastIndexOf('/') + 1)})`;
  }
  // The file ends at the first colon that is not part of a C++ `::`.
  let sep = -1;
  for (let i = 0; i < bare.length; i++) {
    if (bare[i] === ':' && bare[i + 1] !== ':' && bare[i - 1] !== ':') {
      sep = i;
      break;
    }
  }
  const fn = (sep >= 0 ? bare.slice(sep + 1) : bare).replace(/\(anonymous namespace\)::/g, '');
  // C++ signatures: drop the parameter list (the name alone is what a reader compares).
  const searchFrom = fn.includes('operator()') ? fn.indexOf('operator()') + 'operator()'.length : 0;
  const paren = fn.indexOf('(', searchFrom);
  return (paren > 0 ? fn.slice(0, paren) : fn).trim();
}

/** Per-request differences `a − b` of two profiles, largest first by absolute size. */
export function perRequestDiff(
  a: CallgrindCounts,
  aRequests: number,
  b: CallgrindCounts,
  bRequests: number,
): Array<{ readonly name: string; readonly a: number; readonly b: number; readonly diff: number }> {
  const names = new Set([...a.functions.keys(), ...b.functions.keys()]);
  return [...names]
    .map((name) => {
      const x = (a.functions.get(name) ?? 0) / aRequests;
      const y = (b.functions.get(name) ?? 0) / bRequests;
      return { name, a: x, b: y, diff: x - y };
    })
    .sort((p, q) => Math.abs(q.diff) - Math.abs(p.diff) || (p.name < q.name ? -1 : 1));
}
