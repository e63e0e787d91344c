/**
 * containerd pulling through mirrorgate with the certs.d/<registry>/hosts.toml files
 * `mirrorgate client-config` wrote (`ctr images pull --hosts-dir`), one containerd for the
 * whole file. containerd adds `?ns=<registry>` to each request, which is how one gateway
 * address serves both docker.io and ghcr.io here.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { writeClientFiles, type ClientFilesDir } from './helpers/client-config.js';
import { describeCommand, runCommand } from './helpers/command.js';
import { CONTAINERD_BINARIES, startContainerd, type Containerd } from './helpers/containerd.js';
import { prepareImages, pushFixtures, type TestImages } from './helpers/fixtures.js';
import { startGatewayProcess, type GatewayProcess } from './helpers/gateway-process.js';
import { startRegistry, type RunningRegistry } from './helpers/registry.js';
import { pushImage } from './helpers/skopeo.js';
import { e2eSuite } from './helpers/suite.js';
import { requireClientTools } from './helpers/tools.js';

const GHCR_IMAGE = 'mirrorgate/tool:1';

if (requireClientTools(t, CONTAINERD_BINARIES, 'apt-get install containerd', { root: true })) {
  const suite = (await e2eSuite(t, 'containerd'))!;
  const { root, work } = suite;
  let images!: TestImages;
  let hub!: RunningRegistry;
  let ghcr!: RunningRegistry;
  let g!: GatewayProcess;
  let c!: Containerd;
  let files!: ClientFilesDir;
  t.teardown(async () => {
    await c?.daemon.stop();
    await Promise.all([hub?.stop(), ghcr?.stop()]);
  });

  const pull = async (t: Test, ref: string, platform?: string): Promise<boolean> => {
    const args = ['images', 'pull', '--hosts-dir', files.certsDir, '--snapshotter', 'native', ...(platform === undefined ? [] : ['--platform', platform]), ref];
    const r = await c.ctr(args);
    if (r.code === 0) return true;
    t.fail(`ctr images pull ${ref} failed: ${describeCommand(r)}`);
    return false;
  };
  /** The digest the image record points at (`ctr images ls`: REF TYPE DIGEST …). */
  const imageDigest = async (ref: string): Promise<string | undefined> => {
    const ls = await c.ctr(['images', 'ls', `name==${ref}`]);
    return ls.stdout
      .split('\n')
      .find((line) => line.startsWith(`${ref} `))
      ?.split(/\s+/)[2];
  };
  const content = async (): Promise<string> => (await c.ctr(['content', 'ls', '-q'])).stdout;
  const requestsFor = (registry: string): Promise<number> => g.metric('mirrorgate_requests_total', { registry });

  await t.test('containerd set up, with the generated hosts.toml files', { timeout: 180_000 }, async (t) => {
    images = await prepareImages(join(work, 'images'));
    [hub, ghcr] = await Promise.all([startRegistry(), startRegistry()]);
    await pushFixtures(images, hub.url, { only: ['alpine', 'multi'], timeoutMs: 90_000 });
    await pushImage(images.list.find((e) => e.key === 'onlyOne')!.dir, ghcr.url, GHCR_IMAGE, { timeoutMs: 90_000 });
    g = await startGatewayProcess(
      root,
      work,
      `upstreams:
  - { name: hub-mirror, url: "${hub.url}", timeouts: { connect: 2s, headers: 10s, idle: 20s } }
registries:
  ghcr.io:
    upstreams:
      - { name: ghcr-mirror, url: "${ghcr.url}", timeouts: { connect: 2s, headers: 10s, idle: 20s } }
log: { level: info }
`,
    );
    [files, c] = await Promise.all([writeClientFiles(root, g.configFile, join(work, 'client')), startContainerd(join(work, 'containerd'))]);
    t.pass(`containerd pid ${c.daemon.pid}, hosts dir ${files.certsDir}`);
  });

  await t.test('ctr pull of a docker.io image through its hosts.toml', async (t) => {
    const before = await requestsFor('docker.io');
    if (!(await pull(t, `docker.io/${images.alpine.ref}`))) return;
    t.equal(await imageDigest(`docker.io/${images.alpine.ref}`), images.alpine.manifestDigest);
    const have = await content();
    for (const layer of images.alpine.layerDigests) t.match(have, layer, `layer ${layer} is in containerd's content store`);
    t.ok((await requestsFor('docker.io')) - before >= 2 + images.alpine.layers.length, 'the manifest, config and layers came through the gateway');
  });

  await t.test('ctr pull --platform linux/arm64 of a multi-arch index takes the arm64 image only', async (t) => {
    if (!(await pull(t, `docker.io/${images.multi.ref}`, 'linux/arm64'))) return;
    t.equal(await imageDigest(`docker.io/${images.multi.ref}`), images.multi.indexDigest, 'the image is the index');
    const [amd64, arm64] = [
      images.multi.images.find((i) => i.platform.architecture === 'amd64')!,
      images.multi.images.find((i) => i.platform.architecture === 'arm64')!,
    ];
    const have = await content();
    t.match(have, arm64.manifestDigest, 'the arm64 manifest was fetched');
    t.match(have, arm64.layerDigests[0]!, 'and its layer');
    t.notMatch(have, amd64.layerDigests[0]!, "the amd64 image's layer was not");
  });

  await t.test('ctr pull of a ghcr.io image: ?ns=ghcr.io reaches the ghcr registry through the same gateway address', async (t) => {
    const [ghcrBefore, hubBefore] = [await requestsFor('ghcr.io'), await requestsFor('docker.io')];
    if (!(await pull(t, `ghcr.io/${GHCR_IMAGE}`))) return;
    t.equal(await imageDigest(`ghcr.io/${GHCR_IMAGE}`), images.onlyOne.manifestDigest);
    t.ok((await requestsFor('ghcr.io')) - ghcrBefore >= 3, 'counted under registry="ghcr.io"');
    t.equal(await requestsFor('docker.io'), hubBefore, 'the docker.io registry was not asked');
  });

  await t.test("the Kubernetes node fragment: containerd's merged config takes config_path from it", async (t) => {
    const config = join(work, 'node-config.toml');
    await writeFile(config, `version = 2\nimports = [${JSON.stringify(join(files.root, 'etc/containerd/conf.d/mirrorgate.toml'))}]\n`);
    const dump = await runCommand('containerd', ['--config', config, 'config', 'dump'], { timeoutMs: 30_000 });
    t.equal(dump.code, 0, describeCommand(dump));
    const registry = /^\s*\[plugins\."io\.containerd\.grpc\.v1\.cri"\.registry\]\n\s*config_path = "([^"]*)"/m.exec(dump.stdout);
    t.equal(registry?.[1], '/etc/containerd/certs.d', 'the CRI plugin reads hosts.toml files from /etc/containerd/certs.d');
  });
}
