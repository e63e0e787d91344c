import t from 'tap';
import { createMetrics } from '../../../src/observability/metrics.js';

t.test('the upstream duration histogram renders like a prom-client histogram', async (t) => {
  const metrics = createMetrics();
  metrics.upstreamHeaders('docker.io', 'hub', 0.003);
  metrics.upstreamHeaders('docker.io', 'hub', 0.2);
  metrics.upstreamHeaders('docker.io', 'hub', 99);
  metrics.upstreamHeaders('ghcr.io', 'ghcr', 0.01);
  const text = await metrics.render();
  const lines = text.split('\n').filter((line) => line.startsWith('mirrorgate_upstream_duration_seconds'));
  t.same(
    lines.filter((line) => line.includes('upstream="hub"')),
    [
      'mirrorgate_upstream_duration_seconds_bucket{registry="docker.io",upstream="hub",le="0.005"} 1',
      'mirrorgate_upstream_duration_seconds_bucket{registry="docker.io",upstream="hub",le="0.01"} 1',
      'mirrorgate_upstream_duration_seconds_bucket{registry="docker.io",upstream="hub",le="0.025"} 1',
      'mirrorgate_upstream_duration_seconds_bucket{registry="docker.io",upstream="hub",le="0.05"} 1',
      'mirrorgate_upstream_duration_seconds_bucket{registry="docker.io",upstream="hub",le="0.1"} 1',
      'mirrorgate_upstream_duration_seconds_bucket{registry="docker.io",upstream="hub",le="0.25"} 2',
      'mirrorgate_upstream_duration_seconds_bucket{registry="docker.io",upstream="hub",le="0.5"} 2',
      'mirrorgate_upstream_duration_seconds_bucket{registry="docker.io",upstream="hub",le="1"} 2',
      'mirrorgate_upstream_duration_seconds_bucket{registry="docker.io",upstream="hub",le="2.5"} 2',
      'mirrorgate_upstream_duration_seconds_bucket{registry="docker.io",upstream="hub",le="5"} 2',
      'mirrorgate_upstream_duration_seconds_bucket{registry="docker.io",upstream="hub",le="10"} 2',
      'mirrorgate_upstream_duration_seconds_bucket{registry="docker.io",upstream="hub",le="30"} 2',
      'mirrorgate_upstream_duration_seconds_bucket{registry="docker.io",upstream="hub",le="+Inf"} 3',
      'mirrorgate_upstream_duration_seconds_sum{registry="docker.io",upstream="hub"} 99.203',
      'mirrorgate_upstream_duration_seconds_count{registry="docker.io",upstream="hub"} 3',
    ],
  );
  t.ok(text.includes('# TYPE mirrorgate_upstream_duration_seconds histogram'));
  t.ok(lines.some((line) => line === 'mirrorgate_upstream_duration_seconds_count{registry="ghcr.io",upstream="ghcr"} 1'));
  metrics.forgetUpstream('docker.io', 'hub');
  t.notOk((await metrics.render()).includes('upstream="hub",le='), 'a removed upstream loses its series');
});

t.test('tallied counters are folded in when scraped', async (t) => {
  const metrics = createMetrics();
  for (let i = 0; i < 5; i++) metrics.requestCompleted('docker.io', 'hub', 'GET', 'blob', 200);
  metrics.responseBytes('docker.io', 'hub', 1000);
  metrics.responseBytes('docker.io', 'hub', 24);
  const text = await metrics.render();
  t.match(text, /mirrorgate_requests_total\{registry="docker.io",upstream="hub",method="GET",kind="blob",code="200"\} 5/);
  t.match(text, /mirrorgate_response_bytes_total\{registry="docker.io",upstream="hub"\} 1024/);
  metrics.requestCompleted('docker.io', 'hub', 'GET', 'blob', 200);
  t.match(await metrics.render(), /code="200"\} 6/, 'and keep counting after a scrape');
});
