/**
 * docs/metrics.md cannot drift from /metrics: every family the exposition
 * declares (`# TYPE name type`) has a row with that type, every mirrorgate_*
 * row is a family that exists, and a mirrorgate_* row lists exactly the
 * labels its samples carry. The Metrics object is the real one, with every
 * recording method called once so each family has samples.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { tableRows } from '../../helpers/markdown-tables.js';
import { createMetrics, type Metrics } from '../../../src/observability/metrics.js';

const DOC = 'docs/metrics.md';

interface Row {
  readonly type: string;
  readonly labels: readonly string[];
  readonly line: number;
}

/** The rows of every `| metric | type | labels | meaning |` table, by metric name. */
function documentedMetrics(markdown: string): Map<string, Row> {
  const rows = new Map<string, Row>();
  for (const { cells, line } of tableRows(markdown, ['metric', 'type', 'labels', 'meaning'])) {
    const name = /^`([a-z_:][a-z0-9_:]*)`$/.exec(cells[0]!)?.[1];
    if (name === undefined) throw new Error(`${DOC}:${line}: the metric cell must be one \`name\`, got ${cells[0]}`);
    if (rows.has(name)) throw new Error(`${DOC}:${line}: ${name} is documented twice`);
    const labels = [...(cells[2] ?? '').matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!);
    rows.set(name, { type: cells[1] ?? '', labels, line });
  }
  return rows;
}

/** Calls every recording method, so that no family is left without samples. */
function exercise(metrics: Metrics): void {
  metrics.requestCompleted('docker.io', 'hub', 'GET', 'manifest', 200);
  metrics.requestDuration('docker.io', 'manifest', 0.05);
  metrics.upstreamDeclared('docker.io', 'hub', ['connect']);
  metrics.authorityDeclared('docker.io');
  metrics.upstreamHeaders('docker.io', 'hub', 0.02);
  metrics.responseBytes('docker.io', 'hub', 512);
  metrics.upstreamSelected('docker.io', 'hub');
  metrics.failover('docker.io', 'hub', 'connect');
  metrics.breakerState('docker.io', 'hub', 0);
  metrics.upstreamWeight('docker.io', 'hub', 1);
  metrics.upstreamQuarantined('docker.io', 'hub', false);
  metrics.upstreamHealthy('docker.io', 'hub', true);
  metrics.watchWeights(() => [{ registry: 'docker.io', upstream: 'hub', weight: 1, latencySeconds: 0.05, throughputBytesPerSecond: 1e7 }]);
  metrics.hedge('docker.io', true);
  metrics.inflight(1);
  metrics.configReload('success');
  metrics.cacheRequest('hit', 1024);
  metrics.cacheFill('committed', 1024);
  metrics.cacheEvicted(1, 1024);
  metrics.cacheDiskFailure('ENOSPC');
  metrics.tagResolution('docker.io', 'resolved');
  metrics.cachePieces({ hub: 1024 }, 1, 1024 * 1024);
  metrics.watchCache(() => ({ bytes: 1024, maxBytes: 4096, blobs: 1, fillsInFlight: 0, relayOnly: false }));
  metrics.prefetchImage('ok', 1024, 512);
  metrics.prefetchRun('success', 1_700_000_000);
  metrics.accessDenied('no_credentials');
  metrics.tlsConnection('h2');
  metrics.tlsReload('success');
  metrics.tlsCertificateExpiry('0.0.0.0:443', 1_800_000_000);
}

interface Family {
  readonly type: string;
  readonly labels: Set<string>;
}

/** `# TYPE` lines give the families; sample lines (`name_bucket{...}` for histograms) their labels. */
function exposedFamilies(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type !== null) families.set(type[1]!, { type: type[2]!, labels: new Set() });
  }
  for (const line of text.split('\n')) {
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? /.exec(line);
    if (sample === null) continue;
    const name = sample[1]!;
    const family = families.get(name) ?? families.get(name.replace(/_(bucket|sum|count)$/, ''));
    for (const m of (sample[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) if (m[1] !== 'le') family?.labels.add(m[1]!);
  }
  return families;
}

const documented = documentedMetrics(readFileSync(new URL(`../../../${DOC}`, import.meta.url), 'utf8'));

t.test('every family /metrics exposes is documented with its type', async (t) => {
  const metrics = createMetrics();
  exercise(metrics);
  const exposed = exposedFamilies(await metrics.render());
  t.ok(exposed.size >= 9, `${exposed.size} families exposed`);
  t.same(
    [...exposed.keys()].filter((name) => !documented.has(name)),
    [],
    `exposed by /metrics, missing from ${DOC}`,
  );
  for (const [name, family] of exposed) {
    const row = documented.get(name);
    if (row !== undefined) t.equal(row.type, family.type, `${DOC}:${row.line} ${name}: type`);
  }
  const stale = [...documented.keys()].filter((name) => name.startsWith('mirrorgate_') && !exposed.has(name));
  t.same(stale, [], `documented in ${DOC}, not exposed by /metrics`);
});

t.test("every mirrorgate metric's labels are documented, and no others", async (t) => {
  const metrics = createMetrics();
  exercise(metrics);
  const exposed = exposedFamilies(await metrics.render());
  for (const [name, family] of exposed) {
    const row = documented.get(name);
    if (!name.startsWith('mirrorgate_') || row === undefined) continue;
    t.same([...row.labels].sort(), [...family.labels].sort(), `${DOC}:${row.line} ${name}: labels`);
  }
});
