import { createHash } from 'node:crypto';
import t from 'tap';
import { request } from 'node:http';
import { registryAnswer, startFakeUpstream } from '../helpers/fake-upstream.js';
import { startGateway, upstreamsYaml } from '../helpers/gateway.js';

t.test('upstream requests carry the upstream Host, every Accept value, Range, and no client credentials', async (t) => {
  const upstream = await startFakeUpstream(registryAnswer('{}'));
  t.teardown(() => upstream.close());
  const gw = await startGateway(upstreamsYaml([['u', upstream.url, 1]]));
  t.teardown(() => gw.close());

  await new Promise<void>((resolve, reject) => {
    const req = request(`${gw.url}/v2/library/nginx/manifests/latest?ns=docker.io`, {
      headers: {
        host: 'docker-mirror.company.com',
        authorization: 'Bearer client-secret-token',
        cookie: 'sid=client-cookie',
        range: 'bytes=10-',
        'if-none-match': '"sha256:aa"',
        'user-agent': 'docker/27.0',
        connection: 'keep-alive, x-private',
        'x-private': 'hop',
      },
    });
    // Two Accept headers, as dockerd sends them: both lists must arrive.
    req.setHeader('accept', [
      'application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json',
      'application/vnd.oci.image.index.v1+json',
    ]);
    req.on('response', (res) => res.resume().on('end', resolve));
    req.on('error', reject);
    req.end();
  });

  const seen = upstream.requests[0]!;
  t.equal(seen.url, '/v2/library/nginx/manifests/latest', 'no client query string (ns) upstream');
  t.equal(seen.headers.host, new URL(upstream.url).host);
  t.equal(
    seen.headers.accept,
    'application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.index.v1+json',
  );
  t.equal(seen.headers.range, 'bytes=10-');
  t.equal(seen.headers['if-none-match'], '"sha256:aa"');
  t.equal(seen.headers['user-agent'], 'docker/27.0');
  t.equal(seen.headers.authorization, undefined);
  t.equal(seen.headers.cookie, undefined);
  t.equal(seen.headers['x-private'], undefined);
  t.notMatch(JSON.stringify(gw.logs()), /client-secret-token|client-cookie/, 'no secret in any log line');
});

t.test('a base path in the upstream url comes before /v2', async (t) => {
  const upstream = await startFakeUpstream(registryAnswer('{}'));
  t.teardown(() => upstream.close());
  const gw = await startGateway(upstreamsYaml([['nexus', `${upstream.url}/repository/docker-hub`, 1]]));
  t.teardown(() => gw.close());
  await (await fetch(`${gw.url}/v2/library/x/tags/list?n=5&ns=docker.io`)).arrayBuffer();
  t.equal(upstream.requests[0]!.url, '/repository/docker-hub/v2/library/x/tags/list?n=5');
});

t.test('HEAD stays HEAD upstream and returns the headers of a GET', async (t) => {
  const upstream = await startFakeUpstream(registryAnswer('{"schemaVersion":2}'));
  t.teardown(() => upstream.close());
  const gw = await startGateway(upstreamsYaml([['u', upstream.url, 1]]));
  t.teardown(() => gw.close());
  const res = await fetch(`${gw.url}/v2/x/manifests/v1`, { method: 'HEAD' });
  t.equal(res.status, 200);
  t.equal(upstream.requests[0]!.method, 'HEAD');
  t.equal(res.headers.get('content-length'), '19');
  t.equal(res.headers.get('docker-content-digest'), `sha256:${createHash('sha256').update('{"schemaVersion":2}').digest('hex')}`);
  t.equal(res.headers.get('content-type'), 'application/vnd.oci.image.manifest.v1+json');
});
