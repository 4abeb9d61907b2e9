/**
 * "Did you mean" hints for misspelt keys and values.
 */

/** Edit distance at or under which an unknown word gets a "did you mean" hint. */
export const SUGGESTION_MAX_DISTANCE = 3;

/**
 * Edit distance with adjacent transpositions (optimal string alignment), case-insensitive, with
 * '-' and '_' treated alike (`prot` ~ `port`, `reuse-port` ~ `reuse_port`), when it is at most
 * `max`, else `max + 1`, in O(length × max) time: only the cells within `max` of the diagonal are
 * computed (a path outside the band costs more than `max`), so a long word costs no quadratic work.
 */
export function editDistanceWithin(a: string, b: string, max: number): number {
  return bandedDistance(normalize(a), normalize(b), max);
}

function bandedDistance(x: string, y: string, max: number): number {
  const over = max + 1;
  if (Math.abs(x.length - y.length) > max) return over;
  // Three rolling rows; cells outside the band read as `over`.
  let before = new Array<number>(y.length + 2).fill(over);
  let prev = new Array<number>(y.length + 2).fill(over);
  let row = new Array<number>(y.length + 2).fill(over);
  for (let j = 0; j <= Math.min(y.length, max); j++) prev[j] = j;
  for (let i = 1; i <= x.length; i++) {
    const lo = Math.max(1, i - max);
    const hi = Math.min(y.length, i + max);
    row[lo - 1] = lo - 1 === 0 && i <= max ? i : over;
    let best = row[lo - 1] ?? over;
    for (let j = lo; j <= hi; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      let d = Math.min((prev[j] ?? over) + 1, (row[j - 1] ?? over) + 1, (prev[j - 1] ?? over) + cost);
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) d = Math.min(d, (before[j - 2] ?? over) + 1);
      row[j] = Math.min(d, over);
      best = Math.min(best, row[j] ?? over);
    }
    if (hi + 1 <= y.length) row[hi + 1] = over;
    if (best > max) return over;
    [before, prev, row] = [prev, row, before];
  }
  return Math.min(prev[y.length] ?? over, over);
}

/** The closest candidate within reach, or undefined; ties go to the earlier candidate. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  // Short words are close to everything: allow at most a third of the word to differ.
  const reach = Math.min(SUGGESTION_MAX_DISTANCE, Math.max(1, Math.floor(word.length / 3)));
  const x = normalize(word);
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = bandedDistance(x, normalize(c), reach);
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
