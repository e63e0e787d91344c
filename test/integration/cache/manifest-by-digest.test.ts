/** Manifests asked for by digest are kept in memory once their bytes proved to be that digest. */
import { createHash } from 'node:crypto';
import t from 'tap';
import { MANIFEST_TYPE, startFakeUpstream, type FakeHandler } from '../helpers/fake-upstream.js';
import { startGateway, upstreamsYaml } from '../helpers/gateway.js';

const MANIFEST = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST_TYPE, config: {}, layers: [] }));
const DIGEST = `sha256:${createHash('sha256').update(MANIFEST).digest('hex')}`;

const serve =
  (body: Buffer): FakeHandler =>
  (req, res) => {
    res.writeHead(200, { 'content-type': MANIFEST_TYPE, 'content-length': body.length, 'docker-content-digest': DIGEST });
    res.end(req.method === 'HEAD' ? undefined : body);
  };

t.test('the second GET and a HEAD of a manifest by digest come from memory', async (t) => {
  const upstream = await startFakeUpstream(serve(MANIFEST));
  t.teardown(() => upstream.close());
  const gw = await startGateway(upstreamsYaml([['u', upstream.url, 1]]) + 'cache: { dir: cache }\n');
  t.teardown(() => gw.close());
  const url = `${gw.url}/v2/library/x/manifests/${DIGEST}`;

  const first = await fetch(url);
  t.equal(first.headers.get('x-cache'), null, 'the first one is relayed');
  t.same(Buffer.from(await first.arrayBuffer()), MANIFEST);
  const second = await fetch(url);
  t.equal(second.headers.get('x-cache'), 'HIT');
  t.equal(second.headers.get('content-type'), MANIFEST_TYPE);
  t.equal(second.headers.get('docker-content-digest'), DIGEST);
  t.same(Buffer.from(await second.arrayBuffer()), MANIFEST);
  const head = await fetch(url, { method: 'HEAD' });
  t.equal(head.headers.get('x-cache'), 'HIT');
  t.equal(head.headers.get('content-length'), String(MANIFEST.length));
  t.equal(upstream.requests.length, 1, 'one upstream request in all');
});

t.test('bytes that are not the digest are never kept (even with verifyDigests off)', async (t) => {
  const upstream = await startFakeUpstream(serve(Buffer.from('{"not":"it"}')));
  t.teardown(() => upstream.close());
  const gw = await startGateway(upstreamsYaml([['u', upstream.url, 1]]) + 'cache: { dir: cache }\nverifyDigests: false\n');
  t.teardown(() => gw.close());
  const url = `${gw.url}/v2/library/x/manifests/${DIGEST}`;
  await (await fetch(url)).arrayBuffer();
  const again = await fetch(url);
  t.equal(again.headers.get('x-cache'), null, 'not from memory');
  await again.arrayBuffer();
  t.equal(upstream.requests.length, 2);
});
