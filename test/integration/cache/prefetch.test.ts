/**
 * `prefetch:` in a gateway against a fake upstream: a failing image is logged and counted and the
 * next one is still warmed (its blobs land in the cache, through fills); shutdown stops a run
 * that is stuck on a blob, and the images after it are never asked for.
 */
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import t from 'tap';
import { eventually } from '../../helpers/cli-process.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { startGateway, upstreamsYaml } from '../helpers/gateway.js';

const digestOf = (body: Buffer | string): string => `sha256:${createHash('sha256').update(body).digest('hex')}`;
const CONFIG = Buffer.from('{"architecture":"amd64","os":"linux"}');
const LAYERS = [Buffer.alloc(64 * 1024, 'a'), Buffer.alloc(32 * 1024, 'b')];
const MANIFEST = JSON.stringify({
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(CONFIG), size: CONFIG.length },
  layers: LAYERS.map((layer) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digestOf(layer), size: layer.length })),
});
const BLOBS = new Map([CONFIG, ...LAYERS].map((body) => [digestOf(body), body]));

function send(res: ServerResponse, status: number, body: Buffer | string, type = 'application/octet-stream'): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Serves library/app:1 and its blobs; anything else is a 404. `hang`: a digest whose body never ends. */
function registry(hang?: string) {
  return (req: { url?: string }, res: ServerResponse): void => {
    const url = req.url ?? '';
    if (url === '/v2/library/app/manifests/1') return send(res, 200, MANIFEST, 'application/vnd.oci.image.manifest.v1+json');
    const digest = /\/blobs\/(sha256:[0-9a-f]{64})$/.exec(url)?.[1];
    const blob = digest === undefined ? undefined : BLOBS.get(digest);
    if (blob !== undefined && digest === hang) {
      res.writeHead(200, { 'content-length': blob.length });
      res.write(blob.subarray(0, 100));
      return;
    }
    if (blob !== undefined) return send(res, 200, blob);
    send(res, 404, '{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}', 'application/json');
  };
}

t.test('a failing image is logged and counted; the next one is warmed', async (t) => {
  const upstream = await startFakeUpstream(registry());
  t.teardown(() => upstream.close());
  const gw = await startGateway(
    upstreamsYaml([['u', upstream.url, 1]]) + 'cache: { dir: cache }\nprefetch: { images: [missing:1, app:1], delay: 0s, platforms: [linux/amd64] }\n',
  );
  t.teardown(() => gw.close());
  await eventually(async () => (await gw.metric('mirrorgate_prefetch_runs_total')) === 1, 'the run ended', 10_000);
  t.equal(await gw.metric('mirrorgate_prefetch_runs_total', { result: 'error' }), 1);
  t.equal(await gw.metric('mirrorgate_prefetch_images_total', { result: 'error' }), 1);
  t.equal(await gw.metric('mirrorgate_prefetch_images_total', { result: 'ok' }), 1);
  t.equal(await gw.metric('mirrorgate_prefetch_bytes_total', { source: 'upstream' }), CONFIG.length + LAYERS[0]!.length + LAYERS[1]!.length);
  t.equal(await gw.metric('mirrorgate_cache_fills_total', { result: 'committed' }), 3, 'each blob through a fill');
  const lines = gw.logs().filter((line) => line['event'] === 'prefetch' && line['image'] !== undefined);
  t.match(lines, [
    { image: 'docker.io/library/missing:1', layers: 0, errors: ['manifest 1: status 404 from u'] },
    { image: 'docker.io/library/app:1', layers: 2, errors: [], fetchedBytes: CONFIG.length + 96 * 1024, cachedBytes: 0 },
  ]);
  const blob = await fetch(`${gw.url}/v2/library/app/blobs/${digestOf(LAYERS[0]!)}`);
  t.equal(blob.headers.get('x-cache'), 'HIT', 'a client pull afterwards is served from disk');
  await blob.arrayBuffer();
  t.equal(await gw.metric('mirrorgate_prefetch_last_success_timestamp_seconds'), 0, 'no run has warmed every image yet');
});

t.test('shutdown stops a run stuck on a blob; later images are never asked for', async (t) => {
  const upstream = await startFakeUpstream(registry(digestOf(LAYERS[0]!)));
  t.teardown(() => upstream.close());
  const gw = await startGateway(upstreamsYaml([['u', upstream.url, 1]]) + 'cache: { dir: cache }\nprefetch: { images: [app:1, other:1], delay: 0s }\n');
  await eventually(() => upstream.requests.some((r) => r.url.endsWith(digestOf(LAYERS[0]!))), 'the stuck blob was asked for', 10_000);
  await gw.close();
  t.notOk(
    upstream.requests.some((r) => r.url.includes('/other/')),
    'the next image was not started',
  );
  t.match(
    gw.logs().find((line) => line['image'] === 'docker.io/library/app:1'),
    { errors: [/stopped|shutting down/] },
    'the stuck image is reported as stopped',
  );
});
