/**
 * "Did you mean" hints for misspelt keys and values.
 */
import { SUGGESTION_MAX_DISTANCE } from './limits.js';

/**
 * Edit distance with adjacent transpositions (optimal string alignment), case-insensitive,
 * with '-' and '_' treated alike: `prot` ~ `port`, `reuse-port` ~ `reuse_port`.
 */
export function editDistance(a: string, b: string): number {
  const x = normalize(a);
  const y = normalize(b);
  const rows: number[][] = [Array.from({ length: y.length + 1 }, (_, j) => j)];
  for (let i = 1; i <= x.length; i++) {
    const row = [i];
    const prev = rows[i - 1] ?? [];
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      let d = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) d = Math.min(d, (rows[i - 2]?.[j - 2] ?? 0) + 1);
      row.push(d);
    }
    rows.push(row);
  }
  return rows[x.length]?.[y.length] ?? 0;
}

/** The closest candidate within reach, or undefined; ties go to the earlier candidate. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  // Short words are close to everything: allow at most a third of the word to differ.
  const reach = Math.min(SUGGESTION_MAX_DISTANCE, Math.max(1, Math.floor(word.length / 3)));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return bestDistance <= reach ? best : undefined;
}

/** ` (did you mean "x"?)` or '' — ready to append to a message. */
export function didYouMean(word: string, candidates: readonly string[]): string {
  const hit = closest(word, candidates);
  return hit === undefined ? '' : ` (did you mean "${hit}"?)`;
}

function normalize(s: string): string {
  return s.toLowerCase().replaceAll('-', '_');
}
