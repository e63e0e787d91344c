import t from 'tap';
import { registryAnswer, startFakeUpstream } from '../helpers/fake-upstream.js';
import { startGateway, upstreamsYaml } from '../helpers/gateway.js';

t.test('HEAD and GET requests reuse kept-alive upstream connections', async (t) => {
  const upstream = await startFakeUpstream(registryAnswer('{"schemaVersion":2}'));
  t.teardown(() => upstream.close());
  const gw = await startGateway(upstreamsYaml([['u', upstream.url, 1]]));
  t.teardown(() => gw.close());

  for (let i = 0; i < 20; i++) {
    const res = await fetch(`${gw.url}/v2/library/x/manifests/v1`, { method: 'HEAD' });
    t.equal(res.status, 200);
    t.equal(res.headers.get('content-length'), '19');
  }
  // undici's default closes after every HEAD (undici #258): that would be 20 connections here.
  t.equal(upstream.connections(), 1, '20 HEADs over one upstream connection');
  for (let i = 0; i < 20; i++) await (await fetch(`${gw.url}/v2/library/x/manifests/v1`)).arrayBuffer();
  t.equal(upstream.connections(), 1, '20 GETs over the same connection');
  t.equal(upstream.requests.filter((r) => r.method === 'HEAD').length, 20, 'HEAD stayed HEAD');
});
