/**
 * Tags resolved at an authority, end to end: two real registries, a lagging mirror whose
 * `latest` still points at the old image (it holds the new one by digest too) and an authority
 * whose `latest` is the new one, each behind a recording front. A skopeo pull by tag through
 * mirrorgate gets the authority's digest, and its manifest and blobs come from the mirror: the
 * authority sees only a HEAD by tag.
 */
import { join } from 'node:path';
import t from 'tap';
import { startGatewayProcess, type GatewayProcess } from './helpers/gateway-process.js';
import { httpGet } from './helpers/http.js';
import { buildImage, MEDIA_TYPES, type BuiltImage } from './helpers/oci-image.js';
import { startPathPrefixProxy, type PathPrefixProxy } from './helpers/path-prefix-proxy.js';
import { startRegistry, type RunningRegistry } from './helpers/registry.js';
import { pushImage } from './helpers/skopeo.js';
import { e2eSuite } from './helpers/suite.js';

const REPO = 'library/tagged';
const REF = `${REPO}:latest`;
const ACCEPT = `${MEDIA_TYPES.manifest}, ${MEDIA_TYPES.index}`;

const suite = await e2eSuite(t, 'tag-authority');
if (suite !== undefined) {
  const { root, work, pull } = suite;
  let older!: BuiltImage;
  let newer!: BuiltImage;
  let registries: RunningRegistry[] = [];
  let fronts: PathPrefixProxy[] = [];
  let mirror!: PathPrefixProxy;
  let authority!: PathPrefixProxy;
  let gateway!: GatewayProcess;
  t.teardown(async () => {
    await Promise.all(fronts.map((front) => front.close()));
    await Promise.all(registries.map((registry) => registry.stop()));
  });

  /** Two versions of one image, each in its own layout, both tagged `latest`. */
  const build = (version: string): Promise<BuiltImage> =>
    buildImage(join(work, `image-${version}`), {
      name: REPO,
      tag: 'latest',
      layers: [{ files: { 'etc/version': `${version}\n` } }, { files: { 'usr/share/tagged/notes.txt': `release ${version}\n`.repeat(50) } }],
    });

  await t.test('a lagging mirror and an authority, mirrorgate resolving tags at the authority', { timeout: 180_000 }, async (t) => {
    [older, newer] = await Promise.all([build('1'), build('2')]);
    t.not(older.manifestDigest, newer.manifestDigest);
    registries = await Promise.all([startRegistry(), startRegistry()]);
    const [mirrorRegistry, authorityRegistry] = registries as [RunningRegistry, RunningRegistry];
    // The mirror got the new image, then was set back to the old one: both by digest, `latest` the old.
    await pushImage(newer.dir, mirrorRegistry.url, REF, { timeoutMs: 60_000 });
    await pushImage(older.dir, mirrorRegistry.url, REF, { timeoutMs: 60_000 });
    await pushImage(newer.dir, authorityRegistry.url, REF, { timeoutMs: 60_000 });
    fronts = await Promise.all(registries.map((registry) => startPathPrefixProxy({ basePath: '/r', target: registry.url })));
    [mirror, authority] = fronts as [PathPrefixProxy, PathPrefixProxy];
    const lagging = await httpGet(`${mirror.baseUrl}/v2/${REPO}/manifests/latest`, { method: 'HEAD', headers: { accept: ACCEPT } });
    t.equal(lagging.headers['docker-content-digest'], older.manifestDigest, "the mirror's latest is the old image");
    gateway = await startGatewayProcess(
      root,
      work,
      `upstreams:
  - { name: mirror, url: "${mirror.baseUrl}" }
authority: { name: source, url: "${authority.baseUrl}" }
cache: { dir: ${join(work, 'cache')}, maxSize: 1GiB, tags: { ttl: 0s } }
log: { level: info }
`,
    );
  });

  await t.test("skopeo pulls the authority's image by tag; the authority sees only a HEAD", { timeout: 120_000 }, async (t) => {
    const before = { mirror: mirror.requests.length, authority: authority.requests.length };
    t.same(await pull(t, gateway, REF), [newer.manifestDigest], "the authority's digest, not the mirror's tag");
    const atAuthority = authority.requests.slice(before.authority).map((r) => `${r.method} ${r.url}`);
    t.ok(atAuthority.length > 0, 'the authority was asked');
    t.same(
      atAuthority.filter((line) => line !== `HEAD /r/v2/${REPO}/manifests/latest`),
      [],
      'nothing but HEADs by tag at the authority: no manifest GET, no blob',
    );
    const atMirror = mirror.requests.slice(before.mirror);
    t.same(
      atMirror.filter((r) => r.url.endsWith('/manifests/latest')),
      [],
      'the mirror was never asked for the tag',
    );
    t.ok(
      atMirror.some((r) => r.method === 'GET' && r.url === `/r/v2/${REPO}/manifests/${newer.manifestDigest}`),
      'the manifest came from the mirror, by digest',
    );
    for (const layer of newer.layerDigests)
      t.ok(
        atMirror.some((r) => r.url.endsWith(`/blobs/${layer}`)),
        `layer ${layer.slice(7, 19)} from the mirror`,
      );
    t.ok((await gateway.metric('mirrorgate_tag_resolutions_total', { result: 'resolved' })) > 0, 'counted as resolved');
  });

  await t.test('a GET by tag through mirrorgate answers the manifest with its digest, type and length', { timeout: 30_000 }, async (t) => {
    const res = await httpGet(`${gateway.url}/v2/${REPO}/manifests/latest`, { headers: { accept: ACCEPT }, timeoutMs: 10_000 });
    t.equal(res.status, 200);
    t.equal(res.headers['docker-content-digest'], newer.manifestDigest);
    t.equal(res.headers['content-type'], MEDIA_TYPES.manifest);
    t.equal(res.headers['content-length'], String(newer.manifestSize));
    t.equal(res.body.length, newer.manifestSize);
  });

  await t.test("with the authority stopped, the mirror's tag is what can be had", { timeout: 60_000 }, async (t) => {
    await registries[1]!.stop();
    const res = await httpGet(`${gateway.url}/v2/${REPO}/manifests/latest`, { headers: { accept: ACCEPT }, timeoutMs: 20_000 });
    t.equal(res.status, 200);
    t.equal(res.headers['docker-content-digest'], older.manifestDigest, 'resolved at the mirror');
    t.ok((await gateway.metric('mirrorgate_tag_resolutions_total', { result: 'failed' })) > 0, 'counted as failed');
  });
}
