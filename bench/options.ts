/**
 * `npm run bench`'s command line (bench/run.ts), apart so that it can be tested without running
 * the bench: test/unit/bench/options.test.ts.
 */
import { resolve } from 'node:path';

/** `glibc`: the bridge again on glibc's malloc, where its launcher picks jemalloc (MTA_STS_BRIDGE_MALLOC=system). */
export type Target = 'ceiling' | 'bridge' | 'glibc' | 'python';
export const TARGETS: readonly Target[] = ['ceiling', 'bridge', 'glibc', 'python'];

export interface Options {
  quick: boolean;
  only: Set<Target>;
  seconds: number;
  inside: string | undefined;
  /** Directory for `node --cpu-prof` profiles of the bridge's warm-path and storm runs. */
  cpuProf: string | undefined;
}

export const USAGE = 'usage: run.js [--quick] [--only ceiling,bridge,glibc,python] [--seconds N] [--cpu-prof DIR]';

/** The options, or an Error whose message says what is wrong (the caller prints it with USAGE). */
export function parseOptions(argv: readonly string[]): Options | Error {
  const o: Options = {
    quick: false,
    only: new Set(TARGETS),
    seconds: 0,
    inside: undefined,
    cpuProf: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') o.quick = true;
    else if (a === '--only') {
      const names = (argv[++i] ?? '').split(',').filter(Boolean);
      const unknown = names.filter((n) => !(TARGETS as readonly string[]).includes(n));
      if (names.length === 0 || unknown.length > 0)
        return new Error(`--only takes targets among ${TARGETS.join(',')}; found "${argv[i] ?? ''}"`);
      o.only = new Set(names as Target[]);
    } else if (a === '--seconds') o.seconds = Number(argv[++i]);
    else if (a === '--inside') o.inside = argv[++i];
    else if (a === '--cpu-prof') o.cpuProf = resolve(argv[++i] ?? '.');
    else return new Error(`unknown option ${String(a)}`);
  }
  // glibc's figures are printed beside the bridge's (in parentheses in the summary, its start
  // RSS after the bridge's starts): without the bridge they would have nothing to stand beside.
  if (o.only.has('glibc') && !o.only.has('bridge'))
    return new Error(
      "--only glibc needs bridge as well: glibc is the bridge again on glibc's malloc, measured beside it (--only bridge,glibc)",
    );
  if (o.seconds <= 0 || !Number.isFinite(o.seconds)) o.seconds = o.quick ? 3 : 8;
  return o;
}
