/**
 * Several registries behind one endpoint, end to end: a real registry as docker.io (the
 * top-level upstreams) and another as ghcr.io (`registries: { ghcr.io: { hosts: [...] } }`).
 * containerd-style requests (`?ns=ghcr.io`, HEAD by tag then GET by digest, ranged blob) reach
 * the ghcr registry; `Host: ghcr-mirror.test` does too; an unknown `ns` gets a 404 NAME_UNKNOWN
 * naming the registries served; skopeo pulls from the default registry with a plain
 * docker://127.0.0.1:PORT reference. (containerd itself isn't available: plain HTTP requests.)
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import t from 'tap';
import { prepareImages, pushFixtures, type TestImages } from './helpers/fixtures.js';
import { startGatewayProcess, type GatewayProcess } from './helpers/gateway-process.js';
import { httpGet, type HttpResponse } from './helpers/http.js';
import { startRegistry, type RunningRegistry } from './helpers/registry.js';
import { describeSkopeoResult, pullImage, pushImage, verifyOciLayout } from './helpers/skopeo.js';
import { e2eSuite } from './helpers/suite.js';
import { socketsTo } from './helpers/tcp-sockets.js';

/** The image only the ghcr registry holds. */
const GHCR_NAME = 'mirrorgate/tool';
const GHCR_TAG = '1';
const ALIAS = 'ghcr-mirror.test';

const ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

