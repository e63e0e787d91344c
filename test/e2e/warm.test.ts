/**
 * Warming the cache end to end, with a real registry behind a recording front and the built
 * CLI: `mirrorgate warm` on its own fills the cache directory (one line per layer when stdout
 * is not a terminal; `cache ls` shows the blobs; a later pull through a gateway makes no blob
 * GET upstream and gets `X-Cache: HIT`), refuses a directory a gateway holds, `warm --gateway`
 * makes a running gateway fill its cache (a failing image does not stop the others), and the
 * gateway's own `prefetch:` warms its list on schedule and after a reload changed it.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { eventually, httpGet, runCli } from '../helpers/cli-process.js';
import { prepareImages, pushFixtures, type TestImages } from './helpers/fixtures.js';
import { startGatewayProcess, type GatewayProcess } from './helpers/gateway-process.js';
import { startPathPrefixProxy, type PathPrefixProxy, type ProxiedRequest } from './helpers/path-prefix-proxy.js';
import { startRegistry, type RunningRegistry } from './helpers/registry.js';
import { e2eSuite } from './helpers/suite.js';

const suite = await e2eSuite(t, 'warm');
if (suite !== undefined) {
  const { root, work, pull } = suite;
  let images!: TestImages;
  let registry: RunningRegistry | undefined;
  let front!: PathPrefixProxy;
  t.teardown(async () => {
    await front?.close();
    await registry?.stop();
  });

  const blobGets = (since: number): ProxiedRequest[] => front.requests.slice(since).filter((r) => r.method === 'GET' && r.url.includes('/blobs/'));
  /** Everything but `listen:` (startGatewayProcess adds it), on cache directory `dir`. */
  const configYaml = (dir: string, extra = ''): string =>
    `upstreams:\n  - { name: a, url: "${front.baseUrl}" }\ncache: { dir: ${join(work, dir)}, maxSize: 1GiB }\nlog: { level: info }\n${extra}`;
  const standaloneConfig = join(work, 'standalone.yaml');
  const cachedDigests = async (file: string): Promise<string[]> => (await runCli(t, ['cache', 'ls', '-c', file])).stdout.map((line) => line.split(/\s+/)[0]!);

  await t.test('a registry with the fixtures, behind a recording front', { timeout: 180_000 }, async () => {
    images = await prepareImages(join(work, 'images'));
    registry = await startRegistry();
    await pushFixtures(images, registry.url, { timeoutMs: 90_000 });
    front = await startPathPrefixProxy({ basePath: '/r', target: registry.url });
    await writeFile(standaloneConfig, configYaml('cache-1'));
  });

  await t.test('warm on its own fills the cache directory, one line per layer', { timeout: 120_000 }, async (t) => {
    const warm = await runCli(t, ['warm', images.alpine.ref, images.multi.ref, '--platform', 'linux/arm64', '-c', standaloneConfig], { timeoutMs: 90_000 });
    t.equal(warm.code, 0, `exit 0; stderr: ${warm.stderr.join('\n')}`);
    const alpineLayers = warm.stdout.filter((line) => /^docker\.io\/library\/alpine-test:1 layer sha256:[0-9a-f]{12} [\d.]+ MiB fetched in /.test(line));
    t.equal(alpineLayers.length, 3, `one line per layer of alpine-test:\n${warm.stdout.join('\n')}`);
    t.ok(
      warm.stdout.some((line) => line.startsWith('docker.io/library/alpine-test:1: warm (3 layers, 20.')),
      'and one for the image',
    );
    const arm64 = images.multi.images.find((image) => image.platform.architecture === 'arm64')!;
    const amd64 = images.multi.images.find((image) => image.platform.architecture === 'amd64')!;
    const stored = await cachedDigests(standaloneConfig);
    for (const digest of [images.alpine.configDigest, ...images.alpine.layerDigests, arm64.configDigest, ...arm64.layerDigests]) {
      t.ok(stored.includes(digest), `cache ls lists ${digest.slice(0, 19)}`);
    }
    t.notOk(stored.includes(amd64.layerDigests[0]!), 'not the amd64 layer: only the platform asked for');

    const again = await runCli(t, ['warm', images.alpine.ref, '-c', standaloneConfig], { timeoutMs: 60_000 });
    t.equal(again.code, 0);
    t.equal(
      again.stdout.filter((line) => / (layer|config) sha256:\S+ [\d.]+ MiB already cached$/.test(line)).length,
      4,
      `a second run finds all four blobs stored:\n${again.stdout.join('\n')}`,
    );
  });

  let gateway!: GatewayProcess;
  await t.test('a gateway on that directory: the pull makes no blob GET upstream, a blob is a HIT', { timeout: 120_000 }, async (t) => {
    gateway = await startGatewayProcess(root, work, configYaml('cache-1'));
    const before = front.requests.length;
    t.same(await pull(t, gateway, images.alpine.ref), [images.alpine.manifestDigest]);
    t.same(blobGets(before), [], 'every blob came from the warmed cache');
    const layer = await httpGet(`${gateway.url}/v2/${images.alpine.name}/blobs/${images.alpine.layerDigests[0]!}`);
    t.equal(layer.status, 200);
    t.equal(layer.headers['x-cache'], 'HIT');
  });

  await t.test('warm on its own beside that gateway refuses, pointing at --gateway', { timeout: 60_000 }, async (t) => {
    const warm = await runCli(t, ['warm', images.alpine.ref, '-c', standaloneConfig], { timeoutMs: 30_000 });
    t.equal(warm.code, 1);
    t.match(warm.stderr.join('\n'), /cache-1 is in use by process \d+ \(a running gateway\? warm through it with --gateway/);
  });

  await t.test('warm --gateway: the gateway fills its cache; a failing image does not stop the next', { timeout: 120_000 }, async (t) => {
    const before = front.requests.length;
    const warm = await runCli(t, ['warm', 'library/not-there:1', images.onlyOne.ref, '--gateway', gateway.url, '-c', standaloneConfig], { timeoutMs: 60_000 });
    t.equal(warm.code, 1, 'exit 1: an image failed');
    t.match(warm.stderr.join('\n'), /1 of 2 images failed: docker\.io\/library\/not-there:1/);
    t.match(warm.stdout.join('\n'), /docker\.io\/library\/not-there:1: FAILED: manifest 1: status 404/);
    t.ok(
      warm.stdout.some((line) => /^docker\.io\/library\/only-one:1 layer sha256:\S+ [\d.]+ MiB fetched in /.test(line)),
      warm.stdout.join('\n'),
    );
    t.ok(
      blobGets(before).some((r) => r.url.includes(images.onlyOne.layerDigests[0]!)),
      'the gateway fetched the layer upstream',
    );
    t.ok((await cachedDigests(standaloneConfig)).includes(images.onlyOne.layerDigests[0]!), 'and stored it');
    t.ok((await gateway.metric('mirrorgate_cache_fills_total', { result: 'committed' })) >= 2, 'through fills');
  });

  await t.test("the gateway's prefetch: warms its list, and a reload's new list", { timeout: 120_000 }, async (t) => {
    const prefetching = await startGatewayProcess(root, work, configYaml('cache-2', `prefetch: { images: [${images.alpine.ref}], delay: 0s, every: 1h }\n`));
    const runs = (): Promise<number> => prefetching.metric('mirrorgate_prefetch_runs_total', { result: 'success' });
    await eventually(async () => (await runs()) >= 1, 'the first prefetch run succeeded', 60_000, 200);
    const line = prefetching.cli.logs.find((log) => log['event'] === 'prefetch' && log['image'] === 'docker.io/library/alpine-test:1');
    t.match(line, { layers: 3, errors: [], cachedBytes: 0 }, 'one log line for the image');
    t.ok(((line?.['fetchedBytes'] as number) ?? 0) > 20 * 1024 * 1024, 'it fetched the layers');
    t.ok((await prefetching.metric('mirrorgate_prefetch_last_success_timestamp_seconds')) > 0);
    const cacheTwo = join(work, 'cache-2.yaml');
    await writeFile(cacheTwo, configYaml('cache-2'));
    const stored = await cachedDigests(cacheTwo);
    for (const digest of images.alpine.layerDigests) t.ok(stored.includes(digest), `the prefetch stored ${digest.slice(0, 19)}`);

    await writeFile(prefetching.configFile, (await readFile(prefetching.configFile, 'utf8')).replace(images.alpine.ref, images.multi.ref));
    prefetching.cli.signal('SIGHUP');
    await eventually(async () => (await runs()) >= 2, 'a run of the reloaded list succeeded', 60_000, 200);
    const host = images.multi.images.find((image) => image.platform.architecture === (process.arch === 'arm64' ? 'arm64' : 'amd64'))!;
    t.ok((await cachedDigests(cacheTwo)).includes(host.layerDigests[0]!), "the reloaded list's image, for the host's platform");
  });
}
