/**
 * The Grafana dashboard and the Prometheus rules use only metrics that the gateway's /metrics
 * exposes: a real gateway (cache, an authority, two registries) is started and scraped, and
 * every metric name in every dashboard query and rule expression must be one of its families'
 * sample names (`_bucket`, `_sum` and `_count` for a histogram), or Prometheus's own `up`.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { parse } from 'yaml';
import { tempDir } from '../../helpers/cli-process.js';
import { startGateway } from '../helpers/gateway.js';

const read = (path: string): string => readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8');

/** Series Prometheus itself writes for every target. */
const PROMETHEUS_OWN = new Set(['up']);

/** PromQL's aggregations, functions and keywords that these expressions use, and Grafana's label_values(). */
const NOT_METRICS = new Set(
  'sum max min avg count rate increase irate histogram_quantile time abs clamp_min clamp_max by without on ignoring group_left group_right and or unless bool offset label_values'.split(
    ' ',
  ),
);

/** The metric names in one PromQL expression: what is left once strings, label lists, selectors, ranges and keywords are gone. */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\$[A-Za-z_]\w*/g, ' ');
  return [...bare.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)].map((m) => m[0]).filter((name) => !NOT_METRICS.has(name));
}

/** The names samples of /metrics can have: per `# TYPE`, with a histogram's and a summary's suffixes. */
function exposedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name!);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name! + suffix);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(name! + suffix);
  }
  for (const [, name] of text.matchAll(/^([A-Za-z_:][A-Za-z0-9_:]*)[{ ]/gm)) names.add(name!);
  return names;
}

interface Panel {
  readonly title?: string;
  readonly targets?: readonly { readonly expr?: string }[];
  readonly panels?: readonly Panel[];
}

function dashboardExpressions(): { where: string; expr: string }[] {
  const dashboard = JSON.parse(read('deploy/grafana/mirrorgate.json')) as {
    panels: Panel[];
    templating: { list: { name: string; query?: string | { query: string } }[] };
  };
  const found: { where: string; expr: string }[] = [];
  const walk = (panels: readonly Panel[]): void => {
    for (const panel of panels) {
      for (const target of panel.targets ?? []) if (target.expr !== undefined) found.push({ where: `panel "${panel.title}"`, expr: target.expr });
      walk(panel.panels ?? []);
    }
  };
  walk(dashboard.panels);
  for (const variable of dashboard.templating.list) {
    const query = typeof variable.query === 'object' ? variable.query.query : undefined;
    if (query !== undefined) found.push({ where: `variable $${variable.name}`, expr: query });
  }
  return found;
}

function ruleExpressions(): { where: string; expr: string }[] {
  const rules = parse(read('deploy/prometheus/alerts.yaml')) as { groups: { rules: { alert?: string; record?: string; expr: string }[] }[] };
  return rules.groups.flatMap((group) => group.rules.map((rule) => ({ where: `rule ${rule.alert ?? rule.record}`, expr: rule.expr })));
}

t.test('metricNames() finds the metrics of an expression and nothing else', async (t) => {
  t.same(metricNames('sum by (registry, le) (rate(foo_bucket{job=~"$job", code=~"5.."}[$__rate_interval])) / ignoring(upstream) group_left bar > 0.05'), [
    'foo_bucket',
    'bar',
  ]);
  t.same(metricNames('label_values(mirrorgate_build_info{job=~"$job"}, instance)'), ['mirrorgate_build_info', 'instance']);
});

t.test('every metric the dashboard and the rules use is exposed by /metrics', async (t) => {
  const dir = await tempDir(t);
  const gw = await startGateway(
    [
      'upstreams: [{ name: a, url: "http://127.0.0.1:9" }]',
      'authority: { name: tags, url: "http://127.0.0.1:9" }',
      'registries:',
      '  ghcr.io: { upstreams: [{ name: ghcr, url: "http://127.0.0.1:9" }] }',
      `cache: { dir: "${dir}/cache" }`,
    ].join('\n') + '\n',
  );
  t.teardown(() => gw.close());
  const exposed = exposedNames(await (await fetch(`${gw.url}/metrics`)).text());
  t.ok(exposed.has('mirrorgate_upstream_duration_seconds_bucket'), 'a histogram brings its _bucket name');

  const expressions = [...dashboardExpressions(), ...ruleExpressions()];
  t.ok(expressions.length >= 30, `${expressions.length} expressions read`);
  const used = new Set<string>();
  for (const { where, expr } of expressions) {
    // label_values(metric, label): its second argument is a label.
    const names = expr.startsWith('label_values(') ? metricNames(expr).slice(0, 1) : metricNames(expr);
    t.ok(names.length > 0, `${where} uses a metric`);
    for (const name of names) {
      used.add(name);
      if (!exposed.has(name) && !PROMETHEUS_OWN.has(name)) t.fail(`${where}: ${name} is not exposed by /metrics`, { expr });
    }
  }
  t.ok(used.size >= 15, `${used.size} distinct metrics used`);
});
