import t from 'tap';
import { closedPort, registryAnswer, startFakeUpstream } from '../helpers/fake-upstream.js';
import { startGateway, upstreamsYaml } from '../helpers/gateway.js';

t.test('a refused connection fails over to the next upstream', async (t) => {
  const good = await startFakeUpstream(registryAnswer('{"ok":1}'));
  t.teardown(() => good.close());
  const dead = `http://127.0.0.1:${await closedPort()}`;
  // dead has the larger weight so the balancer tries it first.
  const gw = await startGateway(
    upstreamsYaml([
      ['dead', dead, 5],
      ['good', good.url, 1],
    ]),
  );
  t.teardown(() => gw.close());

  const res = await fetch(`${gw.url}/v2/library/x/manifests/v1`);
  t.equal(res.status, 200);
  t.equal(await res.text(), '{"ok":1}');
  t.equal(await gw.metric('mirrorgate_failovers_total', { upstream: 'dead', reason: 'connect' }), 1);
  t.equal(await gw.metric('mirrorgate_requests_total', { upstream: 'good', code: '200', kind: 'manifest' }), 1);
  const line = gw.logs().find((l) => l['msg'] === 'request');
  t.match(line, { method: 'GET', path: '/v2/library/x/manifests/v1', upstream: 'good', attempts: 2, status: 200, bytes: 8 });
});
