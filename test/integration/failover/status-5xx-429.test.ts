import t from 'tap';
import { registryAnswer, registryStatus, startFakeUpstream } from '../helpers/fake-upstream.js';
import { startGateway, upstreamsYaml } from '../helpers/gateway.js';

for (const [status, code, reason] of [
  [500, 'UNKNOWN', '5xx'],
  [502, 'UNAVAILABLE', '5xx'],
  [429, 'TOOMANYREQUESTS', 'ratelimit'],
] as const) {
  t.test(`a ${status} fails over and the client never sees it`, async (t) => {
    const bad = await startFakeUpstream(registryStatus(status, code));
    const good = await startFakeUpstream(registryAnswer('{"from":"good"}'));
    t.teardown(() => Promise.all([bad.close(), good.close()]));
    const gw = await startGateway(
      upstreamsYaml([
        ['bad', bad.url, 5],
        ['good', good.url, 1],
      ]),
    );
    t.teardown(() => gw.close());

    const res = await fetch(`${gw.url}/v2/library/x/manifests/v1`);
    t.equal(res.status, 200);
    t.equal(await res.text(), '{"from":"good"}');
    t.equal(bad.requests.length, 1);
    t.equal(await gw.metric('mirrorgate_failovers_total', { upstream: 'bad', reason }), 1);
  });
}

t.test('when every upstream fails: 503 UNAVAILABLE with Retry-After', async (t) => {
  const a = await startFakeUpstream(registryStatus(500, 'UNKNOWN'));
  const b = await startFakeUpstream(registryStatus(503, 'UNAVAILABLE'));
  t.teardown(() => Promise.all([a.close(), b.close()]));
  const gw = await startGateway(
    upstreamsYaml([
      ['a', a.url, 1],
      ['b', b.url, 1],
    ]),
  );
  t.teardown(() => gw.close());

  const res = await fetch(`${gw.url}/v2/library/x/blobs/sha256:${'1'.repeat(64)}`);
  t.equal(res.status, 503);
  t.ok(Number(res.headers.get('retry-after')) > 0, 'Retry-After is a number of seconds');
  t.equal(res.headers.get('docker-distribution-api-version'), 'registry/2.0');
  t.same(await res.json(), { errors: [{ code: 'UNAVAILABLE', message: 'no upstream registry could answer the request' }] });
  t.equal(a.requests.length + b.requests.length, 2, 'each upstream tried once');
});

t.test('maxAttempts bounds the upstreams tried', async (t) => {
  const fakes = await Promise.all([1, 2, 3, 4].map(() => startFakeUpstream(registryStatus(500, 'UNKNOWN'))));
  t.teardown(() => Promise.all(fakes.map((f) => f.close())));
  const gw = await startGateway(upstreamsYaml(fakes.map((f, i) => [`u${i}`, f.url, 1])) + 'failover: { maxAttempts: 2 }\n');
  t.teardown(() => gw.close());
  const res = await fetch(`${gw.url}/v2/x/manifests/v1`);
  t.equal(res.status, 503);
  t.equal(
    fakes.reduce((sum, f) => sum + f.requests.length, 0),
    2,
  );
});
