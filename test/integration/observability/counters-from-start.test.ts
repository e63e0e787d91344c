/**
 * A fresh gateway's /metrics already has every counter whose label sets are known at start, at
 * zero, so dashboards and alerts see 0 instead of a gap (issue 12 §4): per configured upstream,
 * per authority registry, per result value. And it says what it is (mirrorgate_build_info).
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { hasSeries, metricSum } from '../../helpers/metrics-text.js';
import { startGateway } from '../helpers/gateway.js';
import { tempDir } from '../../helpers/cli-process.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

t.test('a gateway that has served nothing exports its counters at 0', async (t) => {
  const dir = await tempDir(t);
  const gw = await startGateway(
    [
      'upstreams:',
      '  - { name: hub-a, url: "http://127.0.0.1:9" }',
      '  - { name: hub-b, url: "http://127.0.0.1:9", weight: 2 }',
      'authority: { name: hub-tags, url: "http://127.0.0.1:9" }',
      'registries:',
      '  ghcr.io:',
      '    upstreams: [{ name: ghcr, url: "http://127.0.0.1:9" }]',
      `cache: { dir: "${dir}/cache" }`,
    ].join('\n') + '\n',
  );
  t.teardown(() => gw.close());
  const text = await (await fetch(`${gw.url}/metrics`)).text();

  const zero = (name: string, labels: Record<string, string>): void => {
    t.ok(hasSeries(text, name, labels), `${name} ${JSON.stringify(labels)} is exported`);
    t.equal(metricSum(text, name, labels), 0, `${name} ${JSON.stringify(labels)} is 0`);
  };
  for (const result of ['success', 'error']) zero('mirrorgate_config_reload_total', { result });
  for (const [registry, upstream] of [
    ['docker.io', 'hub-a'],
    ['docker.io', 'hub-b'],
    ['ghcr.io', 'ghcr'],
  ] as const) {
    zero('mirrorgate_response_bytes_total', { registry, upstream });
    zero('mirrorgate_upstream_selected_total', { registry, upstream });
    for (const reason of ['connect', 'timeout', 'digest', '5xx', 'ratelimit', 'breaker_open'])
      zero('mirrorgate_failovers_total', { registry, upstream, reason });
    zero('mirrorgate_cache_piece_bytes_total', { upstream });
  }
  for (const result of ['resolved', 'not_found', 'failed']) zero('mirrorgate_tag_resolutions_total', { registry: 'docker.io', result });
  t.notOk(hasSeries(text, 'mirrorgate_tag_resolutions_total', { registry: 'ghcr.io' }), 'a registry without an authority resolves no tags there');
  for (const result of ['hit', 'miss', 'joined', 'stale', 'negative', 'bypass']) {
    zero('mirrorgate_cache_requests_total', { result });
    zero('mirrorgate_cache_served_bytes_total', { result });
  }
  for (const result of ['committed', 'failed']) zero('mirrorgate_cache_fills_total', { result });
  for (const result of ['success', 'error']) zero('mirrorgate_prefetch_runs_total', { result });
  for (const result of ['ok', 'error']) zero('mirrorgate_prefetch_images_total', { result });
  for (const source of ['upstream', 'cache']) zero('mirrorgate_prefetch_bytes_total', { source });
  zero('mirrorgate_cache_upstream_bytes_total', {});

  t.equal(metricSum(text, 'mirrorgate_build_info', { version: VERSION, node: process.versions.node }), 1, 'build_info names this version and Node.js');
});

t.test('a reload counts on the series that were already there', async (t) => {
  const gw = await startGateway('upstreams: [{ name: a, url: "http://127.0.0.1:9" }]\ncache: false\n');
  t.teardown(() => gw.close());
  t.ok(await gw.app.reload());
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  t.equal(metricSum(text, 'mirrorgate_config_reload_total', { result: 'success' }), 1);
  t.ok(hasSeries(text, 'mirrorgate_config_reload_total', { result: 'error' }), 'the error series stays, at 0');
});
