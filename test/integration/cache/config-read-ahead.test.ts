/**
 * An image manifest a client gets through the cache has its config blob read ahead: filled into
 * the cache without the client asking, so the client's own GET for it finds it there (or joins
 * the fill). Nothing else is read ahead, and nothing is without a cache.
 */
import { createHash } from 'node:crypto';
import t from 'tap';
import { eventually } from '../../helpers/cli-process.js';
import { MANIFEST_TYPE, startFakeUpstream, type FakeHandler, type FakeUpstream } from '../helpers/fake-upstream.js';
import { startGateway, upstreamsYaml } from '../helpers/gateway.js';

const digestOf = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const CONFIG = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
const LAYER = Buffer.alloc(64 * 1024, 7);
const descriptor = (mediaType: string, bytes: Buffer): object => ({ mediaType, digest: digestOf(bytes), size: bytes.length });
const MANIFEST = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: MANIFEST_TYPE,
    config: descriptor('application/vnd.oci.image.config.v1+json', CONFIG),
    layers: [descriptor('application/vnd.oci.image.layer.v1.tar+gzip', LAYER)],
  }),
);
const INDEX_TYPE = 'application/vnd.oci.image.index.v1+json';
const INDEX = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: INDEX_TYPE,
    manifests: [{ ...descriptor(MANIFEST_TYPE, MANIFEST), platform: { os: 'linux', architecture: 'amd64' } }],
  }),
);

/** A mirror holding the index (tag `multi`), the image manifest (tag `v1`), its config and its layer. */
const mirror: FakeHandler = (req, res) => {
  const url = req.url ?? '';
  const found: [Buffer, string] | undefined = url.endsWith('/manifests/v1')
    ? [MANIFEST, MANIFEST_TYPE]
    : url.endsWith('/manifests/multi')
      ? [INDEX, INDEX_TYPE]
      : url.endsWith(`/blobs/${digestOf(CONFIG)}`)
        ? [CONFIG, 'application/octet-stream']
        : url.endsWith(`/blobs/${digestOf(LAYER)}`)
          ? [LAYER, 'application/octet-stream']
          : undefined;
  if (found === undefined) return void res.writeHead(404).end();
  const [body, type] = found;
  res.writeHead(200, { 'content-type': type, 'content-length': body.length, 'docker-content-digest': digestOf(body) });
  res.end(req.method === 'HEAD' ? undefined : body);
};

const blobGets = (upstream: FakeUpstream, bytes: Buffer): number =>
  upstream.requests.filter((r) => r.method === 'GET' && r.url.endsWith(`/blobs/${digestOf(bytes)}`)).length;

t.test('a manifest GET through the cache fills its config blob, which the client then gets from the cache', async (t) => {
  const upstream = await startFakeUpstream(mirror);
  t.teardown(() => upstream.close());
  const gw = await startGateway(upstreamsYaml([['u', upstream.url, 1]]) + 'cache: { dir: cache }\n');
  t.teardown(() => gw.close());

  const manifest = await fetch(`${gw.url}/v2/library/app/manifests/v1`, { headers: { accept: MANIFEST_TYPE } });
  t.same(Buffer.from(await manifest.arrayBuffer()), MANIFEST);
  await eventually(() => blobGets(upstream, CONFIG) === 1, 'the config fetched without the client asking');

  // Until the fill has committed, the client's GET joins it; after, it is a HIT. Either way: no second fetch.
  const config = await fetch(`${gw.url}/v2/library/app/blobs/${digestOf(CONFIG)}`);
  t.equal(config.status, 200);
  t.match(config.headers.get('x-cache'), /^(HIT|JOINED)$/, 'answered by the cache');
  t.same(Buffer.from(await config.arrayBuffer()), CONFIG, 'the right bytes');
  t.equal(blobGets(upstream, CONFIG), 1, 'the config crossed the WAN once');
  t.equal(blobGets(upstream, LAYER), 0, 'layers are not read ahead');
});

t.test('no read-ahead for a HEAD, for an index, or without a cache', async (t) => {
  const upstream = await startFakeUpstream(mirror);
  t.teardown(() => upstream.close());
  const cached = await startGateway(upstreamsYaml([['u', upstream.url, 1]]) + 'cache: { dir: cache }\n');
  t.teardown(() => cached.close());
  const relaying = await startGateway(upstreamsYaml([['u', upstream.url, 1]]));
  t.teardown(() => relaying.close());

  await (await fetch(`${cached.url}/v2/library/app/manifests/v1`, { method: 'HEAD', headers: { accept: MANIFEST_TYPE } })).arrayBuffer();
  await (await fetch(`${cached.url}/v2/library/app/manifests/multi`, { headers: { accept: INDEX_TYPE } })).arrayBuffer();
  await (await fetch(`${relaying.url}/v2/library/app/manifests/v1`, { headers: { accept: MANIFEST_TYPE } })).arrayBuffer();
  // A read-ahead would have been started by now: the fills go out as the manifest answer settles.
  // A marker request made after them, through the cached gateway, arrives after any such fetch.
  await (await fetch(`${cached.url}/v2/library/app/blobs/${digestOf(LAYER)}`)).arrayBuffer();
  t.equal(blobGets(upstream, CONFIG), 0, 'the config was never fetched');
});
