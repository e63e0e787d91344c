import t from 'tap';
import { connect } from 'node:net';
import { registryAnswer, startFakeUpstream } from '../helpers/fake-upstream.js';
import { startGateway, upstreamsYaml } from '../helpers/gateway.js';

t.test('local answers and malformed requests never reach an upstream', async (t) => {
  const upstream = await startFakeUpstream(registryAnswer('{}'));
  t.teardown(() => upstream.close());
  const gw = await startGateway(upstreamsYaml([['u', upstream.url, 1]]));
  t.teardown(() => gw.close());

  const ping = await fetch(`${gw.url}/v2/`);
  t.equal(ping.status, 200);
  t.equal(ping.headers.get('docker-distribution-api-version'), 'registry/2.0');
  t.same(await ping.json(), {});

  const cases: [string, string, number, string][] = [
    ['PUT', '/v2/x/manifests/v1', 405, 'UNSUPPORTED'],
    ['POST', '/v2/x/blobs/uploads/', 405, 'UNSUPPORTED'],
    ['DELETE', `/v2/x/blobs/sha256:${'a'.repeat(64)}`, 405, 'UNSUPPORTED'],
    ['GET', '/v2/UPPER/manifests/v1', 400, 'NAME_INVALID'],
    ['GET', '/v2/x/blobs/sha256:short', 400, 'DIGEST_INVALID'],
    ['GET', '/v2/x/manifests/bad~tag', 400, 'MANIFEST_INVALID'],
    ['GET', '/v2/x/unknown/thing', 404, 'NOT_FOUND'],
    ['GET', '/nothing-here', 404, 'NOT_FOUND'],
  ];
  for (const [method, path, status, code] of cases) {
    const res = await fetch(`${gw.url}${path}`, { method });
    t.equal(res.status, status, `${method} ${path}`);
    const body = (await res.json()) as { errors: { code: string }[] };
    t.equal(body.errors[0]!.code, code, `${method} ${path}`);
  }
  t.equal(upstream.requests.length, 0);
  t.equal(await gw.metric('mirrorgate_requests_total', { upstream: 'none', method: 'PUT', code: '405' }), 1);
});

t.test('garbage on a connection (a TLS ClientHello to the plain-HTTP port) disturbs nothing', async (t) => {
  const upstream = await startFakeUpstream(registryAnswer('{"ok":true}'));
  t.teardown(() => upstream.close());
  const gw = await startGateway(upstreamsYaml([['u', upstream.url, 1]]));
  t.teardown(() => gw.close());
  const { port } = new URL(gw.url);

  // The first bytes of a TLS 1.2 ClientHello, as skopeo sends them before retrying over HTTP.
  const hello = Buffer.from('1603010200010001fc0303' + 'ab'.repeat(32) + '00', 'hex');
  const answer = await new Promise<string>((resolve) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.write(hello));
    let data = '';
    socket.on('data', (chunk) => (data += chunk.toString('latin1')));
    socket.on('close', () => resolve(data));
    socket.on('error', () => resolve(data));
  });
  t.match(answer, /^HTTP\/1\.1 400/, 'answered 400 and closed');

  const res = await fetch(`${gw.url}/v2/x/manifests/v1`);
  t.equal(res.status, 200);
  t.equal(await res.text(), '{"ok":true}');
});
