import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { registryAnswer, registryStatus, startFakeUpstream } from '../helpers/fake-upstream.js';
import { startGateway, upstreamsYaml } from '../helpers/gateway.js';

t.test('a mirror whose health check recovers ramps back to its share (slow start): its share of picks grows over time', async (t) => {
  const back = await startFakeUpstream(registryStatus(503, 'UNAVAILABLE'));
  const steady = await startFakeUpstream(registryAnswer('{"from":"steady"}'));
  t.teardown(() => Promise.all([back.close(), steady.close()]));
  const health = ', health: { interval: 50ms, timeout: 200ms, unhealthyAfter: 1, healthyAfter: 1 }';
  const gw = await startGateway(
    upstreamsYaml(
      [
        ['back', back.url, 1],
        ['steady', steady.url, 1],
      ],
      health,
    ) + 'balance: { slowStart: 3s }\n',
  );
  t.teardown(() => gw.close());
  const healthy = async (): Promise<number> => gw.metric('mirrorgate_upstream_healthy', { upstream: 'back' });
  for (let i = 0; i < 100 && (await healthy()) !== 0; i++) await sleep(20);
  t.equal(await healthy(), 0, 'out on its health check');

  back.handle(registryAnswer('{"from":"back"}'));
  for (let i = 0; i < 100 && (await healthy()) !== 1; i++) await sleep(20);
  t.equal(await healthy(), 1, 'healthy again');
  const picksOfBack = async (n: number): Promise<number> => {
    const before = await gw.metric('mirrorgate_upstream_selected_total', { upstream: 'back' });
    for (let i = 0; i < n; i++) await (await fetch(`${gw.url}/v2/x/manifests/v1`)).arrayBuffer();
    return (await gw.metric('mirrorgate_upstream_selected_total', { upstream: 'back' })) - before;
  };
  const early = await picksOfBack(20);
  const effective = await gw.metric('mirrorgate_upstream_effective_weight', { upstream: 'back' });
  t.ok(effective < 1, `effective weight ${effective} below the configured 1 while ramping`);
  await sleep(3_100);
  const late = await picksOfBack(20);
  t.ok(early < late, `early ${early} of 20 picks, after the ramp ${late} of 20`);
  t.equal(late, 10, 'the whole share after slowStart');
  t.equal(await gw.metric('mirrorgate_upstream_effective_weight', { upstream: 'back' }), 1);
});
