/**
 * Upstreams that lay out repositories differently from the client's view, end to end:
 * - ECR-Public-like: a real registry holding Docker Hub's images under `docker/library/…`,
 *   behind an upstream with `repositoryPrefix: docker`;
 * - Nexus-like: a real registry served under a base path (`/repository/hub/v2/…`) by a
 *   path-prefixing front, behind an upstream whose url carries that base path.
 * skopeo pulls `library/alpine-test:1` through mirrorgate from each, and from both at once.
 */
import { join } from 'node:path';
import t from 'tap';
import { prepareImages, pushFixtures, type TestImages } from './helpers/fixtures.js';
import { startGatewayProcess, type GatewayProcess } from './helpers/gateway-process.js';
import { httpGet } from './helpers/http.js';
import { startPathPrefixProxy, type PathPrefixProxy } from './helpers/path-prefix-proxy.js';
import { startRegistry, type RunningRegistry } from './helpers/registry.js';
import { pushImage } from './helpers/skopeo.js';
import { e2eSuite } from './helpers/suite.js';

const PREFIX = 'docker';
const BASE_PATH = '/repository/hub';

const suite = await e2eSuite(t, 'layouts');
if (suite !== undefined) {
  const { root, work, pull } = suite;
  let images!: TestImages;
  let prefixed!: RunningRegistry;
  let plain!: RunningRegistry;
  let nexus!: PathPrefixProxy;
  t.teardown(async () => {
    await nexus?.close();
    await Promise.all([prefixed?.stop(), plain?.stop()]);
  });

  const gatewayFor = (upstreams: string): Promise<GatewayProcess> =>
    startGatewayProcess(
      root,
      work,
      `upstreams:
${upstreams}
failover: { maxAttempts: 2, on404: true }
log: { level: info }
`,
    );

  const manifestAccept = { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json' };

  await t.test('a registry with docker/library/… and one behind a base path', { timeout: 180_000 }, async (t) => {
    images = await prepareImages(join(work, 'images'));
    [prefixed, plain] = await Promise.all([startRegistry(), startRegistry()]);
    const alpine = images.list.find((e) => e.key === 'alpine')!;
    const multi = images.list.find((e) => e.key === 'multi')!;
    await pushImage(alpine.dir, prefixed.url, `${PREFIX}/${images.alpine.ref}`, { timeoutMs: 90_000 });
    await pushImage(multi.dir, prefixed.url, `${PREFIX}/${images.multi.ref}`, { all: true, timeoutMs: 90_000 });
    await pushFixtures(images, plain.url, { only: ['alpine', 'multi'], timeoutMs: 90_000 });
    nexus = await startPathPrefixProxy({ basePath: BASE_PATH, target: plain.url });

    const path = `/v2/${images.alpine.name}/manifests/${images.alpine.tag}`;
    t.equal((await httpGet(`${prefixed.url}${path}`, { headers: manifestAccept })).status, 404, `${prefixed.host} has no ${images.alpine.name}`);
    t.equal(
      (await httpGet(`${prefixed.url}/v2/${PREFIX}/${images.alpine.name}/manifests/${images.alpine.tag}`, { headers: manifestAccept })).status,
      200,
      `${prefixed.host} has ${PREFIX}/${images.alpine.name}`,
    );
    t.equal((await httpGet(`${nexus.url}${path}`, { headers: manifestAccept })).status, 404, 'the Nexus-like front serves nothing outside its base path');
    t.equal((await httpGet(`${nexus.baseUrl}${path}`, { headers: manifestAccept })).status, 200, `it serves ${BASE_PATH}/v2/…`);
  });

  await t.test('repositoryPrefix: docker', { timeout: 120_000 }, async (t) => {
    const g = await gatewayFor(`  - { name: ecr, url: "${prefixed.url}", repositoryPrefix: ${PREFIX} }`);
    t.same(await pull(t, g, images.alpine.ref), [images.alpine.manifestDigest], `${images.alpine.ref} from ${PREFIX}/${images.alpine.ref}`);
    t.same(await pull(t, g, images.multi.ref, true), [images.multi.indexDigest], `${images.multi.ref} (index, --all)`);
    const byDigest = await httpGet(`${g.url}/v2/${images.alpine.name}/manifests/${images.alpine.manifestDigest}`, {
      headers: manifestAccept,
      timeoutMs: 10_000,
    });
    t.equal(byDigest.status, 200, 'manifest by digest');
    t.equal(byDigest.headers['docker-content-digest'], images.alpine.manifestDigest);
    t.equal(await g.metric('mirrorgate_failovers_total'), 0, 'no failovers');
  });

  await t.test('a base-path upstream behind a path-prefixing front', { timeout: 120_000 }, async (t) => {
    const g = await gatewayFor(`  - { name: nexus, url: "${nexus.baseUrl}" }`);
    const mark = nexus.requests.length;
    t.same(await pull(t, g, images.alpine.ref), [images.alpine.manifestDigest], `${images.alpine.ref} via ${BASE_PATH}`);
    t.same(await pull(t, g, images.multi.ref, true), [images.multi.indexDigest], `${images.multi.ref} (index, --all)`);
    const seen = nexus.requests.slice(mark);
    t.ok(seen.length >= 8, `the front got ${seen.length} requests`);
    t.same(
      seen.filter((r) => !r.url.startsWith(`${BASE_PATH}/v2/`)),
      [],
      'all under the base path',
    );
    t.same(
      seen.filter((r) => r.status !== 200),
      [],
      'all answered 200',
    );
  });

  await t.test('both layouts behind one gateway, equal weights', { timeout: 120_000 }, async (t) => {
    const g = await gatewayFor(
      [`  - { name: ecr, url: "${prefixed.url}", repositoryPrefix: ${PREFIX}, weight: 1 }`, `  - { name: nexus, url: "${nexus.baseUrl}", weight: 1 }`].join(
        '\n',
      ),
    );
    for (let i = 0; i < 4; i++) {
      t.same(await pull(t, g, images.alpine.ref), [images.alpine.manifestDigest], `pull ${i + 1}`);
    }
    const served = await Promise.all(['ecr', 'nexus'].map((u) => g.metric('mirrorgate_requests_total', { upstream: u, code: '200' })));
    t.ok(
      served.every((n) => n >= 4),
      `both upstreams served (${served.join(' / ')} requests)`,
    );
    t.equal(await g.metric('mirrorgate_failovers_total'), 0, 'no failovers: the names were mapped right on both');
  });
}
