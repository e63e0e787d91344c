import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { registryAnswer, registryStatus, startFakeUpstream } from '../helpers/fake-upstream.js';
import { startGateway, upstreamsYaml } from '../helpers/gateway.js';

t.test('the breaker opens after the threshold, skips the upstream, and half-opens after resetTimeout', async (t) => {
  const sick = await startFakeUpstream(registryStatus(500, 'UNKNOWN'));
  const good = await startFakeUpstream(registryAnswer('{"from":"good"}'));
  t.teardown(() => Promise.all([sick.close(), good.close()]));
  const gw = await startGateway(
    upstreamsYaml([
      ['sick', sick.url, 1],
      ['good', good.url, 1],
    ]) + 'breaker: { volumeThreshold: 3, errorThresholdPercentage: 50, window: 10s, resetTimeout: 400ms }\n',
  );
  t.teardown(() => gw.close());
  const get = async (): Promise<number> => {
    const res = await fetch(`${gw.url}/v2/library/x/manifests/v1`);
    await res.arrayBuffer();
    return res.status;
  };

  // Every request succeeds for the client (failover), while the sick upstream collects failures.
  for (let i = 0; i < 6; i++) t.equal(await get(), 200);
  t.equal(sick.requests.length, 3, 'opened after 3 failures (volumeThreshold)');
  t.equal(await gw.metric('mirrorgate_breaker_state', { upstream: 'sick' }), 2, 'open');
  t.ok(
    gw.logs().some((l) => l['event'] === 'breaker' && l['upstream'] === 'sick' && l['state'] === 'open'),
    'transition logged',
  );

  for (let i = 0; i < 4; i++) t.equal(await get(), 200);
  t.equal(sick.requests.length, 3, 'an open breaker takes no requests');
  t.equal(await gw.metric('mirrorgate_upstream_selected_total', { upstream: 'sick' }), 3, 'the balancer skips it');

  await sleep(600);
  t.equal(await gw.metric('mirrorgate_breaker_state', { upstream: 'sick' }), 1, 'half-open after resetTimeout');
  sick.handle(registryAnswer('{"from":"sick-recovered"}'));
  const bodies = new Set<string>();
  for (let i = 0; i < 4; i++) bodies.add(await (await fetch(`${gw.url}/v2/library/x/manifests/v1`)).text());
  t.ok(bodies.has('{"from":"sick-recovered"}'), 'the trial request went through');
  t.equal(await gw.metric('mirrorgate_breaker_state', { upstream: 'sick' }), 0, 'closed after a successful trial');
});

t.test('a failed trial re-opens the breaker; concurrent requests do not pile onto a half-open upstream', async (t) => {
  const sick = await startFakeUpstream(registryStatus(503, 'UNAVAILABLE'));
  const good = await startFakeUpstream(registryAnswer('{}'));
  t.teardown(() => Promise.all([sick.close(), good.close()]));
  const gw = await startGateway(
    upstreamsYaml([
      ['sick', sick.url, 1],
      ['good', good.url, 1],
    ]) +
      // Long enough that the 10 requests below finish before a failed trial's re-open runs out
      // again, even on a loaded machine (300 ms once let a second trial through).
      'breaker: { volumeThreshold: 2, resetTimeout: 1500ms }\n',
  );
  t.teardown(() => gw.close());
  for (let i = 0; i < 4; i++) await (await fetch(`${gw.url}/v2/x/manifests/v1`)).arrayBuffer();
  t.equal(sick.requests.length, 2);
  await sleep(1700);
  const before = sick.requests.length;
  const statuses = await Promise.all(Array.from({ length: 10 }, async () => (await fetch(`${gw.url}/v2/x/manifests/v1`)).status));
  t.same(statuses, Array(10).fill(200));
  t.equal(sick.requests.length - before, 1, 'exactly one trial request while half-open');
  t.equal(await gw.metric('mirrorgate_breaker_state', { upstream: 'sick' }), 2, 'open again');
});

t.test('readyz turns 503 when every breaker is open; healthz stays 200', async (t) => {
  const sick = await startFakeUpstream(registryStatus(500, 'UNKNOWN'));
  t.teardown(() => sick.close());
  const gw = await startGateway(upstreamsYaml([['sick', sick.url, 1]]) + 'breaker: { volumeThreshold: 2, resetTimeout: 30s }\n');
  t.teardown(() => gw.close());
  t.equal((await fetch(`${gw.url}/readyz`)).status, 200);
  for (let i = 0; i < 2; i++) await (await fetch(`${gw.url}/v2/x/manifests/v1`)).arrayBuffer();
  t.equal((await fetch(`${gw.url}/readyz`)).status, 503);
  t.equal((await fetch(`${gw.url}/healthz`)).status, 200);
  const res = await fetch(`${gw.url}/v2/x/manifests/v1`);
  t.equal(res.status, 503, 'nothing eligible: UNAVAILABLE without trying');
  t.equal(sick.requests.length, 2);
});
