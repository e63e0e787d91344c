import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { startFakeCdn } from '../helpers/fake-cdn.js';
import { startGateway, upstreamsYaml } from '../helpers/gateway.js';

const blob = randomBytes(300_000);
const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;

t.test('follow: the gateway fetches the signed CDN URL itself, without Authorization, keeping Range', async (t) => {
  // The front wants a Basic login, so the first hop carries Authorization: the CDN hop must not.
  const hub = await startFakeCdn(new Map([[digest, blob]]), { basicAuth: true });
  t.teardown(() => hub.close());
  const gw = await startGateway(
    upstreamsYaml([['hub', hub.front.url, 1]], ', auth: { username: puller, password: "s3cret-pass" }, redirects: { allowPrivate: true }'),
  );
  t.teardown(() => gw.close());

  const res = await fetch(`${gw.url}/v2/library/x/blobs/${digest}`);
  t.equal(res.status, 200);
  const body = Buffer.from(await res.arrayBuffer());
  t.ok(body.equals(blob), 'the whole blob, byte for byte');
  t.equal(hub.cdnRequests.length, 1);
  t.equal(hub.cdnRequests[0]!.authorization, undefined, 'the CDN saw no Authorization');
  t.match(hub.front.requests.at(-1)!.headers.authorization, /^Basic /, 'the registry did get the credentials');

  const ranged = await fetch(`${gw.url}/v2/library/x/blobs/${digest}`, { headers: { range: 'bytes=1000-1999' } });
  t.equal(ranged.status, 206);
  t.equal(ranged.headers.get('content-range'), `bytes 1000-1999/${blob.length}`);
  t.ok(Buffer.from(await ranged.arrayBuffer()).equals(blob.subarray(1000, 2000)));
  t.equal(hub.cdnRequests.at(-1)!.range, 'bytes=1000-1999', 'Range kept on the CDN hop');

  const logs = JSON.stringify(gw.logs());
  t.notMatch(logs, /X-Amz-Signature/, 'the signed query string is never logged');
  t.notMatch(logs, /s3cret-pass/);
});

t.test('follow: a redirect to a private address is refused without allowPrivate, and fails over', async (t) => {
  const hub = await startFakeCdn(new Map([[digest, blob]]));
  t.teardown(() => hub.close());
  const gw = await startGateway(upstreamsYaml([['hub', hub.front.url, 1]]));
  t.teardown(() => gw.close());
  const res = await fetch(`${gw.url}/v2/library/x/blobs/${digest}`);
  t.equal(res.status, 503);
  await res.arrayBuffer();
  t.equal(hub.cdnRequests.length, 0, 'the internal address was never contacted');
  t.equal(await gw.metric('mirrorgate_failovers_total', { upstream: 'hub', reason: 'redirect' }), 1);
});

t.test('follow: allowHosts admits a named internal CDN host', async (t) => {
  const hub = await startFakeCdn(new Map([[digest, blob]]), { cdnHost: 'localhost' });
  t.teardown(() => hub.close());
  const gw = await startGateway(upstreamsYaml([['hub', hub.front.url, 1]], ', redirects: { allowHosts: [localhost] }'));
  t.teardown(() => gw.close());
  const res = await fetch(`${gw.url}/v2/library/x/blobs/${digest}`);
  t.equal(res.status, 200);
  t.ok(Buffer.from(await res.arrayBuffer()).equals(blob));
});

t.test('follow: a CDN failure fails over to the next upstream', async (t) => {
  const broken = await startFakeCdn(new Map([[digest, blob]]), { ttlSec: -10 }); // every signature already expired: 403
  const good = await startFakeCdn(new Map([[digest, blob]]));
  t.teardown(() => Promise.all([broken.close(), good.close()]));
  const gw = await startGateway(
    upstreamsYaml(
      [
        ['broken', broken.front.url, 5],
        ['good', good.front.url, 1],
      ],
      ', redirects: { allowPrivate: true }',
    ),
  );
  t.teardown(() => gw.close());
  const res = await fetch(`${gw.url}/v2/library/x/blobs/${digest}`);
  t.equal(res.status, 200);
  t.ok(Buffer.from(await res.arrayBuffer()).equals(blob));
  t.equal(broken.cdnRequests.length, 1);
});

t.test('passthrough: the client gets the redirect and follows it itself', async (t) => {
  const hub = await startFakeCdn(new Map([[digest, blob]]));
  t.teardown(() => hub.close());
  const gw = await startGateway(upstreamsYaml([['hub', hub.front.url, 1]], ', redirects: { mode: passthrough }'));
  t.teardown(() => gw.close());
  const manual = await fetch(`${gw.url}/v2/library/x/blobs/${digest}`, { redirect: 'manual' });
  t.equal(manual.status, 307);
  t.match(manual.headers.get('location'), new RegExp(`^${hub.cdn.url}/sha256:`));
  const followed = await fetch(`${gw.url}/v2/library/x/blobs/${digest}`);
  t.equal(followed.status, 200);
  t.ok(Buffer.from(await followed.arrayBuffer()).equals(blob));
});

t.test('passthrough: a Location on the upstream itself is rewritten to come back through the gateway', async (t) => {
  const hub = await startFakeCdn(new Map([[digest, blob]]));
  t.teardown(() => hub.close());
  hub.front.handle((req, res) => {
    if (req.url!.startsWith('/nexus/v2/docker/library/x/blobs/')) {
      res.writeHead(302, { location: `/nexus/v2/docker/library/x/blobs/${digest}?storage=1`, 'content-length': 0 });
      return void res.end();
    }
    res.writeHead(404);
    res.end();
  });
  const gw = await startGateway(upstreamsYaml([['nexus', `${hub.front.url}/nexus`, 1]], ', repositoryPrefix: docker, redirects: { mode: passthrough }'));
  t.teardown(() => gw.close());
  const res = await fetch(`${gw.url}/v2/library/x/blobs/${digest}`, { redirect: 'manual' });
  t.equal(res.status, 302);
  t.equal(res.headers.get('location'), `/v2/library/x/blobs/${digest}?storage=1`);
});

t.test('a redirect loop ends after 5 hops', async (t) => {
  const hub = await startFakeCdn(new Map());
  t.teardown(() => hub.close());
  hub.front.handle((req, res) => {
    res.writeHead(302, { location: req.url!, 'content-length': 0 });
    res.end();
  });
  const gw = await startGateway(upstreamsYaml([['hub', hub.front.url, 1]], ', redirects: { allowPrivate: true }'));
  t.teardown(() => gw.close());
  const res = await fetch(`${gw.url}/v2/library/x/blobs/${digest}`);
  t.equal(res.status, 503);
  t.equal(hub.front.requests.length, 6, 'the first request and 5 hops');
});
