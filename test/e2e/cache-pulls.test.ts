/**
 * The cache end to end: two real registries, each behind a recording front, mirrorgate with
 * `cache:` in front of both, and skopeo. Concurrent first pulls of an image fetch each blob
 * once across both registries; a second pull fetches no blob at all; with both registries
 * stopped, the image still pulls by tag (the tag's last manifest, STALE; blobs from disk).
 * With `workers: 2`, concurrent first pulls still fetch each blob once for the cluster; with a
 * low `cache.parallel.minSize`, the big layer comes in pieces from both registries.
 */
import { join } from 'node:path';
import t from 'tap';
import { prepareImages, pushFixtures, type TestImages } from './helpers/fixtures.js';
import { startGatewayProcess, type GatewayProcess } from './helpers/gateway-process.js';
import { startPathPrefixProxy, type PathPrefixProxy, type ProxiedRequest } from './helpers/path-prefix-proxy.js';
import { startRegistry, type RunningRegistry } from './helpers/registry.js';
import { e2eSuite } from './helpers/suite.js';

const BASE_PATH = '/r';

const suite = await e2eSuite(t, 'cache');
if (suite !== undefined) {
  const { root, work, pull } = suite;
  let images!: TestImages;
  let registries: RunningRegistry[] = [];
  let fronts: PathPrefixProxy[] = [];
  let gateway!: GatewayProcess;
  t.teardown(async () => {
    await Promise.all(fronts.map((front) => front.close()));
    await Promise.all(registries.map((registry) => registry.stop()));
  });

  /** Blob GETs the registries answered since `marks` (one mark per front). */
  const blobGets = (marks: number[]): ProxiedRequest[] =>
    fronts.flatMap((front, i) => front.requests.slice(marks[i]).filter((r) => r.method === 'GET' && r.url.includes('/blobs/')));
  const mark = (): number[] => fronts.map((front) => front.requests.length);

  await t.test('two registries behind recording fronts, mirrorgate with a cache', { timeout: 180_000 }, async () => {
    images = await prepareImages(join(work, 'images'));
    registries = await Promise.all([startRegistry(), startRegistry()]);
    await Promise.all(registries.map((registry) => pushFixtures(images, registry.url, { only: ['alpine', 'multi'], timeoutMs: 90_000 })));
    fronts = await Promise.all(registries.map((registry) => startPathPrefixProxy({ basePath: BASE_PATH, target: registry.url })));
    gateway = await startGatewayProcess(
      root,
      work,
      `upstreams:
  - { name: a, url: "${fronts[0]!.baseUrl}", weight: 1 }
  - { name: b, url: "${fronts[1]!.baseUrl}", weight: 1 }
cache: { dir: ${join(work, 'cache')}, maxSize: 1GiB, tags: { ttl: 0s } }
failover: { maxAttempts: 2 }
log: { level: info }
`,
    );
  });

  await t.test('four concurrent first pulls fetch each blob once', { timeout: 120_000 }, async (t) => {
    const before = mark();
    const pulls = await Promise.all(Array.from({ length: 4 }, () => pull(t, gateway, images.alpine.ref)));
    for (const digests of pulls) t.same(digests, [images.alpine.manifestDigest]);
    const gets = blobGets(before).map((r) => r.url.slice(r.url.indexOf('/blobs/')));
    t.ok(gets.length > 0, `${gets.length} blob GETs reached the registries`);
    t.same(gets.length, new Set(gets).size, 'no blob was fetched twice');
    if (t.passing() === false) t.comment(gateway.cli.stdout.filter((l) => l.includes('/blobs/')).join('\n'));
  });

  await t.test('a second pull fetches no blob', { timeout: 120_000 }, async (t) => {
    const before = mark();
    t.same(await pull(t, gateway, images.alpine.ref), [images.alpine.manifestDigest]);
    t.same(blobGets(before), [], 'every blob came from the cache');
    t.ok((await gateway.metric('mirrorgate_requests_total', { upstream: 'cache', kind: 'blob' })) > 0, 'answered by the cache');
  });

  await t.test('with workers: 2 on a fresh cache, four concurrent first pulls still fetch each blob once', { timeout: 120_000 }, async (t) => {
    const clustered = await startGatewayProcess(
      root,
      work,
      `workers: 2
upstreams:
  - { name: a, url: "${fronts[0]!.baseUrl}", weight: 1 }
  - { name: b, url: "${fronts[1]!.baseUrl}", weight: 1 }
cache: { dir: ${join(work, 'cache-workers')}, maxSize: 1GiB }
log: { level: info }
`,
    );
    await clustered.cli.waitForLog((line) => line['event'] === 'cluster', { timeoutMs: 15_000, what: 'all workers listening' });
    const before = mark();
    const pulls = await Promise.all(Array.from({ length: 4 }, () => pull(t, clustered, images.alpine.ref)));
    for (const digests of pulls) t.same(digests, [images.alpine.manifestDigest]);
    const gets = blobGets(before).map((r) => r.url.slice(r.url.indexOf('/blobs/')));
    t.ok(gets.length > 0, `${gets.length} blob GETs reached the registries`);
    t.same(gets.length, new Set(gets).size, 'no blob was fetched twice across the two workers');
    const pids = new Set(clustered.cli.logs.filter((line) => line['msg'] === 'request').map((line) => line['pid']));
    t.equal(pids.size, 2, 'both workers served');
    clustered.cli.signal('SIGTERM');
    await clustered.cli.waitForExit(15_000);
  });

  await t.test('a cold pull of a 20 MiB layer fetches it in pieces from both registries (parallel fill)', { timeout: 120_000 }, async (t) => {
    const parallel = await startGatewayProcess(
      root,
      work,
      `upstreams:
  - { name: a, url: "${fronts[0]!.baseUrl}", weight: 1 }
  - { name: b, url: "${fronts[1]!.baseUrl}", weight: 1 }
cache: { dir: ${join(work, 'cache-parallel')}, maxSize: 1GiB, parallel: { minSize: 4MiB, pieceSize: 2MiB } }
log: { level: info }
`,
    );
    const before = mark();
    t.same(await pull(t, parallel, images.alpine.ref), [images.alpine.manifestDigest], 'pulled, every digest checked by skopeo');
    const ranged = fronts.map((front, i) => front.requests.slice(before[i]).filter((r) => r.method === 'GET' && r.url.includes('/blobs/') && r.status === 206));
    t.ok(
      ranged.every((requests) => requests.length > 0),
      `both registries answered Range GETs (206): ${ranged.map((r) => r.length).join(' / ')}`,
    );
    const fill = parallel.cli.logs.find((line) => line['event'] === 'fill');
    t.ok(fill !== undefined && Number(fill['pieces']) > 2, `one fill in pieces: ${JSON.stringify(fill?.['bytesByMirror'])}`);
    parallel.cli.signal('SIGTERM');
    await parallel.cli.waitForExit(15_000);
  });

  await t.test('with every registry stopped, the cached image still pulls by tag', { timeout: 120_000 }, async (t) => {
    await Promise.all(registries.map((registry) => registry.stop()));
    t.same(await pull(t, gateway, images.alpine.ref), [images.alpine.manifestDigest], 'pulled with both registries down');
    t.ok((await gateway.metric('mirrorgate_failovers_total')) > 0, 'the registries were tried and failed');
  });
}
