/**
 * conf-examples/grafana/mta-sts-bridge.json is built on the names /metrics exports: every metric
 * its PromQL uses is one the registry has, and every metric the daemon itself reports is shown.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PrometheusMetrics } from '../../../src/metrics/prometheus.js';

// Compiled to dist/test/unit/metrics/: the repository root is four levels up.
const DASHBOARD = fileURLToPath(new URL('../../../../conf-examples/grafana/mta-sts-bridge.json', import.meta.url));

/** PromQL words that are not metric names (functions, aggregations, keywords) used by the dashboard or likely to be. */
const PROMQL_WORDS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'count',
  'topk',
  'bottomk',
  'quantile',
  'stddev',
  'stdvar',
  'group',
  'rate',
  'irate',
  'increase',
  'delta',
  'idelta',
  'deriv',
  'histogram_quantile',
  'label_values',
  'label_replace',
  'avg_over_time',
  'max_over_time',
  'min_over_time',
  'sum_over_time',
  'count_over_time',
  'abs',
  'clamp_min',
  'clamp_max',
  'vector',
  'scalar',
  'time',
  'absent',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'bool',
  'offset',
]);

interface Panel {
  readonly type: string;
  readonly title?: string;
  readonly targets?: ReadonlyArray<{ readonly expr?: string }>;
  readonly panels?: readonly Panel[];
}

async function dashboard(): Promise<{
  panels: readonly Panel[];
  templating: { list: ReadonlyArray<{ query?: unknown; definition?: string }> };
}> {
  return JSON.parse(await readFile(DASHBOARD, 'utf8')) as never;
}

/** Every PromQL expression of the dashboard: panel targets and template variable queries. */
async function expressions(): Promise<string[]> {
  const d = await dashboard();
  const out: string[] = [];
  const walk = (panels: readonly Panel[]): void => {
    for (const p of panels) {
      for (const t of p.targets ?? []) if (t.expr !== undefined) out.push(t.expr);
      walk(p.panels ?? []);
    }
  };
  walk(d.panels);
  for (const v of d.templating.list) {
    if (typeof v.definition === 'string') out.push(v.definition);
    const q = v.query as { query?: unknown } | string | undefined;
    if (typeof q === 'string') out.push(q);
    else if (typeof q?.query === 'string') out.push(q.query);
  }
  return out;
}

/** Names a Prometheus server stores for what the registry exports (histogram series included). */
async function exportedNames(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const m of await new PrometheusMetrics().registry.getMetricsAsJSON()) {
    names.add(m.name);
    if (String(m.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(`${m.name}${s}`);
    if (String(m.type) === 'summary') for (const s of ['_sum', '_count']) names.add(`${m.name}${s}`);
  }
  return names;
}

/** The metric names `expr` uses: what is left once strings, matchers, ranges, groupings, variables and PromQL words are removed. */
export function metricNames(expr: string): string[] {
  const stripped = expr
    // Grafana's label_values(METRIC, LABEL): the label is no metric.
    .replace(/label_values\(([^,]*),\s*\w+\s*\)/g, 'label_values($1)')
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\{?\w+\}?/g, ' ');
  const words = stripped.match(/[A-Za-z_:][A-Za-z0-9_:]*/g) ?? [];
  return words.filter((w) => !PROMQL_WORDS.has(w) && !/^(e|inf|nan)$/i.test(w));
}

describe('Grafana dashboard', () => {
  it('parses, and uses only metric names the registry exports', async () => {
    const exported = await exportedNames();
    const exprs = await expressions();
    assert.ok(exprs.length >= 15, `found ${exprs.length} expressions`);
    for (const expr of exprs) {
      const used = metricNames(expr);
      assert.ok(used.length > 0, `no metric in ${expr}`);
      for (const name of used) assert.ok(exported.has(name), `${name} (in ${expr}) is not exported by /metrics`);
    }
  });

  it('shows every metric the daemon itself reports', async () => {
    const used = new Set((await expressions()).flatMap(metricNames).map((n) => n.replace(/_(bucket|sum|count)$/, '')));
    const own = (await new PrometheusMetrics({ defaultMetrics: false }).registry.getMetricsAsJSON()).map((m) => m.name);
    assert.ok(own.includes('mta_sts_bridge_lookups_total'));
    for (const name of own) assert.ok(used.has(name), `${name} is on no panel`);
  });

  it('the name check itself catches an unknown metric', () => {
    assert.deepEqual(metricNames('sum by (code) (rate(mta_sts_bridge_nope_total{instance=~"$instance"}[$__rate_interval]))'), [
      'mta_sts_bridge_nope_total',
    ]);
    assert.deepEqual(metricNames('histogram_quantile(0.95, sum by (le) (rate(a_bucket[5m]))) / b'), ['a_bucket', 'b']);
    assert.deepEqual(metricNames('label_values(x_total, instance)'), ['x_total']);
  });
});
