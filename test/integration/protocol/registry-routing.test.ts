import t from 'tap';
import { request } from 'node:http';
import { registryAnswer, startFakeUpstream } from '../helpers/fake-upstream.js';
import { startGateway, upstreamsYaml } from '../helpers/gateway.js';

t.test('requests are routed by ?ns=, then by Host alias, else to docker.io', async (t) => {
  const hub = await startFakeUpstream(registryAnswer('{"from":"hub"}'));
  const ghcr = await startFakeUpstream(registryAnswer('{"from":"ghcr"}'));
  const quay = await startFakeUpstream(registryAnswer('{"from":"quay"}'));
  t.teardown(() => Promise.all([hub.close(), ghcr.close(), quay.close()]));
  const gw = await startGateway(
    upstreamsYaml([['hub', hub.url, 1]]) +
      `registries:
  ghcr.io:
    hosts: [ghcr-mirror.company.com]
    upstreams:
      - { name: ghcr, url: "${ghcr.url}", weight: 1 }
  quay.io:
    upstreams:
      - { name: quay, url: "${quay.url}", weight: 1 }
`,
  );
  t.teardown(() => gw.close());

  const get = (path: string, host?: string): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      request(`${gw.url}${path}`, { headers: host === undefined ? {} : { host } }, (res) => {
        let body = '';
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
        .on('error', reject)
        .end();
    });

  t.same(await get('/v2/owner/app/manifests/v1?ns=ghcr.io'), { status: 200, body: '{"from":"ghcr"}' }, 'containerd ns');
  t.same(await get('/v2/owner/app/manifests/v1?ns=quay.io', 'ghcr-mirror.company.com'), { status: 200, body: '{"from":"quay"}' }, 'ns wins over Host');
  t.same(await get('/v2/owner/app/manifests/v1', 'GHCR-mirror.company.com:5000'), { status: 200, body: '{"from":"ghcr"}' }, 'Host alias');
  t.same(await get('/v2/library/nginx/manifests/v1', 'docker-mirror.company.com'), { status: 200, body: '{"from":"hub"}' }, 'default');
  t.same(await get('/v2/library/nginx/manifests/v1?ns=docker.io'), { status: 200, body: '{"from":"hub"}' });
  t.equal(ghcr.requests[0]!.url, '/v2/owner/app/manifests/v1', 'ns does not travel upstream');

  const unknown = await get('/v2/owner/app/manifests/v1?ns=registry.example.org');
  t.equal(unknown.status, 404);
  t.same(JSON.parse(unknown.body), {
    errors: [{ code: 'NAME_UNKNOWN', message: 'registry registry.example.org is not served here; served: docker.io, ghcr.io, quay.io' }],
  });
  t.equal(hub.requests.length + ghcr.requests.length + quay.requests.length, 5, 'the unknown ns reached no upstream');

  t.equal(await gw.metric('mirrorgate_requests_total', { registry: 'ghcr.io', upstream: 'ghcr', code: '200' }), 2);
  t.equal(await gw.metric('mirrorgate_upstream_selected_total', { registry: 'quay.io', upstream: 'quay' }), 1);
  t.equal(await gw.metric('mirrorgate_upstream_weight', { registry: 'ghcr.io', upstream: 'ghcr' }), 1);
});

t.test('each registry has its own balancer and breakers', async (t) => {
  const a = await startFakeUpstream(registryAnswer('{"from":"a"}'));
  const b = await startFakeUpstream(registryAnswer('{"from":"b"}'));
  const c = await startFakeUpstream(registryAnswer('{"from":"c"}'));
  t.teardown(() => Promise.all([a.close(), b.close(), c.close()]));
  const gw = await startGateway(
    upstreamsYaml([
      ['a', a.url, 1],
      ['b', b.url, 1],
    ]) + `registries:\n  ghcr.io:\n    upstreams:\n      - { name: c, url: "${c.url}", weight: 1 }\n`,
  );
  t.teardown(() => gw.close());
  const froms: string[] = [];
  for (const ns of ['docker.io', 'ghcr.io', 'docker.io', 'ghcr.io', 'docker.io']) {
    froms.push(((await (await fetch(`${gw.url}/v2/x/manifests/v1?ns=${ns}`)).json()) as { from: string }).from);
  }
  t.same(froms, ['a', 'c', 'b', 'c', 'a'], "ghcr.io requests do not advance docker.io's cycle");
});
