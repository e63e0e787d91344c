import t from 'tap';
import { startFakeTokenRegistry } from '../helpers/fake-token-registry.js';
import { registryAnswer, startFakeUpstream } from '../helpers/fake-upstream.js';
import { startGateway, upstreamsYaml } from '../helpers/gateway.js';

t.test('each upstream gets tokens from its own token service, reused per scope', async (t) => {
  const one = await startFakeTokenRegistry('{"from":"one"}', { service: 'one.example' });
  const two = await startFakeTokenRegistry('{"from":"two"}', { service: 'two.example' });
  t.teardown(() => Promise.all([one.close(), two.close()]));
  const gw = await startGateway(
    upstreamsYaml([
      ['one', one.registry.url, 1],
      ['two', two.registry.url, 1],
    ]),
  );
  t.teardown(() => gw.close());

  const froms: string[] = [];
  for (let i = 0; i < 20; i++) {
    const res = await fetch(`${gw.url}/v2/library/nginx/manifests/latest`, { headers: { authorization: 'Bearer client-token' } });
    t.equal(res.status, 200);
    froms.push(((await res.json()) as { from: string }).from);
  }
  t.equal(froms.filter((f) => f === 'one').length, 10, 'alternating, every pull succeeds');
  t.same(one.tokenRequests, [{ scope: 'repository:library/nginx:pull', service: 'one.example', basic: undefined }], 'one fetch for one scope');
  t.equal(two.tokenRequests.length, 1);
  for (const request of [...one.registry.requests, ...two.registry.requests]) {
    t.not(request.headers.authorization, 'Bearer client-token', "the client's credentials never travel");
  }
  // After the first 401, requests carry the cached token up front: 10 + 1 per registry.
  t.equal(one.registry.requests.length, 11);
  const logs = JSON.stringify(gw.logs());
  for (const token of [...one.issued, ...two.issued]) t.notOk(logs.includes(token), 'no token in the logs');
  const metrics = await gw.metrics.registry.metrics();
  for (const token of [...one.issued, ...two.issued]) t.notOk(metrics.includes(token), 'no token in the metrics');
});

t.test('concurrent requests for one scope share one token fetch', async (t) => {
  const one = await startFakeTokenRegistry('{}', { service: 'one.example' });
  t.teardown(() => one.close());
  const gw = await startGateway(upstreamsYaml([['one', one.registry.url, 1]]));
  t.teardown(() => gw.close());
  const statuses = await Promise.all(Array.from({ length: 12 }, async () => (await fetch(`${gw.url}/v2/library/redis/manifests/7`)).status));
  t.same(statuses, Array(12).fill(200));
  t.equal(one.tokenRequests.length, 1);
});

t.test('credentials go to the token realm as Basic; wrong ones fail over with reason auth', async (t) => {
  const priv = await startFakeTokenRegistry('{"from":"private"}', { service: 'p', credentials: { username: 'puller', password: 'pa55-w0rd' } });
  const fallback = await startFakeUpstream(registryAnswer('{"from":"fallback"}'));
  t.teardown(() => Promise.all([priv.close(), fallback.close()]));

  const good = await startGateway(upstreamsYaml([['priv', priv.registry.url, 1]], ', auth: { username: puller, password: "${MG_TEST_PASSWORD}" }')).catch(
    (err: unknown) => err,
  );
  t.type(good, Error, '${MG_TEST_PASSWORD} unset is a config error');
  process.env['MG_TEST_PASSWORD'] = 'pa55-w0rd';
  t.teardown(() => delete process.env['MG_TEST_PASSWORD']);
  const gw = await startGateway(upstreamsYaml([['priv', priv.registry.url, 1]], ', auth: { username: puller, password: "${MG_TEST_PASSWORD}" }'));
  t.teardown(() => gw.close());
  const res = await fetch(`${gw.url}/v2/team/private/manifests/v1`);
  t.equal(res.status, 200);
  t.equal(((await res.json()) as { from: string }).from, 'private');

  const wrong = await startGateway(
    upstreamsYaml(
      [
        ['priv', priv.registry.url, 5],
        ['fallback', fallback.url, 1],
      ],
      ', auth: { username: puller, password: wrong-one }',
    ),
  );
  t.teardown(() => wrong.close());
  const res2 = await fetch(`${wrong.url}/v2/team/private/manifests/v1`);
  t.equal(((await res2.json()) as { from: string }).from, 'fallback');
  t.equal(await wrong.metric('mirrorgate_failovers_total', { upstream: 'priv', reason: 'auth' }), 1);
  const failure = JSON.stringify(wrong.logs());
  t.notMatch(failure, /pa55-w0rd|wrong-one/, 'no password in the logs');
  t.notMatch(JSON.stringify(gw.logs()), /pa55-w0rd/);
});

t.test('a token realm that is not http(s) is refused', async (t) => {
  const bad = await startFakeUpstream((_req, res) => {
    res.writeHead(401, { 'www-authenticate': 'Bearer realm="file:///etc/passwd",service="x"' });
    res.end();
  });
  t.teardown(() => bad.close());
  const gw = await startGateway(upstreamsYaml([['bad', bad.url, 1]]));
  t.teardown(() => gw.close());
  t.equal((await fetch(`${gw.url}/v2/x/manifests/v1`)).status, 503);
  t.equal(await gw.metric('mirrorgate_failovers_total', { upstream: 'bad', reason: 'auth' }), 1);
  t.match(JSON.stringify(gw.logs()), /token realm must be http\(s\)/);
});

t.test('Docker Hub naming: a one-component name means library/<name> where dockerHub is set', async (t) => {
  const hubLike = await startFakeUpstream(registryAnswer('{}'));
  const plain = await startFakeUpstream(registryAnswer('{}'));
  const ecr = await startFakeUpstream(registryAnswer('{}'));
  t.teardown(() => Promise.all([hubLike.close(), plain.close(), ecr.close()]));
  const gw = await startGateway(
    `upstreams:
  - { name: hub, url: "${hubLike.url}", weight: 1, dockerHub: true }
  - { name: plain, url: "${plain.url}", weight: 1 }
  - { name: ecr, url: "${ecr.url}", weight: 1, dockerHub: true, repositoryPrefix: docker }
`,
  );
  t.teardown(() => gw.close());
  for (let i = 0; i < 3; i++) await (await fetch(`${gw.url}/v2/nginx/manifests/latest`)).arrayBuffer();
  t.equal(hubLike.requests[0]!.url, '/v2/library/nginx/manifests/latest');
  t.equal(plain.requests[0]!.url, '/v2/nginx/manifests/latest');
  t.equal(ecr.requests[0]!.url, '/v2/docker/library/nginx/manifests/latest');
});