const suite = await e2eSuite(t, 'routing');
if (suite !== undefined) {
  const { root, work } = suite;
  let images!: TestImages;
  let hub!: RunningRegistry;
  let ghcr!: RunningRegistry;
  let g!: GatewayProcess;
  t.teardown(() => Promise.all([hub?.stop(), ghcr?.stop()]));

  const get = (path: string, opts: { host?: string; method?: string; headers?: Record<string, string> } = {}): Promise<HttpResponse> =>
    httpGet(`${g.url}${path}`, {
      method: opts.method ?? 'GET',
      headers: { accept: ACCEPT, ...(opts.host === undefined ? {} : { host: opts.host }), ...opts.headers },
      timeoutMs: 10_000,
    });

  const tool = `/v2/${GHCR_NAME}/manifests/${GHCR_TAG}`;
  let alpine!: string;

  await t.test('a docker.io registry and a ghcr.io registry behind one gateway', { timeout: 120_000 }, async (t) => {
    images = await prepareImages(join(work, 'images'));
    [hub, ghcr] = await Promise.all([startRegistry(), startRegistry()]);
    await pushFixtures(images, hub.url, { only: ['alpine'], timeoutMs: 90_000 });
    await pushImage(images.list.find((e) => e.key === 'onlyOne')!.dir, ghcr.url, `${GHCR_NAME}:${GHCR_TAG}`, { timeoutMs: 90_000 });
    alpine = `/v2/${images.alpine.name}/manifests/${images.alpine.tag}`;
    g = await startGatewayProcess(
      root,
      work,
      `upstreams:
  - { name: hub-mirror, url: "${hub.url}", timeouts: { connect: 2s, headers: 10s, idle: 20s } }
registries:
  ghcr.io:
    hosts: [${ALIAS}]
    upstreams:
      - { name: ghcr-mirror, url: "${ghcr.url}", timeouts: { connect: 2s, headers: 10s, idle: 20s } }
failover: { maxAttempts: 2, on404: true }
log: { level: info }
`,
    );
    t.pass(`gateway ${g.url}: docker.io -> ${hub.host}, ghcr.io (${ALIAS}) -> ${ghcr.host}`);
  });

  await t.test('containerd-style ?ns=ghcr.io reaches the ghcr registry', async (t) => {
    const hubSelected = await g.metric('mirrorgate_upstream_selected_total', { upstream: 'hub-mirror' });
    const head = await get(`${tool}?ns=ghcr.io`, { method: 'HEAD' });
    t.equal(head.status, 200, 'HEAD manifest by tag');
    t.equal(head.headers['docker-content-digest'], images.onlyOne.manifestDigest);
    t.equal(head.body.length, 0);

    const byDigest = await get(`/v2/${GHCR_NAME}/manifests/${images.onlyOne.manifestDigest}?ns=ghcr.io`);
    t.equal(byDigest.status, 200, 'GET manifest by digest');
    t.equal(sha256(byDigest.body), images.onlyOne.manifestDigest, 'the manifest bytes');
    t.equal(byDigest.headers['content-type'], images.onlyOne.manifestMediaType);

    const layer = images.onlyOne.layers[0]!;
    const blob = await get(`/v2/${GHCR_NAME}/blobs/${layer.digest}?ns=ghcr.io`);
    t.equal(blob.status, 200, 'GET blob');
    t.equal(sha256(blob.body), layer.digest, 'the blob bytes');
    const resumed = await get(`/v2/${GHCR_NAME}/blobs/${layer.digest}?ns=ghcr.io`, { headers: { range: 'bytes=10-' } });
    t.equal(resumed.status, 206, 'resumed with Range');
    t.equal(resumed.headers['content-range'], `bytes 10-${layer.size - 1}/${layer.size}`);
    t.same(resumed.body, blob.body.subarray(10));

    const tags = await get(`/v2/${GHCR_NAME}/tags/list?ns=ghcr.io`);
    t.equal(tags.status, 200, 'tags/list');
    t.same(JSON.parse(tags.body.toString('utf8')), { name: GHCR_NAME, tags: [GHCR_TAG] });

    t.equal((await get(`${alpine}?ns=ghcr.io`)).status, 404, 'docker.io content is not reachable as ghcr.io');
    t.equal(
      await g.metric('mirrorgate_upstream_selected_total', { upstream: 'hub-mirror' }),
      hubSelected,
      'the docker.io upstream was not asked for any of it',
    );
    t.equal((await get(tool)).status, 404, 'without ns the default registry (docker.io) answers: it lacks the ghcr image');
    const hubByNs = await get(`${alpine}?ns=docker.io`);
    t.equal(hubByNs.status, 200, '?ns=docker.io reaches the docker.io registry');
    t.equal(hubByNs.headers['docker-content-digest'], images.alpine.manifestDigest);

    t.ok((await g.metric('mirrorgate_requests_total', { registry: 'ghcr.io', upstream: 'ghcr-mirror' })) >= 5, 'requests counted under registry="ghcr.io"');
  });

  await t.test('HEADs to the real registry reuse one kept-alive connection', async (t) => {
    // The Go registry sends no `Connection: keep-alive` header; undici by default closes after
    // every HEAD, which would leave one TIME_WAIT socket per HEAD here.
    const port = Number(new URL(ghcr.url).port);
    const before = socketsTo(port);
    for (let i = 0; i < 20; i++) {
      const head = await get(`${tool}?ns=ghcr.io`, { method: 'HEAD' });
      t.equal(head.status, 200);
    }
    const opened = socketsTo(port) - before;
    t.ok(opened <= 1, `20 HEADs opened ${opened} new upstream connection(s)`);
  });

  await t.test(`Host: ${ALIAS} routes to the ghcr registry`, async (t) => {
    for (const host of [ALIAS, `${ALIAS}:5000`, 'GHCR-Mirror.TEST']) {
      const res = await get(tool, { host });
      t.equal(res.status, 200, `Host: ${host}`);
      t.equal(res.headers['docker-content-digest'], images.onlyOne.manifestDigest);
    }
    t.equal((await get(alpine, { host: ALIAS })).status, 404, `docker.io content is not reachable through ${ALIAS}`);
    t.equal((await get(tool, { host: 'other-mirror.test' })).status, 404, 'an unknown Host goes to the default registry');
    t.equal((await get(alpine, { host: 'other-mirror.test' })).status, 200);
    t.equal((await get(`${alpine}?ns=docker.io`, { host: ALIAS })).status, 200, '?ns wins over the Host alias');
  });

  await t.test('an unknown ns gets 404 NAME_UNKNOWN naming the registries served', async (t) => {
    for (const method of ['GET', 'HEAD']) {
      const res = await get(`${tool}?ns=quay.io`, { method });
      t.equal(res.status, 404, `${method} ?ns=quay.io`);
      t.equal(res.headers['docker-distribution-api-version'], 'registry/2.0');
      if (method === 'HEAD') continue;
      t.match(String(res.headers['content-type']), /^application\/json/);
      const body = JSON.parse(res.body.toString('utf8')) as { errors: { code: string; message: string }[] };
      t.equal(body.errors[0]?.code, 'NAME_UNKNOWN');
      t.match(body.errors[0]?.message, /quay\.io/, 'names the registry asked for');
      t.match(body.errors[0]?.message, /docker\.io/, 'names docker.io');
      t.match(body.errors[0]?.message, /ghcr\.io/, 'names ghcr.io');
    }
    const blob = await get(`/v2/${GHCR_NAME}/blobs/${images.onlyOne.configDigest}?ns=quay.io`);
    t.equal(blob.status, 404, 'blobs too');
    t.equal((JSON.parse(blob.body.toString('utf8')) as { errors: { code: string }[] }).errors[0]?.code, 'NAME_UNKNOWN');
  });

  await t.test('skopeo pulls from the default registry at docker://127.0.0.1:PORT', { timeout: 120_000 }, async (t) => {
    const dest = join(work, 'pull-default');
    const result = await pullImage(g.url, images.alpine.ref, dest, { timeoutMs: 90_000 });
    t.equal(result.code, 0, result.code === 0 ? 'pulled' : describeSkopeoResult(result));
    if (result.code === 0) t.same((await verifyOciLayout(dest)).digests, [images.alpine.manifestDigest]);
    const failed = await pullImage(g.url, `${GHCR_NAME}:${GHCR_TAG}`, join(work, 'pull-ghcr-default'), { timeoutMs: 60_000 });
    t.not(failed.code, 0, 'the ghcr-only image is not in the default registry');
    t.ok(
      (await g.metric('mirrorgate_requests_total', { registry: 'docker.io', upstream: 'hub-mirror', kind: 'blob' })) >= 3,
      'its blobs came from the docker.io upstream',
    );
  });
}
