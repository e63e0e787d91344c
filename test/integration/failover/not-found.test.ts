import t from 'tap';
import { registryAnswer, registryStatus, startFakeUpstream } from '../helpers/fake-upstream.js';
import { startGateway, upstreamsYaml } from '../helpers/gateway.js';

t.test('an image on one mirror only is found (on404 default true)', async (t) => {
  const lacking = await startFakeUpstream(registryStatus(404, 'MANIFEST_UNKNOWN'));
  const having = await startFakeUpstream(registryAnswer('{"found":true}'));
  t.teardown(() => Promise.all([lacking.close(), having.close()]));
  const gw = await startGateway(
    upstreamsYaml([
      ['lacking', lacking.url, 5],
      ['having', having.url, 1],
    ]),
  );
  t.teardown(() => gw.close());

  for (let i = 0; i < 4; i++) {
    const res = await fetch(`${gw.url}/v2/library/only-here/manifests/v1`);
    t.equal(res.status, 200);
    t.equal(await res.text(), '{"found":true}');
  }
  t.ok((await gw.metric('mirrorgate_failovers_total', { upstream: 'lacking', reason: 'notfound' })) >= 3);
  t.equal(await gw.metric('mirrorgate_breaker_state', { upstream: 'lacking' }), 0, 'a 404 is an answer, not a fault');
});

t.test('the client gets 404 only when every tried upstream said 404, with the registry body', async (t) => {
  const a = await startFakeUpstream(registryStatus(404, 'MANIFEST_UNKNOWN'));
  const b = await startFakeUpstream(registryStatus(404, 'MANIFEST_UNKNOWN'));
  t.teardown(() => Promise.all([a.close(), b.close()]));
  const gw = await startGateway(
    upstreamsYaml([
      ['a', a.url, 1],
      ['b', b.url, 1],
    ]),
  );
  t.teardown(() => gw.close());

  const res = await fetch(`${gw.url}/v2/library/nowhere/manifests/v1`);
  t.equal(res.status, 404);
  t.same(await res.json(), { errors: [{ code: 'MANIFEST_UNKNOWN', message: 'fake 404' }] });
  t.equal(a.requests.length, 1);
  t.equal(b.requests.length, 1);
});

t.test('a 404 mixed with a failure is not a 404: 503', async (t) => {
  const a = await startFakeUpstream(registryStatus(404, 'MANIFEST_UNKNOWN'));
  const b = await startFakeUpstream(registryStatus(500, 'UNKNOWN'));
  t.teardown(() => Promise.all([a.close(), b.close()]));
  const gw = await startGateway(
    upstreamsYaml([
      ['a', a.url, 1],
      ['b', b.url, 1],
    ]),
  );
  t.teardown(() => gw.close());
  t.equal((await fetch(`${gw.url}/v2/x/manifests/v1`)).status, 503);
});

t.test('with on404: false the first 404 is the answer', async (t) => {
  const lacking = await startFakeUpstream(registryStatus(404, 'MANIFEST_UNKNOWN'));
  const having = await startFakeUpstream(registryAnswer('{"found":true}'));
  t.teardown(() => Promise.all([lacking.close(), having.close()]));
  const gw = await startGateway(
    upstreamsYaml([
      ['lacking', lacking.url, 5],
      ['having', having.url, 1],
    ]) + 'failover: { on404: false }\n',
  );
  t.teardown(() => gw.close());
  const res = await fetch(`${gw.url}/v2/x/manifests/v1`);
  t.equal(res.status, 404);
  t.equal(having.requests.length, 0);
});
