import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { startFakeUpstream, type FakeHandler } from '../helpers/fake-upstream.js';
import { startGateway, upstreamsYaml } from '../helpers/gateway.js';

const blob = randomBytes(300_000);
const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
const corrupt = Buffer.from(blob);
corrupt[123_456] = corrupt[123_456]! ^ 0xff;

const serve =
  (bytes: Buffer): FakeHandler =>
  (req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length, 'docker-content-digest': digest });
    res.end(req.method === 'HEAD' ? undefined : bytes);
  };

/** The client's view: status, bytes received, and whether the response completed. */
function download(url: string, method = 'GET'): Promise<{ status: number; received: number; complete: boolean }> {
  return new Promise((resolve) => {
    request(url, { method }, (res) => {
      let received = 0;
      res.on('data', (chunk: Buffer) => (received += chunk.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, received, complete: res.complete }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, received, complete: false }));
    })
      // A body held back whole (one small chunk) means the cut comes before any header arrives.
      .on('error', () => resolve({ status: 0, received: 0, complete: false }))
      .end();
  });
}

t.test('a blob whose bytes do not match its digest is never completed for the client', async (t) => {
  const liar = await startFakeUpstream(serve(corrupt));
  t.teardown(() => liar.close());
  const gw = await startGateway(upstreamsYaml([['liar', liar.url, 1]]));
  t.teardown(() => gw.close());

  const got = await download(`${gw.url}/v2/library/x/blobs/${digest}`);
  t.equal(got.status, 200);
  t.equal(got.complete, false, 'the response was cut');
  t.ok(got.received < blob.length, `the last chunk was held back (${got.received} of ${blob.length} bytes)`);
  t.equal(await gw.metric('mirrorgate_failovers_total', { upstream: 'liar', reason: 'digest' }), 1);
  t.match(JSON.stringify(gw.logs()), /content does not match sha256:/);
});

t.test('the right bytes complete; HEAD and partial responses are not hashed', async (t) => {
  const honest = await startFakeUpstream((req, res) => {
    if (req.headers.range === 'bytes=0-9') {
      res.writeHead(206, { 'content-range': `bytes 0-9/${blob.length}`, 'content-length': 10 });
      return void res.end(blob.subarray(0, 10));
    }
    serve(blob)(req, res);
  });
  t.teardown(() => honest.close());
  const gw = await startGateway(upstreamsYaml([['honest', honest.url, 1]]));
  t.teardown(() => gw.close());
  t.same(await download(`${gw.url}/v2/library/x/blobs/${digest}`), { status: 200, received: blob.length, complete: true });
  t.same(await download(`${gw.url}/v2/library/x/blobs/${digest}`, 'HEAD'), { status: 200, received: 0, complete: true });
  const partial = await fetch(`${gw.url}/v2/library/x/blobs/${digest}`, { headers: { range: 'bytes=0-9' } });
  t.equal(partial.status, 206);
  t.ok(Buffer.from(await partial.arrayBuffer()).equals(blob.subarray(0, 10)));
});

t.test('a manifest asked for by digest is verified; by tag it cannot be', async (t) => {
  const manifest = Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}');
  const manifestDigest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
  const stale = await startFakeUpstream((req, res) => {
    const body = Buffer.from('{"schemaVersion":2,"stale":true}');
    res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'content-length': body.length });
    res.end(body);
  });
  t.teardown(() => stale.close());
  const gw = await startGateway(upstreamsYaml([['stale', stale.url, 1]]));
  t.teardown(() => gw.close());
  // A manifest is held whole and checked before it is answered: the only mirror's wrong bytes
  // are an upstream failure (503), not a cut connection.
  t.equal((await download(`${gw.url}/v2/library/x/manifests/${manifestDigest}`)).status, 503);
  t.equal((await download(`${gw.url}/v2/library/x/manifests/latest`)).complete, true);
});

t.test('verifyDigests: false passes bytes through unchecked', async (t) => {
  const liar = await startFakeUpstream(serve(corrupt));
  t.teardown(() => liar.close());
  const gw = await startGateway(upstreamsYaml([['liar', liar.url, 1]]) + 'verifyDigests: false\n');
  t.teardown(() => gw.close());
  t.same(await download(`${gw.url}/v2/library/x/blobs/${digest}`), { status: 200, received: blob.length, complete: true });
});
